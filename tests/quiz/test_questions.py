"""One question: how an answer is judged, and which questions are refused as written."""

from __future__ import annotations

import pytest

from k8s_course.quiz import normalise
from k8s_course.quiz.questions import from_data

CHOICE = {"id": "pod", "topic": "Basics", "kind": "choice", "prompt": "What is a pod?",
          "choices": ["a floor", "an apartment", "a room"], "answer": 1,
          "explanation": "A pod is an apartment.", "link": "00_apartment_complex.ipynb#The-building"}
SHORT = {"id": "field", "topic": "Sidecar", "kind": "short", "prompt": "Which field?",
         "accepted": ["restartPolicy", "restartPolicy: Always"], "explanation": "That one.",
         "link": "01_sidecar.ipynb#Why-a-sidecar"}


def test_normalising_ignores_case_quotes_backticks_a_full_stop_and_extra_spaces():
    assert normalise("  `RestartPolicy:   Always`. ") == "restartpolicy: always"
    assert normalise('"1.29"') == "1.29"


def test_a_short_answer_is_accepted_in_any_of_its_written_forms():
    question = from_data(SHORT)
    assert question.is_correct("restartpolicy")
    assert question.is_correct("`restartPolicy: Always`.")
    assert not question.is_correct("restartPolicy: Never")


def test_a_choice_is_answered_by_its_index_or_its_text():
    question = from_data(CHOICE)
    assert question.is_correct(1)
    assert question.is_correct("An apartment")
    assert not question.is_correct(0)
    assert not question.is_correct(True)  # True == 1 in Python, but it is not a choice


def test_feedback_says_the_right_answer_the_explanation_and_the_link():
    feedback = from_data(CHOICE).feedback(2)
    assert (feedback.correct, feedback.expected) == (False, "an apartment")
    assert feedback.explanation == "A pod is an apartment."
    assert feedback.link == "00_apartment_complex.ipynb#The-building"


def test_a_late_answer_is_never_correct_and_says_why():
    feedback = from_data(CHOICE).feedback(1, late=True)
    assert not feedback.correct and feedback.late
    assert feedback.explanation.startswith("Time was up")


@pytest.mark.parametrize("change, complaint", [
    ({"answer": 3}, "index of the right one"),
    ({"choices": ["only one"], "answer": 0}, "two or more choices"),
    ({"kind": "essay"}, "kind must be"),
    ({"link": "00_apartment_complex.ipynb"}, "notebook.ipynb#Heading-anchor"),
    ({"explanation": " "}, "needs a prompt and an explanation"),
    ({"colour": "red"}, "unknown field"),
])
def test_a_badly_written_question_is_refused_with_the_reason(change, complaint):
    with pytest.raises(ValueError, match=complaint):
        from_data({**CHOICE, **change})


def test_a_short_answer_question_needs_an_accepted_answer():
    with pytest.raises(ValueError, match="at least one accepted answer"):
        from_data({**SHORT, "accepted": ["  "]})
