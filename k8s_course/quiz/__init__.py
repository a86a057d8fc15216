"""The interview quiz: a bank of questions as data, quiz sessions that score them, and a widget.

    from k8s_course.quiz import Quiz, QuizWidget, bank
    quiz = Quiz(bank.load(), time_limit=900)       # or Quiz() for the whole bank, untimed
    QuizWidget(quiz)                               # one question at a time, with feedback
    quiz.answer("native-sidecar-field", "restartPolicy")   # or answer from code
    quiz.score_by_topic()

Modules: `questions` (a Question and how an answer is judged), `bank` (the questions, from
bank.yaml and scenarios.yaml), `sessions` (Quiz: answers, time limit, score per topic),
`scenarios` (pods in trouble on the course's cluster, shown as evidence), `evidence` (numbers
for practiced answers: requests per container, RBAC grants), `figures` (the score per topic as
a Figure) and `widget` (QuizWidget). Nothing here changes the cluster except `scenarios.start`
and `scenarios.record`, which apply a scenario's manifest (and the ConfigMap of its programs).
"""

from __future__ import annotations

from . import bank, evidence, scenarios
from .figures import draw_scores
from .questions import Feedback, Question, normalise
from .sessions import Quiz, TopicScore, answer_key
from .widget import QuizWidget

__all__ = ["Feedback", "Question", "Quiz", "QuizWidget", "TopicScore", "answer_key", "bank", "draw_scores",
           "evidence", "normalise", "scenarios"]
