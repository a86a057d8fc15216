"""A progress bar for waits: an ipywidgets bar in Jupyter, a line of text in a terminal."""

from __future__ import annotations

import sys


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class Bar:
    def __init__(self, description: str, total: float):
        self.description = description
        self.total = total
        self._widget = None
        self._label = None
        self._last_text = -1
        if _in_notebook():
            import ipywidgets
            from IPython.display import display

            self._widget = ipywidgets.FloatProgress(value=0, min=0, max=total, description="",
                                                    layout=ipywidgets.Layout(width="40%"))
            self._label = ipywidgets.Label(description)
            display(ipywidgets.HBox([self._widget, self._label]))

    def update(self, elapsed: float) -> None:
        if self._widget is not None:
            self._widget.value = min(elapsed, self.total)
            return
        second = int(elapsed)
        if second != self._last_text and second % 5 == 0 and second > 0:
            self._last_text = second
            print(f"  ... {self.description} ({second} s)", file=sys.stderr, flush=True)

    def done(self, text: str) -> None:
        if self._widget is not None:
            self._widget.value = self.total
            self._widget.bar_style = "success"
            self._label.value = "✔ " + text

    def fail(self, text: str) -> None:
        if self._widget is not None:
            self._widget.bar_style = "danger"
            self._label.value = "✘ " + text

    def close(self) -> None:
        pass  # the widget stays on the page as a record of the wait
