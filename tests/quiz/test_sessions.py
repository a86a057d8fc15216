"""Quiz sessions: the first answer counts, the clock (injected) ends the quiz, scores per topic."""

from __future__ import annotations

import pytest

from k8s_course.quiz import Quiz
from k8s_course.quiz.questions import from_data


def question(qid, topic, answer=0):
    return from_data({"id": qid, "topic": topic, "kind": "choice", "prompt": f"{qid}?",
                      "choices": ["yes", "no"], "answer": answer, "explanation": "Because.",
                      "link": "06_interview_prep.ipynb#The-quiz"})


QUESTIONS = [question("a", "Sidecar"), question("b", "Sidecar"), question("c", "Operator"),
             question("d", "Security")]


class HandClock:
    """A clock the test moves: quiz.remaining() reads it."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_the_first_answer_counts_and_later_ones_only_get_feedback():
    quiz = Quiz(QUESTIONS)
    assert not quiz.answer("a", 1).correct
    again = quiz.answer("a", 0)
    assert again.correct and not again.counted
    assert quiz.score_by_topic()["Sidecar"].wrong == 1


def test_score_by_topic_counts_right_wrong_and_unanswered_in_quiz_order():
    quiz = Quiz(QUESTIONS)
    quiz.answer("a", 0)
    quiz.answer("c", 1)
    scores = quiz.score_by_topic()
    assert list(scores) == ["Sidecar", "Operator", "Security"]
    assert (scores["Sidecar"].correct, scores["Sidecar"].unanswered, scores["Sidecar"].percent) == (1, 1, 50.0)
    assert (scores["Operator"].wrong, scores["Security"].unanswered) == (1, 1)
    assert quiz.score() == 0.25
    assert quiz.unanswered() == ["b", "d"]


def test_answers_after_the_time_limit_count_as_unanswered():
    clock = HandClock()
    quiz = Quiz(QUESTIONS, time_limit=60, clock=clock)
    assert quiz.remaining() == 60  # the clock has not started
    assert quiz.answer("a", 0).correct  # starts the clock
    clock.now += 59.5
    assert quiz.remaining() == 0.5 and not quiz.expired
    assert quiz.answer("b", 0).correct
    clock.now += 1
    late = quiz.answer("c", 0)
    assert (late.correct, late.late, quiz.expired, quiz.finished) == (False, True, True, True)
    assert quiz.score() == 0.5
    assert quiz.score_by_topic()["Operator"].unanswered == 1
    assert quiz.unanswered() == ["c", "d"]


def test_start_begins_the_clock_before_the_first_answer():
    clock = HandClock()
    quiz = Quiz(QUESTIONS, time_limit=10, clock=clock).start()
    clock.now += 11
    assert quiz.answer("a", 0).late


def test_an_untimed_quiz_never_expires_and_finishes_when_all_are_answered():
    quiz = Quiz(QUESTIONS)
    assert quiz.remaining() is None
    for q in QUESTIONS:
        assert not quiz.finished
        quiz.answer(q.id, 0)
    assert quiz.finished and quiz.score() == 1.0


def test_an_unknown_question_is_named_in_the_error():
    with pytest.raises(KeyError, match="zz"):
        Quiz(QUESTIONS).answer("zz", 0)


@pytest.mark.parametrize("limit", [0, -5])
def test_a_time_limit_must_be_positive(limit):
    with pytest.raises(ValueError, match="positive"):
        Quiz(QUESTIONS, time_limit=limit)


def test_two_questions_may_not_share_an_id():
    with pytest.raises(ValueError, match=r"\['a'\]"):
        Quiz([question("a", "x"), question("a", "y")])


def test_a_quiz_without_questions_is_the_whole_bank():
    from k8s_course.quiz import bank

    assert [q.id for q in Quiz().questions] == [q.id for q in bank.load()]
