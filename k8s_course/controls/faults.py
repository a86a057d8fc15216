"""Faults to play with: an apartment burns down (a pod is deleted), a floor goes dark (a node
goes offline). Kubernetes' answer to each is the lesson; these controls only cause them."""

from __future__ import annotations

import ipywidgets

from .scaling import say
from .toggling import FaultToggle


def _is_ready(pod: dict) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


class PodDeleteButton(ipywidgets.HBox):
    """'An apartment burns down; the manager rebuilds it': each click deletes one pod of the
    selection (a ready one first) and says which. `click()` returns the pod's name, or None."""

    def __init__(self, cluster, selector: str, namespace: str | None = None, **kwargs):
        self.cluster, self.selector, self.namespace = cluster, selector, namespace or ""
        self.button = ipywidgets.Button(description="🔥 burn down an apartment", button_style="danger",
                                        tooltip=f"delete one pod with {selector}",
                                        layout=ipywidgets.Layout(width="auto"))  # the whole label shows
        self.label = ipywidgets.Label("")
        self.deleted: list[str] = []
        self.button.on_click(lambda _button: self._burn())
        super().__init__([self.button, self.label], **kwargs)

    @property
    def message(self) -> str:
        return self.label.value

    def click(self) -> str | None:
        return self._burn()

    def _burn(self) -> str | None:
        try:
            pods = self.cluster.pods(self.selector, self.namespace)
            standing = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
            if not standing:
                say(self.label, False, f"no standing apartment (pod) matches {self.selector}: nothing to burn")
                return None
            victim = sorted(standing, key=lambda p: (not _is_ready(p), p["metadata"]["name"]))[0]
            name = victim["metadata"]["name"]
            self.cluster.delete("Pod", name, self.namespace)
        except Exception as error:  # shown next to the button, never raised at the learner
            say(self.label, False, f"could not delete a pod: {error}")
            return None
        self.deleted.append(name)
        say(self.label, True, f"apartment {name} burnt down (pod deleted): watch the manager build a new one")
        return name


class NodeOutageToggle(FaultToggle):
    """Take a floor offline and back: pressed (`value = True`) is offline."""

    def __init__(self, cluster, node: str, **kwargs):
        self.cluster, self.node = cluster, node
        super().__init__(f"floor {node}: online", "plug", **kwargs)

    def _cause(self) -> str:
        self.cluster.node_offline(self.node)
        return (f"floor {self.node} went dark (node offline): after 40 s Kubernetes marks it unreachable, "
                "and 300 s later it moves its apartments")

    def _undo(self) -> str:
        self.cluster.node_online(self.node)
        return f"floor {self.node} is back online (node Ready again)"

    def _failure(self, offline: bool, problem: str) -> str:
        return f"could not take floor {self.node} {'offline' if offline else 'online'}: {problem}"

    def _looks(self, offline: bool) -> tuple[str, str]:
        return f"floor {self.node}: {'OFFLINE' if offline else 'online'}", "danger" if offline else "success"
