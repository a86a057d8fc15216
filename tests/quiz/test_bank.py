"""The question bank, checked whole: every question answerable from code, every link alive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from k8s_course.quiz import Quiz, answer_key, bank

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
QUESTIONS = bank.load()


def headings_of(notebook: Path) -> set[str]:
    """Anchors as JupyterLab makes them: a markdown heading's text with spaces as '-'."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    anchors = set()
    for cell in cells:
        if cell["cell_type"] != "markdown":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        for line in source.splitlines():
            if line.startswith("#"):
                anchors.add(line.lstrip("#").strip().replace(" ", "-"))
    return anchors


def wrong_answer(question):
    if question.kind == "choice":
        return (question.answer + 1) % len(question.choices)
    return "certainly not this"


def test_the_bank_has_at_least_40_questions_with_unique_ids():
    ids = [q.id for q in QUESTIONS]
    assert len(ids) >= 40
    assert len(set(ids)) == len(ids)


def test_every_question_has_an_explanation_and_a_link():
    for question in QUESTIONS:
        assert len(question.explanation.split()) >= 8, question.id
        assert question.link.count("#") == 1 and question.link.split("#")[1], question.id


def test_the_banks_own_answers_score_full_marks_in_every_topic():
    quiz = Quiz(QUESTIONS)
    for question_id, answer in answer_key(QUESTIONS).items():
        assert quiz.answer(question_id, answer).correct, question_id
    assert quiz.score() == 1.0
    assert {t: s.percent for t, s in quiz.score_by_topic().items()} == {t: 100.0 for t in bank.topics()}


def test_wrong_answers_score_nothing():
    quiz = Quiz(QUESTIONS)
    for question in QUESTIONS:
        assert not quiz.answer(question.id, wrong_answer(question)).correct, question.id
    assert quiz.score() == 0.0
    assert all(s.wrong == s.total for s in quiz.score_by_topic().values())


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.id)
def test_every_link_names_a_notebook_that_exists_and_a_heading_in_it(question):
    notebook = NOTEBOOKS / question.notebook
    assert notebook.exists(), f"{question.id} links to {question.notebook}, which does not exist"
    assert question.anchor in headings_of(notebook), f"{question.id}: no heading {question.anchor!r}"


def test_links_go_only_to_the_chapters_that_exist_now_or_to_chapter_6():
    allowed = {"00_apartment_complex.ipynb", "01_sidecar.ipynb", "02_ambassador.ipynb", "03_operator.ipynb",
               "05_complexity.ipynb", "06_interview_prep.ipynb"}
    assert {q.notebook for q in QUESTIONS} <= allowed


def test_both_kinds_of_question_and_every_topic_are_in_the_bank():
    assert {q.kind for q in QUESTIONS} == {"choice", "short"}
    assert bank.topics() == ["Kubernetes basics", "Sidecar", "Ambassador", "Operator", "Security",
                             "Cost and complexity", "Troubleshooting"]
    assert all(len(bank.load(topics=[t])) >= 4 for t in bank.topics())


def test_the_right_choice_is_not_always_in_the_same_place():
    places = {q.answer for q in QUESTIONS if q.kind == "choice"}
    assert places == {0, 1, 2, 3}


def test_rotating_the_choices_keeps_the_right_one_right():
    question = next(q for q in QUESTIONS if q.id == "pod-is-an-apartment")
    assert question.choices[question.answer].startswith("An apartment")
    assert question.choices != tuple(sorted(question.choices, key=lambda c: not c.startswith("A floor")))


def test_scenario_questions_carry_the_recorded_evidence():
    scenario_questions = [q for q in QUESTIONS if q.topic == "Troubleshooting"]
    assert len(scenario_questions) == len(bank.scenarios()) == 4
    late = next(q for q in scenario_questions if q.id == "scenario-late-proxy")
    assert "Waiting (CrashLoopBackOff)" in late.exhibit
    assert "connection refused" in late.exhibit


def test_an_unknown_scenario_is_named_in_the_error():
    with pytest.raises(KeyError, match="no-such-scenario"):
        bank.scenario("no-such-scenario")
