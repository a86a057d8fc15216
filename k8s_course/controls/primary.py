"""Chapter 3's buttons: break the database's primary, or take its floor away, and upgrade it.

They act on a PostgresCluster's members through the labels its operator keeps
(`k8s-course.dev/cluster`, `k8s-course.dev/role`), so they always find *today's* primary, which
after a failover is another pod than yesterday's. What happens next is the operator's doing.
"""

from __future__ import annotations

import ipywidgets

from .scaling import say
from .toggling import FaultToggle

CLUSTER_LABEL = "k8s-course.dev/cluster"
ROLE_LABEL = "k8s-course.dev/role"


def primary_of(cluster, name: str, namespace: str | None = None) -> dict | None:
    """The pod labelled primary of PostgresCluster `name` (not one being deleted), or None."""
    pods = cluster.pods(f"{CLUSTER_LABEL}={name},{ROLE_LABEL}=primary", namespace or "")
    standing = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    return standing[0] if standing else None


class KillPrimaryButton(ipywidgets.HBox):
    """Delete the primary's pod at once (grace period 0: the database gets no time to hand over
    what it has not sent yet, as when a process is killed). `click()` returns the pod's name."""

    def __init__(self, cluster, name: str, namespace: str | None = None, **kwargs):
        self.cluster, self.name, self.namespace = cluster, name, namespace
        self.button = ipywidgets.Button(description="💥 kill the primary", button_style="danger",
                                        layout=ipywidgets.Layout(width="auto"))
        self.label = ipywidgets.Label("")
        self.killed: list[str] = []
        self.button.on_click(lambda _button: self.click())
        super().__init__([self.button, self.label], **kwargs)

    @property
    def message(self) -> str:
        return self.label.value

    def click(self) -> str | None:
        try:
            primary = primary_of(self.cluster, self.name, self.namespace)
            if primary is None:
                say(self.label, False, f"{self.name} has no primary right now (a failover may be under way)")
                return None
            pod = primary["metadata"]["name"]
            self.cluster.delete("Pod", pod, self.namespace or "", grace_period=0)
        except Exception as error:  # shown next to the button, never raised at the learner
            say(self.label, False, f"could not kill the primary: {error}")
            return None
        self.killed.append(pod)
        say(self.label, True, f"primary {pod} killed: watch the operator promote a replica")
        return pod


class PrimaryFloorToggle(FaultToggle):
    """Take the floor (node) of today's primary offline, and back. `value = True`: offline."""

    def __init__(self, cluster, name: str, namespace: str | None = None, **kwargs):
        self.cluster, self.name, self.namespace = cluster, name, namespace
        self.node: str | None = None
        super().__init__("take the primary's floor offline", "plug", style="warning", **kwargs)

    def _cause(self) -> str:
        primary = primary_of(self.cluster, self.name, self.namespace)
        if primary is None or not primary["spec"].get("nodeName"):
            raise RuntimeError(f"{self.name} has no primary on a floor right now")
        self.node = primary["spec"]["nodeName"]
        self.cluster.node_offline(self.node)
        return f"floor {self.node} went dark with primary {primary['metadata']['name']} on it"

    def _undo(self) -> str:
        self.cluster.node_online(self.node)
        return f"floor {self.node} is back: the operator re-clones its old primary"

    def _failure(self, offline: bool, problem: str) -> str:
        return f"could not change the floor: {problem}"

    def _looks(self, offline: bool) -> tuple[str, None]:
        return (f"floor {self.node}: OFFLINE (bring it back)" if offline else "take the primary's floor offline"), None


class VersionPicker(ipywidgets.HBox):
    """Choose a PostgreSQL version for the cluster and press Upgrade: patches `spec.version`."""

    def __init__(self, cluster, name: str, versions: list[str], namespace: str | None = None, **kwargs):
        self.cluster, self.name, self.namespace = cluster, name, namespace
        current = ((cluster.find("PostgresCluster", name, namespace or "") or {}).get("spec") or {}).get("version")
        self.dropdown = ipywidgets.Dropdown(options=versions, value=current if current in versions else versions[0],
                                           description="version")
        self.button = ipywidgets.Button(description="upgrade", button_style="primary")
        self.label = ipywidgets.Label("")
        self.button.on_click(lambda _button: self.upgrade())
        super().__init__([self.dropdown, self.button, self.label], **kwargs)

    @property
    def message(self) -> str:
        return self.label.value

    def upgrade(self, version: str | None = None) -> bool:
        if version is not None:
            if version not in self.dropdown.options:
                say(self.label, False, f"{version!r} is not offered: choose one of {', '.join(self.dropdown.options)}")
                return False
            self.dropdown.value = version
        try:
            self.cluster.patch("PostgresCluster", self.name, {"spec": {"version": self.dropdown.value}},
                               self.namespace or "")
        except Exception as error:
            say(self.label, False, f"could not ask for version {self.dropdown.value}: {error}")
            return False
        say(self.label, True, f"asked for version {self.dropdown.value}: the operator backs up, then rolls the members")
        return True
