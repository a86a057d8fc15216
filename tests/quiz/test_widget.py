"""The quiz widget, driven through its buttons and text box from code, as a notebook run headless."""

from __future__ import annotations

from k8s_course.quiz import Quiz, QuizWidget
from k8s_course.quiz.questions import from_data

LINK = "01_sidecar.ipynb#Why-a-sidecar"
CHOICE = from_data({"id": "why", "topic": "Sidecar", "kind": "choice", "prompt": "Why sidecars?",
                    "choices": ["speed", "decoupling", "fashion"], "answer": 1,
                    "explanation": "Decoupling: ship logs without touching the app.", "link": LINK})
SHORT = from_data({"id": "field", "topic": "Sidecar", "kind": "short", "prompt": "Which field?",
                   "accepted": ["restartPolicy"], "explanation": "restartPolicy: Always.", "link": LINK})
SCENARIO = from_data({"id": "crash", "topic": "Troubleshooting", "kind": "choice", "prompt": "Why?",
                      "choices": ["late proxy", "no image"], "answer": 0, "explanation": "It was late.",
                      "link": "06_interview_prep.ipynb#Reading-a-pod-in-trouble",
                      "exhibit": "state: Waiting (CrashLoopBackOff) <restarts>"})


class HandClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_choice_shows_one_button_per_choice_and_pressing_one_gives_feedback_with_the_link():
    widget = QuizWidget(Quiz([CHOICE, SHORT]))
    assert [b.description for b in widget.choice_buttons] == ["A", "B", "C"]
    assert [row.children[1].value for row in widget.choices_box.children] == ["speed", "decoupling", "fashion"]
    assert widget.text_row.layout.display == "none"
    feedback = widget.choose(1)
    assert feedback.correct
    assert "✔ Right" in widget.feedback.value and f"href='{LINK}'" in widget.feedback.value
    assert all(b.disabled for b in widget.choice_buttons)
    assert widget.progress.value == 1 and not widget.next_button.disabled


def test_a_wrong_choice_says_what_the_answer_was():
    widget = QuizWidget(Quiz([CHOICE]))
    assert not widget.choose(0).correct
    assert "The answer: decoupling" in widget.feedback.value


def test_a_short_answer_is_typed_in_the_box_and_checked():
    widget = QuizWidget(Quiz([SHORT]))
    assert widget.choice_buttons == [] and widget.text_row.layout.display is None
    assert widget.type_answer(" `restartpolicy` ").correct
    assert widget.check_button.disabled and widget.answer_box.disabled


def test_pressing_a_second_button_does_not_change_the_first_answer():
    quiz = Quiz([CHOICE])
    widget = QuizWidget(quiz)
    widget.choose(0)
    widget.choice_buttons[1].disabled = False  # as if the learner found a way
    widget.choose(1)
    assert quiz.score() == 0.0


def test_next_walks_through_the_questions_and_ends_with_a_table_per_topic():
    quiz = Quiz([CHOICE, SHORT, SCENARIO])
    widget = QuizWidget(quiz)
    widget.choose(1)
    assert widget.next() is SHORT and "Question 2 of 3" in widget.header.value
    widget.type_answer("wrong")
    assert widget.next() is SCENARIO
    assert "&lt;restarts&gt;" in widget.exhibit.value  # the exhibit is shown as text, escaped
    widget.choose(0)
    assert widget.next_button.description == "See your score"
    assert widget.next() is None
    assert "Your score: 67%" in widget.summary.value
    assert "<td>Sidecar</td><td>1</td><td>1</td><td>0</td><td>50%</td>" in widget.summary.value
    assert "<td>Troubleshooting</td><td>1</td><td>0</td><td>0</td><td>100%</td>" in widget.summary.value


def test_when_time_is_up_the_answer_is_late_and_next_shows_the_summary():
    clock = HandClock()
    quiz = Quiz([CHOICE, SHORT, SCENARIO], time_limit=30, clock=clock)
    widget = QuizWidget(quiz)
    assert "30 s left" in widget.header.value
    widget.choose(1)
    widget.next()
    clock.now = 31
    feedback = widget.type_answer("restartPolicy")
    assert feedback.late and not feedback.correct
    assert "Time is up" in widget.feedback.value and "time is up" in widget.header.value
    assert widget.next_button.description == "See your score"
    assert widget.next() is None  # the third question is never shown
    assert "<td>Sidecar</td><td>1</td><td>0</td><td>1</td><td>50%</td>" in widget.summary.value
