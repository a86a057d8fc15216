"""`ScaleSlider`: how many apartments the manager should keep. Moving it scales a Deployment."""

from __future__ import annotations

import ipywidgets


def say(label: ipywidgets.Label, ok: bool, text: str) -> None:
    label.value = ("✔ " if ok else "✘ ") + text


class ScaleSlider(ipywidgets.HBox):
    """An IntSlider for a Deployment's replicas, and a line saying what the last move did.

    `slider.value = 6` scales to 6 at once (synchronously); values outside min..max or that are
    not whole numbers are refused with a message, not an exception.
    """

    def __init__(self, cluster, deployment: str, min: int = 0, max: int = 10, kind: str = "Deployment",
                 **kwargs):
        self.cluster, self.deployment, self.kind = cluster, deployment, kind
        self.lowest, self.highest = min, max
        current = (((cluster.find(kind, deployment) or {}).get("spec") or {}).get("replicas"))
        start = current if isinstance(current, int) and min <= current <= max else min
        self.slider = ipywidgets.IntSlider(value=start, min=min, max=max, step=1, description="replicas",
                                           continuous_update=False)
        self.label = ipywidgets.Label(f"{kind} {deployment}: {current if current is not None else '?'} replicas")
        self._quiet = False  # set while the slider is moved back after a refusal: no scaling then
        self.slider.observe(self._on_move, names="value")
        super().__init__([self.slider, self.label], **kwargs)

    @property
    def value(self) -> int:
        return self.slider.value

    @value.setter
    def value(self, wanted) -> None:
        if isinstance(wanted, bool) or not isinstance(wanted, int):
            say(self.label, False, f"{wanted!r} is not a whole number of replicas: "
                                   f"choose one from {self.lowest} to {self.highest}")
            return
        if not self.lowest <= wanted <= self.highest:
            say(self.label, False, f"{wanted} is outside this slider's range: "
                                   f"choose from {self.lowest} to {self.highest}")
            return
        if wanted == self.slider.value:
            self._scale(wanted, wanted)  # no change event would fire; scale anyway, it is harmless
        else:
            self.slider.value = wanted

    @property
    def message(self) -> str:
        return self.label.value

    def _on_move(self, change) -> None:
        if not self._quiet:
            self._scale(change["new"], change["old"])

    def _scale(self, replicas: int, previous: int) -> None:
        try:
            self.cluster.scale(self.deployment, replicas, kind=self.kind)
        except Exception as error:  # a widget shows what went wrong; it does not raise at the learner
            say(self.label, False, f"could not scale {self.deployment}: {error}")
            self._quiet = True
            try:
                self.slider.value = previous
            finally:
                self._quiet = False
            return
        say(self.label, True, f"{self.kind} {self.deployment} asked for {replicas} "
                              f"replica{'s' * (replicas != 1)}: the manager now adds or removes apartments")
