"""Every key of the review app, in one place, grouped the way the help screen shows them.

Each binding has an ``id`` (``section.name``) so a user can remap it with Textual's keymap
(``App.set_keymap({"edit.text": "f2"})``). The segment table's own keys (cursor movement, range
marking) live on :class:`~annotator.tui.widgets.segment_table.SegmentTable`; the help screen
lists those too. To add a key: add a :class:`Binding` here and an ``action_*`` method on
:class:`~annotator.tui.screens.review.ReviewScreen` (or ``app.`` in the action for the app's).
"""

from __future__ import annotations

from textual.binding import Binding

#: (section title, bindings), in help-screen order.
SECTIONS: list[tuple[str, list[Binding]]] = [
    ("Find", [
        Binding("u", "next_unreviewed", "Next unreviewed", show=False, id="find.unreviewed"),
        Binding("U", "next_unreviewed(True)", "Previous unreviewed", show=False,
                id="find.unreviewed_prev"),
        Binding("c", "next_low", "Next low-confidence", show=False, id="find.low"),
        Binding("C", "next_low(True)", "Previous low-confidence", show=False, id="find.low_prev"),
        Binding("number_sign", "next_tag", "Next with a tag…", show=False, id="find.tag"),
        Binding("slash", "search", "Search", id="find.search"),
        Binding("n", "find_again(1)", "Next match", show=False, id="find.next"),
        Binding("N", "find_again(-1)", "Previous match", show=False, id="find.prev"),
        Binding("f", "filter", "Filter view…", show=False, id="find.filter"),
        Binding("full_stop", "next_suggestion", "Next open suggestion (lines and events)",
                show=False, id="find.suggestion"),
        Binding("comma", "next_suggestion(True)", "Previous open suggestion", show=False,
                id="find.suggestion_prev"),
    ]),
    ("Review", [
        Binding("r", "set_state('reviewed')", "Reviewed", id="review.reviewed"),
        Binding("v", "set_state('verified')", "Verified (and next)", show=False,
                id="review.verified"),
        Binding("d", "set_state('disputed')", "Disputed", show=False, id="review.disputed"),
        Binding("x", "set_state('unreviewed')", "Back to unreviewed", show=False,
                id="review.unreviewed"),
        Binding("s", "pick('speaker')", "Speaker…", id="review.speaker"),
        Binding("a", "pick('agency')", "Agency…", id="review.agency"),
        Binding("t", "pick('action')", "Action…", id="review.action"),
        Binding("o", "pick('other')", "Other tag…", show=False, id="review.other"),
        Binding("R", "rename_speaker", "Rename speaker everywhere", show=False,
                id="review.rename_speaker"),
        Binding("m", "note", "Note", show=False, id="review.note"),
        Binding("w", "app.suggestions", "Suggestions: accept / reject / name voices…", show=False,
                id="review.suggestions"),
    ]),
    ("Suggestions (dim, with ?)", [
        Binding("Y", "suggestion('accept')", "Accept this line's (or event's) suggestions",
                show=False, id="suggest.accept"),
        Binding("X", "suggestion('reject')", "Reject them (not proposed again)", show=False,
                id="suggest.reject"),
        Binding("A", "suggestion('accept_all')", "Accept all of this voice or rule…",
                show=False, id="suggest.accept_all"),
        Binding("W", "suggestion('name_voice')",
                "Name this line's voice (all its lines): then a speaker's key, + new",
                show=False, id="suggest.name_voice"),
    ]),
    ("Edit", [
        Binding("e", "edit_text", "Edit text", id="edit.text"),
        Binding("y", "edit_translation", "Edit translation (own layer)", show=False,
                id="edit.translation"),
        Binding("S", "split", "Split at a word…", show=False, id="edit.split"),
        Binding("J", "merge", "Join with next", show=False, id="edit.merge"),
        Binding("i", "insert", "Insert a segment after", show=False, id="edit.insert"),
        Binding("D", "delete", "Delete segment (undo brings it back)", show=False,
                id="edit.delete"),
        Binding("H", "held_back", "Held back by the machine: restore…", show=False,
                id="edit.held_back"),
        Binding("T", "retranscribe", "Transcribe a speech gap again…", show=False,
                id="edit.retranscribe"),
        Binding("left_square_bracket", "nudge('start', -100)", "Start -100 ms", show=False,
                id="edit.start_earlier"),
        Binding("right_square_bracket", "nudge('start', 100)", "Start +100 ms", show=False,
                id="edit.start_later"),
        Binding("left_curly_bracket", "nudge('start', -1000)", "Start -1 s", show=False,
                id="edit.start_earlier_1s"),
        Binding("right_curly_bracket", "nudge('start', 1000)", "Start +1 s", show=False,
                id="edit.start_later_1s"),
        Binding("minus", "nudge('end', -100)", "End -100 ms", show=False,
                id="edit.end_earlier"),
        Binding("equals_sign", "nudge('end', 100)", "End +100 ms", show=False,
                id="edit.end_later"),
        Binding("underscore", "nudge('end', -1000)", "End -1 s", show=False,
                id="edit.end_earlier_1s"),
        Binding("plus", "nudge('end', 1000)", "End +1 s", show=False, id="edit.end_later_1s"),
        Binding("z,ctrl+z", "undo", "Undo", id="edit.undo"),
        Binding("Z,ctrl+y", "redo", "Redo", show=False, id="edit.redo"),
    ]),
    ("Play", [
        Binding("enter", "play_segment", "Play segment", id="play.segment"),
        Binding("p", "play_from_here", "Play from here", show=False, id="play.from_here"),
        Binding("space", "toggle_pause", "Pause/resume", show=False, id="play.pause"),
        Binding("left", "seek(-5000)", "Back 5 s", show=False, id="play.back"),
        Binding("right", "seek(5000)", "Forward 5 s", show=False, id="play.forward"),
        Binding("1", "speed(0.75)", "Speed 0.75x", show=False, id="play.speed_slow"),
        Binding("2", "speed(1.0)", "Speed 1x", show=False, id="play.speed_normal"),
        Binding("3", "speed(1.5)", "Speed 1.5x", show=False, id="play.speed_fast"),
        Binding("L", "toggle_follow", "Follow playback on/off", show=False, id="play.follow"),
        Binding("b", "toggle_translation", "Table: original / translation", show=False,
                id="view.translation"),
    ]),
    ("App", [
        Binding("E", "export", "Export…", id="app.export"),
        Binding("question_mark", "app.help", "Help", id="app.help"),
        Binding("q,ctrl+q", "app.quit", "Quit", id="app.quit"),
    ]),
]

