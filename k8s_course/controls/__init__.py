"""Controls: widgets a learner plays with to change the cluster and watch it answer.

Each control is a small ipywidgets box (the control and a line of text saying what happened)
that calls one `Cluster` method. They can be driven from code as well as by hand
(`slider.value = 6`, `button.click()`, `toggle.value = True`), which is how notebooks run
headless and how the tests drive them. A control never raises at the learner: what went wrong
is written next to it. Controls change the cluster; pictures of it are `k8s_course.views`'
business, and neither package imports the other.
"""

from __future__ import annotations

from .faults import NodeOutageToggle, PodDeleteButton
from .primary import KillPrimaryButton, PrimaryFloorToggle, VersionPicker
from .scaling import ScaleSlider
from .shards import ShardOutageToggle

__all__ = ["KillPrimaryButton", "NodeOutageToggle", "PodDeleteButton", "PrimaryFloorToggle", "ScaleSlider",
           "ShardOutageToggle", "VersionPicker"]
