"""scripts/notebook_nav.py: the previous | contents | next line, first and last, written once."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "notebook_nav.py"


@pytest.fixture(scope="module")
def nav():
    spec = importlib.util.spec_from_file_location("notebook_nav", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def notebook(title: str, *body: str) -> dict:
    cells = [{"cell_type": "markdown", "id": f"m{i}", "metadata": {}, "source": text}
             for i, text in enumerate((f"# {title}\n\nWhy it matters.", *body))]
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def write(folder: Path, name: str, content: dict) -> Path:
    path = folder / name
    path.write_text(json.dumps(content, indent=1) + "\n", encoding="utf-8")
    return path


def sources(path: Path) -> list[str]:
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in json.loads(path.read_text(encoding="utf-8"))["cells"]]


def test_each_notebook_links_its_neighbours_and_the_readme_first_and_last(nav, tmp_path):
    first = write(tmp_path, "00_building.ipynb", notebook("00 · The building"))
    middle = write(tmp_path, "01_sidecar.ipynb", notebook("01 · The utility room"))
    last = write(tmp_path, "02_ambassador.ipynb", notebook("02 · The receptionist"))

    changed = nav.update(tmp_path, "../README.md")

    assert changed == [first, middle, last]
    assert sources(first)[0] == "[contents](../README.md) | [01 · The utility room →](01_sidecar.ipynb)"
    assert sources(middle)[0] == ("[← 00 · The building](00_building.ipynb) | [contents](../README.md) | "
                                  "[02 · The receptionist →](02_ambassador.ipynb)")
    assert sources(last)[-1] == "[← 01 · The utility room](01_sidecar.ipynb) | [contents](../README.md)"
    assert sources(middle)[1:-1] == ["# 01 · The utility room\n\nWhy it matters."]


def test_running_again_rewrites_nothing(nav, tmp_path):
    path = write(tmp_path, "00_building.ipynb", notebook("00 · The building", "More prose."))
    nav.update(tmp_path, "../README.md")
    before = path.read_bytes()

    assert nav.update(tmp_path, "../README.md") == []
    assert path.read_bytes() == before


def test_navigation_stored_as_a_list_of_lines_counts_as_up_to_date(nav, tmp_path):
    path = write(tmp_path, "00_building.ipynb", notebook("00 · The building"))
    nav.update(tmp_path, "../README.md")
    saved_by_jupyter = json.loads(path.read_text(encoding="utf-8"))
    for cell in saved_by_jupyter["cells"]:
        cell["source"] = [cell["source"]] if isinstance(cell["source"], str) else cell["source"]
    write(tmp_path, path.name, saved_by_jupyter)

    assert nav.update(tmp_path, "../README.md", check_only=True) == []


def test_a_new_neighbour_updates_the_old_lines_instead_of_adding_more(nav, tmp_path):
    first = write(tmp_path, "00_building.ipynb", notebook("00 · The building"))
    nav.update(tmp_path, "../README.md")
    write(tmp_path, "01_sidecar.ipynb", notebook("01 · The utility room"))

    nav.update(tmp_path, "../README.md")

    cells = sources(first)
    assert len(cells) == 3
    assert cells[0] == cells[-1] == "[contents](../README.md) | [01 · The utility room →](01_sidecar.ipynb)"


def test_check_mode_reports_stale_notebooks_and_leaves_them_alone(nav, tmp_path, capsys):
    path = write(tmp_path, "00_building.ipynb", notebook("00 · The building"))
    before = path.read_bytes()

    assert nav.main(["--check", "--folder", str(tmp_path)]) == 1
    assert "out of date: 00_building.ipynb" in capsys.readouterr().out
    assert path.read_bytes() == before


def test_the_course_notebooks_on_main_have_up_to_date_navigation(nav, capsys):
    assert nav.main(["--check"]) == 0, capsys.readouterr().out
