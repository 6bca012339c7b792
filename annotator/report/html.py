"""The timeline report as one self-contained HTML file.

One file, because it is mailed, attached to complaints and archived: the stylesheet is
inline, the waveform is inline SVG, nothing is fetched from the network and no script is
needed (or present) to read it. It is readable on a phone (the viewport follows the
device; on narrow screens each row stacks) and prints (a print stylesheet drops colours
behind text and keeps rows whole).

Every piece of text from the transcript, the codebook, acquisition facts or file metadata
is untrusted and goes through :func:`html.escape` (quotes too: some of it lands in
attributes). A transcript line ``<script>`` is shown as text.
"""

from __future__ import annotations

import json
from html import escape
from urllib.parse import quote

from annotator.report.timeline import Timeline, clock

_CSS = """
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       margin: 1.5rem auto; max-width: 72rem; padding: 0 1rem; color: #1a1a1a;
       background: #ffffff; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; }
h2 { font-size: 1.15rem; margin: 1.6rem 0 .5rem; border-bottom: 1px solid #ccc; }
.meta, .warning { color: #444; margin: .2rem 0; }
.warning { color: #8a1c1c; font-weight: 600; }
.strip { width: 100%; height: 5rem; display: block; margin: .6rem 0 1rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem;
         border-bottom: 1px solid #ddd; }
th { background: #eceff1; }
td.time a { font-variant-numeric: tabular-nums; white-space: nowrap; }
.machine { color: #555; font-size: .9em; }
.machine::before { content: "machine draft: "; font-style: italic; }
.corrected { border-left: 3px solid #e65100; padding-left: .4rem; }
tr.sound td { font-style: italic; background: #f3f0ff; }
.state-disputed { color: #c62828; font-weight: 600; }
.state-unreviewed { color: #666; }
.note { color: #555; font-size: .9em; font-style: italic; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dt { font-weight: 600; } dd { margin: 0; overflow-wrap: anywhere; }
code { font-size: .85em; overflow-wrap: anywhere; }
@media (max-width: 40rem) {
  table.timeline thead { display: none; }
  table.timeline tr { display: block; border-bottom: 2px solid #bbb; padding: .3rem 0; }
  table.timeline td { display: block; border: none; padding: .1rem 0; }
}
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  th { background: none; border-bottom: 2px solid #000; }
  tr { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _counts(title: str, table: dict[str, dict[str, int]], who: str) -> list[str]:
    out = [f"<h3>{_e(title)}</h3>"]
    if not table:
        return [*out, "<p>none tagged</p>"]
    out.append(f'<table class="summary"><thead><tr><th>{_e(who)}</th><th>action</th>'
               "<th>count</th></tr></thead><tbody>")
    for name, actions in table.items():
        for action, n in actions.items():
            out.append(f"<tr><td>{_e(name)}</td><td>{_e(action)}</td><td>{n}</td></tr>")
    out.append("</tbody></table>")
    return out


def _definitions(items: dict[str, object]) -> str:
    body = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items.items())
    return f"<dl>{body}</dl>"


def render(timeline: Timeline, strip_svg: str = "") -> str:
    """The whole HTML document."""
    t = timeline
    prov = t.provenance
    run = prov.get("run") or {}
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # No network, no scripts: a reader's browser fetches and runs nothing from this file.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">",
        f"<title>{_e(t.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(t.title)}</h1>",
        f'<p class="meta">media <code>{_e(prov["media"]["sha256"])}</code>, '
        f"{_e(clock(t.duration_ms))}; exported {_e(prov.get('exported_at', ''))} by annotator "
        f"{_e(prov.get('tool_version', ''))}</p>",
    ]
    if t.names_redacted:
        parts.append('<p class="meta">Names redacted: speakers appear by role and agency; '
                     "notes are left out.</p>")
    parts += [f'<p class="warning">Warning: {_e(w)}</p>' for w in t.warnings]
    parts.append(strip_svg)
    parts += [
        "<h2>Timeline</h2>",
        '<table class="timeline"><thead><tr><th>time</th><th>speaker</th><th>agency</th>'
        "<th>actions</th><th>quote</th><th>review</th></tr></thead><tbody>",
    ]
    for r in t.rows:
        quote_cls = ' class="corrected"' if r.machine_text is not None else ""
        machine = (f'<div class="machine">{_e(r.machine_text)}</div>'
                   if r.machine_text is not None else "")
        note = f'<div class="note">{_e(r.note)}</div>' if r.note else ""
        tags = ", ".join([*r.actions, *r.other_tags])
        href = quote(r.fragment, safe="#=,.")
        row_cls = ' class="sound"' if r.sound else ""
        parts.append(
            f'<tr{row_cls}><td class="time"><a href="{_e(href)}">{_e(clock(r.start_ms))} to '
            f"{_e(clock(r.end_ms))}</a></td><td>{_e(r.speaker)}</td><td>{_e(r.agency)}</td>"
            f"<td>{_e(tags)}</td><td{quote_cls}>{_e(r.text)}{machine}{note}</td>"
            f'<td class="state-{_e(r.state)}">{_e(r.state)}</td></tr>'
        )
    parts.append("</tbody></table>")
    parts += ["<h2>Summary</h2>",
              _definitions({
                  "unreviewed": f"{t.share(t.unreviewed_ms):.0%} of the recording "
                                f"({clock(t.unreviewed_ms)})",
                  "disputed": f"{t.share(t.disputed_ms):.0%} of the recording "
                              f"({clock(t.disputed_ms)})",
                  "lines": len(t.rows),
              })]
    parts.append("<h3>Actions</h3>")
    parts.append(_definitions(dict(t.action_counts.items())) if t.action_counts
                 else "<p>none tagged</p>")
    parts += _counts("Actions per agency", t.actions_by_agency, "agency")
    parts += _counts("Actions per speaker", t.actions_by_speaker, "speaker")
    parts.append("<h2>Provenance</h2>")
    parts.append(_definitions({
        "media file": prov["media"]["path"], "media SHA-256": prov["media"]["sha256"],
        "media size": f"{prov['media']['size']} bytes",
        "model": run.get("model_id", "none"), "model SHA-256": run.get("model_sha256", ""),
        "engine": json.dumps(run.get("engine_versions", {}), ensure_ascii=False),
        "language": run.get("language", ""),
        "codebook": json.dumps(prov.get("codebook"), ensure_ascii=False),
        "audit chain head": "" if t.chain_head is None else
        f"entry {t.chain_head['audit_id']} {t.chain_head['sha256']}",
    }))
    stated = t.acquisition.get("stated", {})
    container = t.acquisition.get("container", {})
    if stated or container:
        parts.append("<h3>Acquisition</h3>")
        parts.append(_definitions({f"{k} (stated by {v['set_by']})": v["value"]
                                   for k, v in stated.items()}))
        parts.append(_definitions({f"{k} (the file's metadata)": v
                                   for k, v in container.items()}))
    if t.manifests:
        parts.append("<h3>Export manifests</h3>")
        parts.append(_definitions({name: sha for name, sha in t.manifests}))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
