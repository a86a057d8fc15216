"""The steps a reconcile may take, as plain values: what planning decides and acting performs.

Each action says, in `reason` and `message`, what it does: the operator records one Event per
action with exactly those words, so `kubectl describe pgc pg` tells the cluster's story.
`status` is what the action, once done, adds to the resource's status (e.g. the new primary).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Action:
    reason = "Action"
    warning = False  # the Event's type: Warning instead of Normal

    @property
    def message(self) -> str:
        return self.reason

    @property
    def status(self) -> dict:
        return {}


@dataclass(frozen=True)
class AddFinalizer(Action):
    reason = "FinalizerAdded"

    @property
    def message(self) -> str:
        return "added the cleanup finalizer: deleting the cluster removes its members first"


@dataclass(frozen=True)
class RemoveFinalizer(Action):
    reason = "CleanedUp"

    @property
    def message(self) -> str:
        return "every member is removed; the cluster can go (its backups stay)"


@dataclass(frozen=True)
class CreateObject(Action):
    """An object the cluster needs (Service, ConfigMap, PDB, backup PVC or Job), made if missing."""

    body: dict = field(hash=False)
    reason = "Created"

    @property
    def message(self) -> str:
        return f"created {self.body['kind']} {self.body['metadata']['name']}"


@dataclass(frozen=True)
class CreateMember(Action):
    member: str
    role: str
    version: str
    bootstrap: bool  # the first member runs initdb; every later one waits to be cloned
    serial: int
    reason = "MemberCreated"

    @property
    def message(self) -> str:
        how = "bootstraps with initdb" if self.bootstrap else "waits to be cloned"
        return f"created member {self.member} (pod and PVC {self.member}-data, postgres {self.version}): it {how}"

    @property
    def status(self) -> dict:
        return {"lastSerial": self.serial}


@dataclass(frozen=True)
class RecreatePod(Action):
    """The member's pod again, on the PVC it kept (an upgrade, or a lone primary's restart)."""

    member: str
    role: str
    version: str
    bootstrap: bool
    cloned_from: str | None
    reason = "MemberRecreated"

    @property
    def message(self) -> str:
        return f"recreated pod {self.member} on its PVC with postgres {self.version}"


@dataclass(frozen=True)
class RemoveMember(Action):
    member: str
    why: str
    reason = "MemberRemoved"

    @property
    def message(self) -> str:
        return f"removed member {self.member} (pod and PVC): {self.why}"


@dataclass(frozen=True)
class RestartWithVersion(Action):
    """Rolling upgrade of one member: mark its PVC, delete its pod; it comes back on the new image."""

    member: str
    version: str
    reason = "UpgradingMember"

    @property
    def message(self) -> str:
        return f"upgrading {self.member} to postgres {self.version}: its pod is recreated on the same PVC"


@dataclass(frozen=True)
class FinishUpgrade(Action):
    member: str
    version: str
    reason = "MemberUpgraded"

    @property
    def message(self) -> str:
        return f"{self.member} runs postgres {self.version} and streams again"


@dataclass(frozen=True)
class DeletePod(Action):
    member: str
    why: str
    reason = "PodDeleted"

    @property
    def message(self) -> str:
        return f"deleted pod {self.member}: {self.why}"


@dataclass(frozen=True)
class Clone(Action):
    member: str
    source: str
    host: str
    reason = "Cloned"

    @property
    def message(self) -> str:
        return f"cloned {self.member} from {self.source} (pg_basebackup from {self.host}); it starts as a standby"


@dataclass(frozen=True)
class Fence(Action):
    member: str
    why: str
    reason = "Fenced"
    warning = True

    @property
    def message(self) -> str:
        return f"fenced {self.member} (role: fenced, out of the -rw Service): {self.why}"


@dataclass(frozen=True)
class Promote(Action):
    member: str
    former: str
    reason = "Promoting"

    @property
    def message(self) -> str:
        return f"promoting {self.member} (the most advanced replica) in place of {self.former}"


@dataclass(frozen=True)
class Relabel(Action):
    member: str
    role: str
    service: str
    reason = "PrimaryChanged"

    @property
    def message(self) -> str:
        return f"{self.member} is the primary now: {self.service} follows its label"

    @property
    def status(self) -> dict:
        return {"primary": self.member}


@dataclass(frozen=True)
class Follow(Action):
    member: str
    primary: str
    host: str
    reason = "Following"

    @property
    def message(self) -> str:
        return f"{self.member} streams from {self.primary} now (primary_conninfo host={self.host})"


@dataclass(frozen=True)
class SetSynchronous(Action):
    primary: str
    names: tuple[str, ...]
    reason = "SynchronousStandbys"

    @property
    def message(self) -> str:
        if not self.names:
            return f"{self.primary} commits asynchronously (synchronous_standby_names reset)"
        listed = ", ".join(f'"{name}"' for name in self.names)
        return f"{self.primary} waits for one of its standbys on commit: synchronous_standby_names = ANY 1 ({listed})"

    @property
    def status(self) -> dict:
        return {"synchronousStandbys": list(self.names), "synchronousOn": self.primary}


@dataclass(frozen=True)
class RecordFailover(Action):
    former: str
    primary: str
    why: str
    detected_at: float  # unix seconds: when the operator first saw the primary fail
    reason = "FailoverCompleted"

    @property
    def message(self) -> str:
        return f"failover from {self.former} to {self.primary} complete ({self.why})"


@dataclass(frozen=True)
class Notice(Action):
    """Nothing to change, but something to say (an Event only): a failure seen, a wait."""

    notice_reason: str
    text: str
    is_warning: bool = True

    @property
    def reason(self) -> str:  # type: ignore[override]
        return self.notice_reason

    @property
    def warning(self) -> bool:  # type: ignore[override]
        return self.is_warning

    @property
    def message(self) -> str:
        return self.text
