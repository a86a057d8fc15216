"""Every untouched student notebook runs to the end and its check fails with the first hint."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from k8s_course import labs

LABS_DIR = Path(__file__).resolve().parents[2] / "labs"
FOLDERS = {path.parent.name: path for path in sorted(LABS_DIR.glob("*/student.ipynb"))}


def _lab_of(notebook) -> labs.Lab:
    setup = next(c.source for c in notebook.cells if c.cell_type == "code" and "labs.start(" in c.source)
    name = setup.split('labs.start("', 1)[1].split('"', 1)[0]
    return labs.get(name)


def _text(cell) -> str:
    """What the cell's value showed as text (not the progress bars printed on the way)."""
    return "".join((o.get("data") or {}).get("text/plain", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "execute_result")


def test_every_lab_has_a_student_and_a_solution_notebook():
    assert len(FOLDERS) == len(labs.LABS) >= 4
    for folder in FOLDERS.values():
        assert (folder.parent / "solution.ipynb").exists()


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_untouched_student_notebook_fails_its_check_with_the_first_hint(folder):
    notebook = nbformat.read(FOLDERS[folder], as_version=4)
    lab = _lab_of(notebook)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(FOLDERS[folder].parent)}}).execute()
    check_cell = next(c for c in notebook.cells if c.cell_type == "code" and c.source.strip() == "lab.check()")
    shown = _text(check_cell)
    first_step = lab.steps[0].title
    assert f"✘ 1. {first_step}" in shown, shown
    assert "Hint 1 of 3: " in shown, shown
    hint_cell = next(c for c in notebook.cells if c.cell_type == "code" and c.source.strip() == "lab.hint()")
    assert _text(hint_cell).startswith("Hint 2 of 3 for step 1: ")
