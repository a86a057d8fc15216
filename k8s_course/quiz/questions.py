"""Questions: one interview question, how an answer to it is judged, and what the learner is told.

A question is either multiple choice (`choices`, and `answer` the index of the right one) or
short answer (`accepted`: the answers that count, compared after `normalise`). Every question
carries an explanation and a link to the notebook section that teaches it, and may carry an
`exhibit`: text to read before answering (a pod's spec and events, for scenario questions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CHOICE, SHORT = "choice", "short"


def normalise(text) -> str:
    """What is compared for short answers: case, surrounding quotes and backticks, a final full
    stop and runs of spaces do not matter ("`restartPolicy: Always`." == "restartpolicy: always")."""
    text = str(text).strip().lower().rstrip(".!")
    text = text.strip("`'\" ").rstrip(".!")
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class Feedback:
    """What the learner is told after answering: right or not, why, and where to read more."""

    correct: bool
    explanation: str
    link: str
    expected: str  # the right answer, in words
    late: bool = False  # given after the time limit: counted as unanswered
    counted: bool = True  # False when the question had already been answered

    def __bool__(self) -> bool:
        return self.correct


@dataclass(frozen=True)
class Question:
    id: str
    topic: str
    kind: str
    prompt: str
    explanation: str
    link: str
    choices: tuple[str, ...] = ()
    answer: int | None = None  # multiple choice: index of the right choice
    accepted: tuple[str, ...] = ()  # short answer: every answer that counts
    exhibit: str = ""
    tags: tuple[str, ...] = field(default=())

    def __post_init__(self):
        problems = self.problems()
        if problems:
            raise ValueError(f"question {self.id!r}: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """What is wrong with this question as written (an empty list: nothing)."""
        found = []
        if self.kind not in (CHOICE, SHORT):
            found.append(f"kind must be {CHOICE!r} or {SHORT!r}, not {self.kind!r}")
        if not self.prompt.strip() or not self.explanation.strip():
            found.append("it needs a prompt and an explanation")
        if ".ipynb#" not in self.link:
            found.append(f"link {self.link!r} should be notebook.ipynb#Heading-anchor")
        if self.kind == CHOICE and (len(self.choices) < 2 or not isinstance(self.answer, int)
                                    or not 0 <= self.answer < len(self.choices)):
            found.append("a multiple-choice question needs two or more choices and the index of the right one")
        if self.kind == SHORT and not [a for a in self.accepted if normalise(a)]:
            found.append("a short-answer question needs at least one accepted answer")
        return found

    @property
    def notebook(self) -> str:
        return self.link.split("#", 1)[0]

    @property
    def anchor(self) -> str:
        return self.link.split("#", 1)[1]

    def is_correct(self, given) -> bool:
        """A choice by index (0, 1, ...) or by its text; a short answer as text."""
        if self.kind == CHOICE:
            if isinstance(given, bool):
                return False
            if isinstance(given, int):
                return given == self.answer
            return normalise(given) == normalise(self.choices[self.answer])
        return normalise(given) in {normalise(a) for a in self.accepted}

    def correct_answer(self):
        """An answer that scores: the index of the right choice, or the first accepted answer."""
        return self.answer if self.kind == CHOICE else self.accepted[0]

    def expected(self) -> str:
        return self.choices[self.answer] if self.kind == CHOICE else self.accepted[0]

    def feedback(self, given, late: bool = False, counted: bool = True) -> Feedback:
        correct = not late and self.is_correct(given)
        explanation = self.explanation
        if late:
            explanation = "Time was up before this answer: it counts as unanswered. " + explanation
        return Feedback(correct, explanation, self.link, self.expected(), late, counted)


def from_data(data: dict) -> Question:
    """A Question from the bank's plain data (a mapping as written in bank.yaml)."""
    known = {"id", "topic", "kind", "prompt", "explanation", "link", "choices", "answer", "accepted",
             "exhibit", "tags"}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"question {data.get('id')!r}: unknown field(s) {sorted(unknown)}")
    values = dict(data)
    for listed in ("choices", "accepted", "tags"):
        values[listed] = tuple(str(v) for v in values.get(listed) or ())
    for text in ("prompt", "explanation", "exhibit"):
        values[text] = " ".join(str(values.get(text) or "").split()) if text != "exhibit" \
            else str(values.get(text) or "")
    missing = {"id", "topic", "kind", "link"} - set(values)
    if missing:
        raise ValueError(f"question {data.get('id')!r}: missing field(s) {sorted(missing)}")
    return Question(**values)
