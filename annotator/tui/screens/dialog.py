"""The base of the review app's dialogs: keys typed while a dialog opens reach it, in order.

A reviewer types ``e`` and the new words at once, or ``f`` ``u``; the terminal delivers those
keys before the dialog exists. In Textual a key goes to the focused widget, and a binding is
looked up only when the key has travelled up to the screen, so the keys after ``e`` are
already on their way to the segment table when ``e`` opens the dialog: they would be lost, or
act on the table. The review screen hands such keys to the dialog it opened
(:meth:`Dialog.keep`) and then tells it that no more are on their way
(:meth:`Dialog.take_keys`); keys sent to the dialog directly meanwhile wait behind them.
Only then does the dialog focus its widget and apply the kept keys, in the order typed; keys
left over when one of them closes the dialog go back through the app to the screen below.

From then on the dialog resolves its bindings (and its focused widget's) as keys reach it
(:func:`run_binding`), not after a further trip to the app, and a :class:`LineInput` resolves
its own as they reach it: so ``ctrl+u`` followed at once by text clears the field before the
text lands. A dialog nobody holds (:meth:`Dialog.hold_keys`) takes keys once it is mounted.

To write a dialog: subclass :class:`Dialog`, say which widget takes the keys
(:meth:`Dialog.focus_target`), and handle plain keys that no binding takes in
:meth:`Dialog.typed` (a picker chooses with them).
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from textual import events
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Input

R = TypeVar("R")


async def run_binding(screen: Screen[Any], key: str) -> bool:
    """Run the binding ``key`` has on ``screen`` now (the focused widget's first, then the
    screen's, as Textual looks them up, user keymap included). True if the key is bound:
    a binding that is disabled (``check_action`` returned ``None``) does nothing."""
    active = screen.active_bindings.get(key)
    if active is None:
        return False
    if active.enabled:
        await screen.app.run_action(active.binding.action, active.node)
    return True


class LineInput(Input):
    """An Input whose own bindings (ctrl+u, backspace, arrows, Enter) act as each key reaches
    it. A plain Input inserts a typed character the moment it gets the key, but Textual looks
    a binding up only once the key has bubbled up past it: typed at once, ``ctrl+u`` and the
    words after it would act in the wrong order (the new words cleared)."""

    async def on_key(self, event: events.Key) -> None:
        active = self.screen.active_bindings.get(event.key)
        if active is not None and active.node is self:
            event.stop()
            event.prevent_default()
            if active.enabled:
                await self.app.run_action(active.binding.action, self)


class Dialog(ModalScreen[R]):
    """A modal screen that applies keys typed before it could take them; see the module."""

    AUTO_FOCUS: ClassVar[str | None] = ""  # focus comes with the first key it may take

    def __init__(self) -> None:
        super().__init__()
        self._kept: list[tuple[str, str | None]] = []
        self._held = False
        self._taking = False

    def focus_target(self) -> Widget | None:
        """The widget that takes typed keys (an Input); ``None``: the dialog itself."""
        return None

    def typed(self, key: str, character: str | None) -> None:
        """A plain key no binding took (after the focused widget had it)."""

    # -- the hand-over ------------------------------------------------------------------------

    def hold_keys(self) -> None:
        """Wait for :meth:`take_keys` before taking keys (the opener has some on the way)."""
        self._held = True

    def keep(self, key: str, character: str | None) -> None:
        """A key typed for this dialog that reached the opener first."""
        if self._taking:
            self.post_message(events.Key(key, character))
        else:
            self._kept.append((key, character))

    def take_keys(self) -> None:
        """No more keys are on their way through the opener: take keys once those already
        sent here are kept too (this runs behind them, in this dialog's own queue)."""
        self.call_later(self._start_taking)

    def on_mount(self) -> None:
        if not self._held:
            self.call_later(self._start_taking)

    async def _start_taking(self) -> None:
        if self._taking:
            return
        self._taking = True
        target = self.focus_target() if self.is_current else None
        if target is not None:
            self.set_focus(target)
        while self._kept:
            key, character = self._kept.pop(0)
            await self._take(key, character)

    async def on_key(self, event: events.Key) -> None:
        """Keep keys until the dialog takes them; then resolve each as it arrives."""
        event.stop()
        event.prevent_default()
        if not self._taking:
            self._kept.append((event.key, event.character))
        else:
            await self._take(event.key, event.character)

    async def _take(self, key: str, character: str | None) -> None:
        if not self.is_current:
            # Typed after the key that closed this dialog: for the screen now on top, which
            # gets it through the app like any key.
            self.app.post_message(events.Key(key, character))
            return
        if await run_binding(self, key):
            return
        focused = self.focused
        if isinstance(focused, Input) and character is not None and character.isprintable():
            focused.insert_text_at_cursor(character)  # a key sent here before focus was set
        else:
            self.typed(key, character)