APP_BINDINGS: list[Binding] = [b for _, group in SECTIONS for b in group]

#: Actions that need a player (disabled, and shown dimmed, without mpv).
PLAYER_ACTIONS = frozenset(
    b.action.split("(")[0] for b in APP_BINDINGS if b.id and b.id.startswith("play.")
) - {"toggle_follow"}
#: Actions that change the review (disabled in a read-only review).
EDIT_ACTIONS = frozenset(
    b.action.split("(")[0] for b in APP_BINDINGS
    if b.id and b.id.split(".")[0] in {"review", "edit", "suggest"}
)


def key_names(keys: str) -> str:
    """Binding keys as a person reads them: ``"z,ctrl+z"`` -> ``z / ctrl+z``."""
    pretty = {
        "slash": "/", "question_mark": "?", "left_square_bracket": "[",
        "right_square_bracket": "]", "left_curly_bracket": "{", "right_curly_bracket": "}",
        "minus": "-", "equals_sign": "=", "underscore": "_", "plus": "+", "number_sign": "#",
        "full_stop": ".", "comma": ",", "left": "←", "right": "→", "up": "↑", "down": "↓",
    }
    names = [k.strip() for k in keys.split(",")]
    return " / ".join(pretty.get(k, k.replace("shift+up", "shift+↑")
                                     .replace("shift+down", "shift+↓")) for k in names)
