"""The timeline report as Markdown (for a newsroom's CMS, a wiki or a pull request).

Untrusted text is made inert for Markdown *and* for the HTML most Markdown renderers pass
through: ``&``, ``<`` and ``>`` become entities, Markdown's own punctuation is
backslash-escaped, ``|`` cannot end a table cell, and line breaks become spaces so a
transcript line cannot start a heading or a list of its own.
"""

from __future__ import annotations

import re

from annotator.report.timeline import Timeline, clock

_MARKDOWN = re.compile(r"([\\`*_\[\]|~])")


def md(text: object) -> str:
    """``text`` as literal Markdown inline text."""
    flat = " ".join(str(text).split())
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", flat)


def render(timeline: Timeline) -> str:
    t = timeline
    prov = t.provenance
    run = prov.get("run") or {}
    lines = [
        f"# {md(t.title)}", "",
        f"Media SHA-256 `{prov['media']['sha256']}`, {clock(t.duration_ms)}; exported "
        f"{md(prov.get('exported_at', ''))} by annotator {md(prov.get('tool_version', ''))}.",
        "",
    ]
    if t.names_redacted:
        lines += ["Names redacted: speakers appear by role and agency; notes are left out.", ""]
    lines += [f"**Warning:** {md(w)}" for w in t.warnings]
    lines += ["", "## Timeline", "",
              "| time | speaker | agency | actions | quote | review |",
              "|---|---|---|---|---|---|"]
    for r in t.rows:
        quote = md(r.text)
        if r.machine_text is not None:
            quote += f" *\\(corrected; machine draft: {md(r.machine_text)}\\)*"
        if r.note:
            quote += f" *\\(note: {md(r.note)}\\)*"
        link = r.fragment.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
        lines.append(
            f"| [{clock(r.start_ms)} to {clock(r.end_ms)}](<{md_url(link)}>) | {md(r.speaker)} | "
            f"{md(r.agency)} | {md(', '.join([*r.actions, *r.other_tags]))} | {quote} | "
            f"{md(r.state)} |"
        )
    lines += [
        "", "## Summary", "",
        f"- unreviewed: {t.share(t.unreviewed_ms):.0%} of the recording "
        f"({clock(t.unreviewed_ms)})",
        f"- disputed: {t.share(t.disputed_ms):.0%} of the recording ({clock(t.disputed_ms)})",
        f"- lines: {len(t.rows)}", "", "### Actions", "",
    ]
    lines += [f"- {md(a)}: {n}" for a, n in t.action_counts.items()] or ["none tagged"]
    for title, table in (("Actions per agency", t.actions_by_agency),
                         ("Actions per speaker", t.actions_by_speaker)):
        lines += ["", f"### {title}", ""]
        lines += [f"- {md(who)}: " + ", ".join(f"{md(a)} {n}" for a, n in acts.items())
                  for who, acts in table.items()] or ["none tagged"]
    head = t.chain_head
    lines += [
        "", "## Provenance", "",
        f"- media file: {md(prov['media']['path'])}",
        f"- media SHA-256: `{prov['media']['sha256']}`",
        f"- model: {md(run.get('model_id', 'none'))}, SHA-256 `{run.get('model_sha256', '')}`",
        "- audit chain head: "
        + ("none" if head is None else f"entry {head['audit_id']} `{head['sha256']}`"),
    ]
    for key, fact in t.acquisition.get("stated", {}).items():
        lines.append(f"- {md(key)} \\(stated by {md(fact['set_by'])}\\): {md(fact['value'])}")
    for key, value in t.acquisition.get("container", {}).items():
        lines.append(f"- {md(key)} \\(the file's metadata\\): {md(value)}")
    for name, sha in t.manifests:
        lines.append(f"- manifest {md(name)}: `{sha}`")
    return "\n".join(lines) + "\n"


def md_url(url: str) -> str:
    """A link target inside ``<...>``: nothing that could close it."""
    return url.replace("<", "%3C").replace(">", "%3E").replace("\n", "")
