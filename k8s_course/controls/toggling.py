"""`FaultToggle`: the shape every fault switch of the course shares.

Pressed (`value = True`) causes the fault (a floor goes dark, a shard goes away), released
undoes it. What happened is written next to the toggle; when the cluster refuses, the reason is
written there instead and the toggle springs back, so it always shows what is true. Subclasses
say what to do (`_cause`, `_undo`, each returning the sentence to show) and how to word it.
"""

from __future__ import annotations

import ipywidgets

from .scaling import say


class FaultToggle(ipywidgets.HBox):
    WORDS = ("on", "off")  # how `history` names a change: the fault caused, then undone

    def __init__(self, description: str, icon: str, style: str = "success", **kwargs):
        self.toggle = ipywidgets.ToggleButton(value=False, description=description, icon=icon,
                                              button_style=style, layout=ipywidgets.Layout(width="auto"))
        self.label = ipywidgets.Label("")
        self.history: list[tuple[str, str]] = []  # (one of WORDS, what was said), in order
        self._quiet = False  # set while the toggle springs back: no action then
        self.toggle.observe(self._on_toggle, names="value")
        super().__init__([self.toggle, self.label], **kwargs)

    @property
    def value(self) -> bool:
        return self.toggle.value

    @value.setter
    def value(self, on: bool) -> None:
        self.toggle.value = bool(on)

    @property
    def message(self) -> str:
        return self.label.value

    # what subclasses say and do

    def _cause(self) -> str:
        raise NotImplementedError

    def _undo(self) -> str:
        raise NotImplementedError

    def _failure(self, on: bool, problem: str) -> str:
        return f"could not {'cause' if on else 'undo'} the fault: {problem}"

    def _looks(self, on: bool) -> tuple[str | None, str | None]:
        """(description, button style) after a change; None keeps what is there."""
        return None, None

    # the mechanics

    def _on_toggle(self, change) -> None:
        if self._quiet:
            return
        on = change["new"]
        try:
            text = self._cause() if on else self._undo()
        except Exception as error:  # shown next to the toggle, never raised at the learner
            say(self.label, False, self._failure(on, getattr(error, "message", None) or str(error)))
            self._quiet = True
            try:
                self.toggle.value = change["old"]
            finally:
                self._quiet = False
            return
        self.history.append((self.WORDS[0] if on else self.WORDS[1], text))
        description, style = self._looks(on)
        if description is not None:
            self.toggle.description = description
        if style is not None:
            self.toggle.button_style = style
        say(self.label, True, text)
