"""`QuizWidget`: the quiz in a notebook, one question at a time.

A header (question n of N, time left), a progress bar, the question and its exhibit, the
choices as buttons (A, B, C... each beside its choice's text) (or a text box and a Check button for short answers), then the feedback:
right or wrong, the explanation and a link to the section that teaches it, and a Next button.
After the last question, or when the time is up, a table of the score per topic.

Everything can be driven from code, as a headless notebook and the tests do:
`widget.choose(1)` presses the second choice's button, `widget.type_answer("1.29")` types and
presses Check, `widget.next()` presses Next. Each returns what the learner would see.
"""

from __future__ import annotations

import html
import re

import ipywidgets

from .questions import CHOICE, Feedback, Question
from .sessions import Quiz

GREEN, RED = "#2b9348", "#c1121f"
LETTERS = "ABCDEFGHIJ"


class QuizWidget(ipywidgets.VBox):
    def __init__(self, quiz: Quiz | None = None, **kwargs):
        self.quiz = quiz if quiz is not None else Quiz()
        self.index = 0
        self.last_feedback: Feedback | None = None
        self.header = ipywidgets.HTML()
        self.progress = ipywidgets.IntProgress(value=0, min=0, max=len(self.quiz.questions),
                                               layout=ipywidgets.Layout(width="60%"))
        self.prompt = ipywidgets.HTML()
        self.exhibit = ipywidgets.HTML()
        self.choice_buttons: list[ipywidgets.Button] = []
        self.choices_box = ipywidgets.VBox()
        self.answer_box = ipywidgets.Text(placeholder="your answer", continuous_update=False)
        self.check_button = ipywidgets.Button(description="Check", button_style="primary")
        self.check_button.on_click(lambda _button: self._answer(self.answer_box.value))
        self.text_row = ipywidgets.HBox([self.answer_box, self.check_button])
        self.feedback = ipywidgets.HTML()
        self.next_button = ipywidgets.Button(description="Next", disabled=True)
        self.next_button.on_click(lambda _button: self._advance())
        self.summary = ipywidgets.HTML()
        super().__init__([self.header, self.progress, self.prompt, self.exhibit, self.choices_box,
                          self.text_row, self.feedback, self.next_button, self.summary], **kwargs)
        self._show()

    # driving it from code: what the buttons do

    @property
    def question(self) -> Question | None:
        """The question on screen (None once the summary shows)."""
        if self.index >= len(self.quiz.questions) or self.summary.value:
            return None
        return self.quiz.questions[self.index]

    def choose(self, choice: int) -> Feedback:
        """Press the button of choice number `choice` (0 is the first)."""
        self.choice_buttons[choice].click()
        return self.last_feedback

    def type_answer(self, text: str) -> Feedback:
        """Type `text` in the answer box and press Check."""
        self.answer_box.value = text
        self.check_button.click()
        return self.last_feedback

    def next(self) -> Question | None:
        """Press Next; returns the new question (None when the summary shows)."""
        self.next_button.click()
        return self.question

    # what the buttons do

    def _answer(self, given) -> None:
        question = self.question
        if question is None or self.quiz.answered(question.id):
            return
        feedback = self.quiz.answer(question.id, given)
        self.last_feedback = feedback
        for button in self.choice_buttons:
            button.disabled = True
        self.check_button.disabled = self.answer_box.disabled = True
        self.feedback.value = _feedback_html(feedback)
        self.progress.value = sum(self.quiz.answered(q.id) for q in self.quiz.questions)
        self.next_button.disabled = False
        self.next_button.description = "See your score" if self._last_step() else "Next"
        self._update_header()

    def _advance(self) -> None:
        if self._last_step():
            self._finish()
            return
        self.index += 1
        self._show()

    def _last_step(self) -> bool:
        return self.quiz.expired or self.index + 1 >= len(self.quiz.questions)

    # drawing

    def _show(self) -> None:
        question = self.question
        if question is None:
            self._finish()
            return
        self._update_header()
        self.prompt.value = f"<p><b>{html.escape(question.topic)}.</b> {_inline(question.prompt)}</p>"
        self.exhibit.value = (f"<pre style='font-size:85%;line-height:1.25'>{html.escape(question.exhibit)}</pre>"
                              if question.exhibit else "")
        if question.kind == CHOICE:
            self.choice_buttons = [self._choice_button(i, text) for i, text in enumerate(question.choices)]
            # a button's label does not wrap, so it shows a letter and the choice is text beside it
            self.choices_box.children = [
                ipywidgets.HBox([button, ipywidgets.HTML(_inline(text))])
                for button, text in zip(self.choice_buttons, question.choices, strict=True)]
            self.text_row.layout.display = "none"
        else:
            self.choice_buttons = []
            self.choices_box.children = ()
            self.text_row.layout.display = None
            self.answer_box.value = ""
            self.answer_box.disabled = self.check_button.disabled = False
        self.feedback.value = ""
        self.next_button.disabled = True

    def _choice_button(self, index: int, text: str) -> ipywidgets.Button:
        button = ipywidgets.Button(description=LETTERS[index], tooltip=text,
                                   layout=ipywidgets.Layout(width="3em", flex="0 0 auto"))
        button.on_click(lambda _button: self._answer(index))
        return button

    def _update_header(self) -> None:
        total = len(self.quiz.questions)
        text = f"Question {min(self.index + 1, total)} of {total}"
        remaining = self.quiz.remaining()
        if remaining is not None:
            text += " · time is up" if remaining <= 0 else f" · {remaining:.0f} s left"
        self.header.value = f"<b>{text}</b>"

    def _finish(self) -> None:
        self.choices_box.children = ()
        self.choice_buttons = []
        self.text_row.layout.display = "none"
        self.prompt.value = self.exhibit.value = ""
        self.next_button.disabled = True
        self._update_header()
        self.summary.value = summary_html(self.quiz)


def _inline(text: str) -> str:
    """Escaped text, with `code` in backticks shown as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _feedback_html(feedback: Feedback) -> str:
    if feedback.late:
        verdict, colour = "✘ Time is up", RED
    elif feedback.correct:
        verdict, colour = "✔ Right", GREEN
    else:
        verdict, colour = f"✘ Not quite. The answer: {html.escape(feedback.expected)}", RED
    link = html.escape(feedback.link, quote=True)
    return (f"<p style='color:{colour};font-weight:bold'>{verdict}</p>"
            f"<p>{_inline(feedback.explanation)}</p>"
            f"<p>Read more: <a href='{link}' target='_blank'>{html.escape(feedback.link)}</a></p>")


def summary_html(quiz: Quiz) -> str:
    """The score per topic as an HTML table, with the total underneath."""
    rows = "".join(f"<tr><td>{html.escape(topic)}</td><td>{s.correct}</td><td>{s.wrong}</td>"
                   f"<td>{s.unanswered}</td><td>{s.percent:.0f}%</td></tr>"
                   for topic, s in quiz.score_by_topic().items())
    head = "<tr><th>topic</th><th>right</th><th>wrong</th><th>unanswered</th><th>score</th></tr>"
    return (f"<h4>Your score: {quiz.score():.0%}</h4><table>{head}{rows}</table>"
            "<p>Follow the links of the questions you missed, then take the quiz again.</p>")
