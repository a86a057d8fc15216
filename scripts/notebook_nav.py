"""Write the navigation line (previous | contents | next) at the top and bottom of every notebook.

    python scripts/notebook_nav.py            # update notebooks/*.ipynb in place
    python scripts/notebook_nav.py --check    # exit 1 if any notebook's navigation is out of date

The line is a markdown cell of its own, tagged `navigation`, first and last in the notebook. A
notebook's place comes from its numbered file name (`00_...`, `01_...`), its title from its first
`# ` heading, and "contents" is the repository's README. Running the script again changes
nothing: a notebook file is rewritten only when its navigation cells differ from what they should be.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
NAV_TAG = "navigation"
CONTENTS = "README.md"


def title_of(notebook: dict, fallback: str) -> str:
    """The text of the notebook's first level-one heading, else `fallback`."""
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "markdown" or is_nav(cell):
            continue
        for line in _source(cell).splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return fallback


def nav_line(previous: tuple[str, str] | None, contents: str, following: tuple[str, str] | None) -> str:
    """`[← title](file) | [contents](../README.md) | [title →](file)`; each neighbour as (file, title)."""
    parts = []
    if previous:
        parts.append(f"[← {previous[1]}]({previous[0]})")
    parts.append(f"[contents]({contents})")
    if following:
        parts.append(f"[{following[1]} →]({following[0]})")
    return " | ".join(parts)


def is_nav(cell: dict) -> bool:
    return NAV_TAG in (cell.get("metadata") or {}).get("tags", [])


def nav_cell(text: str, cell_id: str | None) -> dict:
    cell = {"cell_type": "markdown", "metadata": {"tags": [NAV_TAG]}, "source": text}
    if cell_id:  # cell ids exist from nbformat 4.5 on; fixed ones keep reruns byte-identical
        cell["id"] = cell_id
    return cell


def has_navigation(notebook: dict, text: str) -> bool:
    """True when the first and the last cell, and no other, are navigation cells saying `text`
    (Jupyter may store the text as a list of lines: that is the same text)."""
    cells = notebook.get("cells", [])
    navs = [index for index, cell in enumerate(cells) if is_nav(cell)]
    return (len(cells) >= 2 and navs == [0, len(cells) - 1]
            and all(cells[i].get("cell_type") == "markdown" and _source(cells[i]) == text for i in navs))


def with_navigation(notebook: dict, text: str) -> dict:
    """The notebook with exactly one navigation cell first and one last, both saying `text`."""
    if has_navigation(notebook, text):
        return notebook
    with_ids = (notebook.get("nbformat", 4), notebook.get("nbformat_minor", 0)) >= (4, 5)
    body = [cell for cell in notebook.get("cells", []) if not is_nav(cell)]
    updated = dict(notebook)
    updated["cells"] = [nav_cell(text, "nav-top" if with_ids else None), *body,
                        nav_cell(text, "nav-bottom" if with_ids else None)]
    return updated


def plan(folder: Path, contents: str) -> dict[Path, str]:
    """Each notebook in `folder` (in name order) and the navigation line it should carry."""
    paths = sorted(folder.glob("*.ipynb"))
    notebooks = {path: json.loads(path.read_text(encoding="utf-8")) for path in paths}
    titles = [(path.name, title_of(notebooks[path], path.stem)) for path in paths]
    lines = {}
    for index, path in enumerate(paths):
        previous = titles[index - 1] if index > 0 else None
        following = titles[index + 1] if index + 1 < len(paths) else None
        lines[path] = nav_line(previous, contents, following)
    return lines


def write_json(notebook: dict) -> str:
    """Jupyter's own layout (one-space indent, keys sorted, a final newline), so that files
    saved by Jupyter and by this script do not differ in whitespace."""
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def update(folder: Path, contents: str, check_only: bool = False) -> list[Path]:
    """Bring every notebook's navigation up to date; returns the notebooks that changed (or,
    with `check_only`, would change)."""
    changed = []
    for path, text in plan(folder, contents).items():
        notebook = json.loads(path.read_text(encoding="utf-8"))
        updated = with_navigation(notebook, text)
        if updated is notebook:
            continue
        changed.append(path)
        if not check_only:
            path.write_text(write_json(updated), encoding="utf-8")
    return changed


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook is out of date")
    parser.add_argument("--folder", type=Path, default=REPO_ROOT / "notebooks")
    args = parser.parse_args(argv)
    contents = Path(os.path.relpath(REPO_ROOT / CONTENTS, args.folder.resolve())).as_posix()
    changed = update(args.folder, contents, check_only=args.check)
    for path in changed:
        print(f"{'out of date' if args.check else 'updated'}: {path.name}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
