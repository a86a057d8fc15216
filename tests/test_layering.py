"""The package's layering, checked: who may import whom (kopf's import-linter rule, by hand)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "k8s_course"


def imports_of(path: Path) -> set[str]:
    """Absolute module names a file imports (relative imports resolved)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module.removesuffix(".__init__")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def files_under(folder: str):
    return sorted((PACKAGE / folder).rglob("*.py"))


def test_the_simulator_never_imports_the_kubernetes_client_but_to_hand_one_out():
    offenders = {str(p.relative_to(PACKAGE)) for p in files_under("sim")
                 if any(name == "kubernetes" or name.startswith("kubernetes.") for name in imports_of(p))}
    assert offenders == {"sim/simulator.py"}  # Simulator.api_client(), for its callers


def test_the_simulator_does_not_import_the_learners_toolkit():
    for path in files_under("sim"):
        toolkit = {n for n in imports_of(path) if n.startswith("k8s_course.") and not n.startswith("k8s_course.sim")
                   and not n.startswith("k8s_course.workloads")}
        assert not toolkit, f"{path.relative_to(PACKAGE)} imports {toolkit}"


def test_views_and_controls_do_not_import_each_other():
    for folder, other in (("views", "k8s_course.controls"), ("controls", "k8s_course.views")):
        for path in files_under(folder):
            assert not any(n.startswith(other) for n in imports_of(path)), path


def test_pod_programs_use_the_standard_library_only():
    import sys

    from k8s_course.workloads import PROGRAMS

    allowed = set(sys.stdlib_module_names) | {"__future__"}
    for program in PROGRAMS:
        roots = {name.split(".")[0] for name in imports_of(PACKAGE / "workloads" / f"{program}.py")}
        assert roots <= allowed, f"{program}.py imports {roots - allowed}"
