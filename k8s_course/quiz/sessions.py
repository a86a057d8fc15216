"""Quiz sessions: one sitting of the quiz, its answers, its clock and its score per topic.

    quiz = Quiz(bank.load(), time_limit=600)     # ten minutes for the whole quiz
    feedback = quiz.answer("native-sidecar-field", "restartPolicy")
    feedback.correct, feedback.explanation, feedback.link
    quiz.score_by_topic()["Sidecar"].percent

The first answer to a question is the one that counts (as in an interview, there is no second
go); later ones still get feedback. With a time limit, the clock starts at the first answer or
at `start()`, and answers after the deadline count as unanswered. The clock is any function
returning seconds (`time.monotonic` by default), so tests can move it by hand.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .questions import Feedback, Question


@dataclass(frozen=True)
class TopicScore:
    topic: str
    correct: int
    wrong: int
    unanswered: int

    @property
    def total(self) -> int:
        return self.correct + self.wrong + self.unanswered

    @property
    def percent(self) -> float:
        return 100.0 * self.correct / self.total if self.total else 0.0


class Quiz:
    """A sitting of the quiz over `questions` (the whole bank when none are given)."""

    def __init__(self, questions: Iterable[Question] | None = None, time_limit: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        if questions is None:
            from . import bank

            questions = bank.load()
        self.questions: list[Question] = list(questions)
        ids = [q.id for q in self.questions]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"two questions share the id(s) {duplicated}")
        if time_limit is not None and time_limit <= 0:
            raise ValueError(f"time_limit must be a positive number of seconds, not {time_limit!r}")
        self.time_limit = time_limit
        self._clock = clock
        self._by_id = {q.id: q for q in self.questions}
        self._results: dict[str, bool] = {}  # question id -> correct, for answers given in time
        self._late: set[str] = set()
        self.started_at: float | None = None

    def __repr__(self) -> str:
        return f"<Quiz {len(self._results)}/{len(self.questions)} answered, score {self.score():.0%}>"

    # the clock

    def start(self) -> Quiz:
        """Start the clock now (answering does it too); starting again changes nothing."""
        if self.started_at is None:
            self.started_at = self._clock()
        return self

    def remaining(self) -> float | None:
        """Seconds left, None without a time limit (the full limit before the start)."""
        if self.time_limit is None:
            return None
        if self.started_at is None:
            return self.time_limit
        return max(0.0, self.time_limit - (self._clock() - self.started_at))

    @property
    def expired(self) -> bool:
        remaining = self.remaining()
        return remaining is not None and remaining <= 0

    # answering

    def question(self, question_id: str) -> Question:
        try:
            return self._by_id[question_id]
        except KeyError:
            raise KeyError(f"no question {question_id!r} in this quiz; quiz.questions lists them") from None

    def answer(self, question_id: str, answer) -> Feedback:
        question = self.question(question_id)
        self.start()
        late = self.expired
        counted = question_id not in self._results and question_id not in self._late
        feedback = question.feedback(answer, late=late, counted=counted)
        if counted:
            if late:
                self._late.add(question_id)
            else:
                self._results[question_id] = feedback.correct
        return feedback

    def answered(self, question_id: str) -> bool:
        return question_id in self._results or question_id in self._late

    @property
    def finished(self) -> bool:
        return self.expired or all(self.answered(q.id) for q in self.questions)

    # the score

    def unanswered(self) -> list[str]:
        """Questions with no answer in time, in quiz order (late answers included)."""
        return [q.id for q in self.questions if q.id not in self._results]

    def score(self) -> float:
        """The share of all the quiz's questions answered correctly in time (0.0 to 1.0)."""
        if not self.questions:
            return 0.0
        return sum(self._results.values()) / len(self.questions)

    def score_by_topic(self) -> dict[str, TopicScore]:
        """Topic -> TopicScore, topics in the order they first appear in the quiz."""
        counts: dict[str, list[int]] = {}
        for question in self.questions:
            row = counts.setdefault(question.topic, [0, 0, 0])
            result = self._results.get(question.id)
            row[0 if result is True else 1 if result is False else 2] += 1
        return {topic: TopicScore(topic, *row) for topic, row in counts.items()}


def answer_key(quiz_questions: Iterable[Question]) -> dict[str, object]:
    """Question id -> an answer that scores: for checking a bank, or a demonstration."""
    return {q.id: q.correct_answer() for q in quiz_questions}


__all__ = ["Quiz", "TopicScore", "answer_key"]
