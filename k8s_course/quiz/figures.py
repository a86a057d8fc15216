"""The quiz's picture: the score per topic, as a function of plain data returning a Figure.

    draw_scores(quiz.score_by_topic())

One horizontal bar per topic, split into correct (green), wrong (red) and unanswered (grey),
each topic's bar as long as its number of questions, and the share correct written at its end.
"""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.figure import Figure

from .sessions import TopicScore

COLOURS = {"correct": "#2b9348", "wrong": "#c1121f", "unanswered": "#adb5bd"}


def draw_scores(scores: Mapping[str, TopicScore], title: str = "Your score per topic") -> Figure:
    topics = list(scores)
    figure = Figure(figsize=(8, 0.5 * len(topics) + 1.4))
    axes = figure.subplots()
    lefts = [0] * len(topics)
    for part, colour in COLOURS.items():
        widths = [getattr(scores[t], part) for t in topics]
        axes.barh(topics, widths, left=lefts, color=colour, label=part)
        lefts = [left + width for left, width in zip(lefts, widths, strict=True)]
    for row, topic in enumerate(topics):
        axes.annotate(f"{scores[topic].percent:.0f}%", (lefts[row], row), xytext=(4, 0),
                      textcoords="offset points", va="center", fontsize=9)
    axes.invert_yaxis()  # the first topic on top, as in the quiz
    axes.set(xlabel="questions", title=title, xlim=(0, max(lefts, default=1) * 1.15 or 1))
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    return figure
