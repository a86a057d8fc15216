"""Settings for every test run, notebooks included (nbval runs them in kernels of their own).

Notebooks call `k8s_course.connect()`, which starts a background simulator; under test it
keeps its state in a temporary folder, runs its clock fast, and is stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

TEST_CLOCK_SPEED = "20"
_state_dir: str | None = None


def pytest_configure(config):
    global _state_dir
    if "K8S_COURSE_STATE_DIR" not in os.environ:
        _state_dir = tempfile.mkdtemp(prefix="k8s-course-test-state-")
        os.environ["K8S_COURSE_STATE_DIR"] = _state_dir
    os.environ.setdefault("K8S_COURSE_SPEED", TEST_CLOCK_SPEED)
    os.environ.setdefault("K8S_COURSE_BACKEND", "simulator")
    os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_unconfigure(config):
    if _state_dir is None:
        return
    from k8s_course.sim import daemon

    daemon.stop(Path(_state_dir))
    shutil.rmtree(_state_dir, ignore_errors=True)
