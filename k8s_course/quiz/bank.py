"""The question bank: the course's interview questions, kept as data and loaded into Questions.

`bank.yaml` holds the written questions, `scenarios.yaml` the scenario questions (pods in
trouble) and `recordings.yaml` what those pods showed on the simulator. `load()` returns them
all, in file order; `topics()` names the topics in that order.

On loading, each question's choices are rotated by an amount fixed by its id, so that the right
one is not always in the same place, and the quiz still looks the same on every run.
"""

from __future__ import annotations

import dataclasses
import zlib
from functools import lru_cache
from pathlib import Path

import yaml

from . import scenarios as scenarios_module
from .questions import Question, from_data

HERE = Path(__file__).parent
QUESTIONS_FILE = HERE / "bank.yaml"
SCENARIOS_FILE = HERE / "scenarios.yaml"
RECORDINGS_FILE = HERE / "recordings.yaml"


def _read(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8")) or []


@lru_cache(maxsize=1)
def _written() -> tuple[Question, ...]:
    return tuple(rotated(from_data(item)) for item in _read(QUESTIONS_FILE))


def rotated(question: Question) -> Question:
    """The question with its choices rotated by an amount that depends only on its id."""
    if question.kind != "choice":
        return question
    shift = zlib.crc32(question.id.encode()) % len(question.choices)
    choices = question.choices[shift:] + question.choices[:shift]
    return dataclasses.replace(question, choices=choices,
                               answer=(question.answer - shift) % len(question.choices))


def scenarios() -> list[scenarios_module.Scenario]:
    """The scenarios, each with its recorded snapshot (empty if it was never recorded)."""
    recorded = _read(RECORDINGS_FILE) if RECORDINGS_FILE.exists() else {}
    return [scenarios_module.from_data_scenario({**item, "recorded": recorded.get(item["id"])})
            for item in _read(SCENARIOS_FILE)]


def scenario(scenario_id: str) -> scenarios_module.Scenario:
    for found in scenarios():
        if found.id == scenario_id:
            return found
    raise KeyError(f"no scenario {scenario_id!r}; bank.scenarios() lists them")


def scenario_question(scenario_id: str, snapshot: dict | None = None) -> Question:
    """A scenario's question with `snapshot` (from your own cluster) as its exhibit, or the
    recorded one."""
    return rotated(scenario(scenario_id).question(snapshot))


def load(topics: list[str] | None = None, include_scenarios: bool = True) -> list[Question]:
    """Every question of the bank (only those of `topics`, if given)."""
    every = list(_written()) + ([scenario_question(s.id) for s in scenarios()] if include_scenarios else [])
    return [q for q in every if topics is None or q.topic in topics]


def topics() -> list[str]:
    seen: list[str] = []
    for question in load():
        if question.topic not in seen:
            seen.append(question.topic)
    return seen
