"""What a lab is: a starting state, a task in steps, and a check per step with three hints.

A `Lab` is plain data plus two functions: `prepare(cluster)` puts the lab's starting state into
the learner's namespace (idempotent: re-running it repairs nothing the learner already fixed),
and each `Step.verify(cluster)` looks at the live cluster and either returns a passed
`checks.Check` or raises `checks.CheckFailed` with what is wrong now and up to three hints, from
a nudge to nearly the answer. `LabRun` is one learner's attempt: `check()` runs the steps in
order and stops at the first that fails (later steps build on it); `hint()` shows the next,
more telling hint for the step that failed.
"""

from __future__ import annotations

import contextvars
import html
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import checks
from ..errors import CourseError


@dataclass(frozen=True)
class Step:
    """One thing the learner must get right; `verify` raises CheckFailed until it is."""

    title: str
    verify: Callable[..., checks.Check]


@dataclass(frozen=True)
class Lab:
    name: str  # used on the command line: `k8s-course check logging-sidecar`
    title: str
    chapter: str  # the notebook that teaches what the lab practises
    minutes: int  # what it takes in a workshop, including reading
    summary: str  # one line for `k8s-course labs`
    prepare: Callable[..., None]
    steps: tuple[Step, ...]
    kind_ready: bool = True  # False: needs images only the simulator has (said in labs/README.md)

    @property
    def namespace(self) -> str:
        return f"lab-{self.name}"

    def check(self, cluster, wait: bool = True) -> Report:
        """Run the steps in order against `cluster` (in its namespace); stop at the first failure.

        `wait=False` takes the cluster as it is now (an instructor's overview of many learners)."""
        token = _waiting.set(wait)
        try:
            return self._check(cluster)
        finally:
            _waiting.reset(token)

    def _check(self, cluster) -> Report:
        results: list[checks.Check] = []
        for step in self.steps:
            try:
                result = step.verify(cluster)
            except checks.CheckFailed as failure:
                results.append(checks.Check(failure.name, False, failure.message, failure.hints))
                break
            except CourseError as error:  # the cluster said no: report it as what is wrong now
                results.append(checks.Check(step.title, False, error.message, [error.hint or ""]))
                break
            results.append(checks.Check(step.title, True, result.message))
        return Report(self, results)


@dataclass(repr=False)
class Report:
    """The outcome of one `check()`: one result per step tried, the first failure last."""

    lab: Lab
    results: list[checks.Check]
    hint_level: int = 1

    @property
    def passed(self) -> bool:
        return len(self.results) == len(self.lab.steps) and all(self.results)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def failure(self) -> checks.Check | None:
        return next((r for r in self.results if not r), None)

    @property
    def status(self) -> str:
        """One line: `done`, or which step fails."""
        if self.passed:
            return "done: every step passes"
        number = len(self.results)
        return f"step {number} of {len(self.lab.steps)} to do: {self.lab.steps[number - 1].title}"

    def lines(self) -> list[str]:
        rows = []
        for number, step in enumerate(self.lab.steps, 1):
            if number <= len(self.results):
                result = self.results[number - 1]
                mark = "✔" if result else "✘"
                rows.append(f"{mark} {number}. {step.title}: {result.message}")
            else:
                rows.append(f"· {number}. {step.title}: not checked yet")
        failure = self.failure
        if failure is not None and failure.hints:
            rows.append(f"Hint {min(self.hint_level, len(failure.hints))} of {len(failure.hints)}: "
                        f"{failure.hint(self.hint_level)}")
        elif self.passed:
            rows.append(f"Lab {self.lab.name} passes. Well done.")
        return rows

    def __str__(self) -> str:
        return "\n".join(self.lines())

    __repr__ = __str__  # what Jupyter's plain-text output and the terminal show

    def _repr_html_(self) -> str:
        colours = {"✔": "#2b9348", "✘": "#c1121f", "·": "#6c757d"}
        items = []
        for line in self.lines():
            colour = colours.get(line[:1], "#222")
            weight = "bold" if line[:1] in "✔✘" else "normal"
            style = "font-style:italic" if line.startswith("Hint") else f"font-weight:{weight}"
            items.append(f'<div style="color:{colour};{style}">{html.escape(line)}</div>')
        return f'<div style="font-family:sans-serif">{"".join(items)}</div>'


class Hint(str):
    """A hint's text; shown as text, not as a quoted string."""

    def __repr__(self) -> str:
        return str(self)


@dataclass
class LabRun:
    """One learner at one lab: `prepare()`, then `check()` as often as needed, `hint()` for help."""

    lab: Lab
    cluster: object
    last: Report | None = None
    _levels: dict[int, int] = field(default_factory=dict)  # failing step -> hint level shown

    def prepare(self) -> None:
        self.lab.prepare(self.cluster)

    def check(self) -> Report:
        report = self.lab.check(self.cluster)
        if not report.passed:
            report.hint_level = self._levels.setdefault(len(report.results), 1)
        self.last = report
        return report

    def hint(self) -> Hint:
        """The next hint for the step that failed last (nudge, pointer, then nearly the answer)."""
        report = self.last if self.last is not None else self.check()
        failure = report.failure
        if failure is None:
            return Hint("Nothing to hint at: every step passes.")
        step = len(report.results)
        level = min(self._levels.get(step, 1) + 1, max(len(failure.hints), 1))
        self._levels[step] = level
        report.hint_level = level
        return Hint(f"Hint {level} of {len(failure.hints)} for step {step}: {failure.hint(level)}")

    def cleanup(self, timeout: float = 120) -> None:
        self.cluster.cleanup(timeout)


def failed(name: str, message: str, *hints: str) -> checks.CheckFailed:
    """A step's failure: what is wrong now, then a nudge, a pointer and nearly the answer."""
    return checks.CheckFailed(message, list(hints), name)


def passed(name: str, message: str) -> checks.Check:
    return checks.Check(name, True, message, announced=True)


_waiting = contextvars.ContextVar("waiting", default=True)


def waiting() -> bool:
    """False while an instructor's overview checks without waiting (`Lab.check(wait=False)`)."""
    return _waiting.get()


def settle(cluster, condition: Callable[[], object], timeout: float, description: str) -> bool:
    """Wait (with a progress bar) until `condition()` holds; False when time runs out."""
    if not _waiting.get():
        return bool(condition())
    try:
        cluster.wait_for(condition, timeout=timeout, description=description)
    except CourseError:
        return False
    return True
