"""One reconcile's decision: from what is observed to the list of actions to take: pure.

Level-triggered: `plan(seen)` looks only at the cluster as it is now (the resource, its pods
and PVCs, what each database answered, the primary's replication, the health checks), never
at what happened before, so running it again after any step, or after a crash of the
operator, carries on correctly. The order of concerns:

1. deletion (the finalizer's clean-up) and the finalizer itself;
2. a spec the operator cannot act on: reported, nothing else done;
3. the objects every cluster needs (ConfigMap, Services, PDB);
4. bootstrap: no member at all -> the first one, which runs initdb;
5. failover, when the recorded primary has failed (see `failover`);
6. members that are gone or fenced -> removed (pod and PVC), to be replaced by fresh clones;
7. new members cloned from the primary, scale up and down (never the primary, highest serial
   first), synchronous_standby_names kept equal to the streaming replicas;
8. a rolling upgrade when spec.version changed and the cluster is healthy (see `upgrading`).
"""

from __future__ import annotations

from collections.abc import Callable

from . import actions, failover, resources, specs, upgrading
from .members import Member, Observed


def default_backup_command(host: str, path: str) -> list[str]:
    """The contract's backup argv; the database module's `backup_command` is preferred."""
    return ["pg_dumpall", "-U", "postgres", "-h", host, "-f", path]


def plan(seen: Observed, backup_command: Callable[[str, str], list[str]] = default_backup_command
         ) -> list[actions.Action]:
    cr = seen.cr
    meta = cr["metadata"]
    if meta.get("deletionTimestamp"):
        return _clean_up(seen)
    steps: list[actions.Action] = []
    if resources.FINALIZER not in (meta.get("finalizers") or []):
        steps.append(actions.AddFinalizer())
    spec = specs.read(cr)  # raises specs.Malformed: the caller reports it
    steps += _scaffolding(seen)
    if not any(m.pod is not None or m.has_claim for m in seen.members.values()):
        return steps + [actions.CreateMember(resources.member_name(spec.name, next_serial(seen)),
                                             resources.PRIMARY, spec.version, bootstrap=True,
                                             serial=next_serial(seen))]
    why = failover.primary_failure(seen)
    if why is not None:
        return steps + failover.plan(seen, why, spec.synchronous)
    primary = current_primary(seen)
    if primary is None:
        return steps + _bootstrapping(seen, spec)
    steps += _removals(seen, primary)
    if any(isinstance(step, actions.RemoveMember) for step in steps):
        return steps  # the next reconcile sees them gone, and replaces them
    steps += _clones(seen, primary)
    steps += _scaling(seen, spec, primary)
    if any(isinstance(step, (actions.Clone, actions.CreateMember, actions.RemoveMember)) for step in steps):
        return steps
    if upgrading.needed(seen, spec.version) and _healthy(seen, spec, primary):
        steps += upgrading.plan(seen, spec.version, primary, spec.storage, backup_command)
    return steps


def next_serial(seen: Observed) -> int:
    """Serials only grow: past the highest seen on any pod or PVC and the one recorded."""
    highest = max([m.serial for m in seen.members.values()] + [seen.status.get("lastSerial") or 0])
    return highest + 1


def current_primary(seen: Observed) -> Member | None:
    """The recorded primary while it serves, or (bootstrap) the labelled one once it answers."""
    recorded = seen.status.get("primary")
    if recorded:
        return seen.members.get(recorded)
    for member in seen.members.values():
        if member.role == resources.PRIMARY and not member.gone and member.db is not None \
                and not member.db.in_recovery:
            return member
    return None


def desired_synchronous(seen: Observed, primary: Member, removed: set[str], synchronous: bool) -> tuple[str, ...]:
    """Names the primary should wait for: live cloned replicas that stream, or that it waits for
    already (a standby reconnecting stays listed: ANY 1 needs only one of them)."""
    if not synchronous:
        return ()
    listed = set(seen.status.get("synchronousStandbys") or [])
    streaming = seen.streaming()

    def waited_for(m: Member) -> bool:
        if m.name == primary.name or m.name in removed or not (m.name in streaming or m.name in listed):
            return False
        if m.upgrading_to:  # its pod is being recreated: it will be back
            return True
        return m.role == resources.REPLICA and m.cloned and not m.gone

    candidates = [m for m in seen.live() if waited_for(m)]
    # A commit waits for one of these. If one of them shares the primary's floor (node), a dark
    # floor could take the primary and the only copy of its last commits at once; so when some
    # replicas live on other floors, only those are waited for (zone-aware synchronous replication).
    elsewhere = [m for m in candidates if _node(m) and _node(m) != _node(primary)]
    return tuple(sorted(m.name for m in (elsewhere or candidates)))


def _node(member: Member) -> str | None:
    return ((member.pod or {}).get("spec") or {}).get("nodeName")


def _clean_up(seen: Observed) -> list[actions.Action]:
    """Replicas first (highest serial first), the primary last; then the finalizer goes."""
    if resources.FINALIZER not in (seen.cr["metadata"].get("finalizers") or []):
        return []
    primary = seen.status.get("primary")
    order = sorted(seen.members.values(), key=lambda m: (m.name == primary, -m.serial))
    steps: list[actions.Action] = [actions.RemoveMember(m.name, "the cluster is being deleted")
                                   for m in order if m.pod is not None or m.has_claim]
    return steps + [actions.RemoveFinalizer()]


def _scaffolding(seen: Observed) -> list[actions.Action]:
    cr = seen.cr
    wanted = [resources.initdb(cr), *resources.services(cr), resources.disruption_budget(cr)]
    return [actions.CreateObject(body) for body in wanted
            if f"{body['kind']}/{body['metadata']['name']}" not in seen.existing]


def _bootstrapping(seen: Observed, spec: specs.ClusterSpec) -> list[actions.Action]:
    """Before the first primary answers: only its own pod matters (initdb runs once)."""
    first = min(seen.members.values(), key=lambda m: m.serial)
    if first.pod is None and first.has_claim:
        return [actions.RecreatePod(first.name, resources.PRIMARY, spec.version, bootstrap=True,
                                    cloned_from="initdb")]
    if first.gone and not first.deleting:
        return [actions.DeletePod(first.name, "it stopped before the cluster was bootstrapped")]
    return []


def _removals(seen: Observed, primary: Member) -> list[actions.Action]:
    """Members that cannot serve again as they are: their data may have diverged (an old
    primary) or be half-copied, so they go, pod and PVC, and fresh clones replace them."""
    steps: list[actions.Action] = []
    for member in sorted(seen.members.values(), key=lambda m: m.serial):
        if member.name == primary.name:
            continue
        if member.role == resources.FENCED and not member.deleting:
            former = (seen.status.get("failingOver"), (seen.status.get("lastFailover") or {}).get("from"))
            missed = member.name not in former and (member.db is None or member.db.in_recovery)
            why = ("it missed a failover: re-cloned from the new primary" if missed
                   else "a former primary is never trusted again: re-cloned")
            steps.append(actions.RemoveMember(member.name, why))
        elif member.cloned_from == resources.CLONE_FAILED and not member.deleting:
            steps.append(actions.RemoveMember(member.name, "its clone failed: a fresh member replaces it"))
        elif member.pod is None and member.has_claim and not member.upgrading_to:
            steps.append(actions.RemoveMember(member.name, "its pod is gone: a fresh clone replaces it"))
        elif member.pod is not None and member.gone and not member.deleting:
            steps.append(actions.RemoveMember(member.name, "its pod has stopped: a fresh clone replaces it"))
    return steps


def _clones(seen: Observed, primary: Member) -> list[actions.Action]:
    if primary.db is None:
        return []  # clone only from a primary that answers
    host = resources.member_host(seen.name, primary.name)
    return [actions.Clone(m.name, primary.name, host) for m in seen.live()
            if m.role == resources.REPLICA and m.running and not m.cloned_from and not m.upgrading_to]


def _scaling(seen: Observed, spec: specs.ClusterSpec, primary: Member) -> list[actions.Action]:
    live = seen.live()
    steps: list[actions.Action] = []
    if len(live) < spec.replicas:
        first = next_serial(seen)
        for serial in range(first, first + spec.replicas - len(live)):
            steps.append(actions.CreateMember(resources.member_name(spec.name, serial), resources.REPLICA,
                                              spec.version, bootstrap=False, serial=serial))
    removed: set[str] = set()
    if len(live) > spec.replicas:
        doomed = sorted((m for m in live if m.name != primary.name), key=lambda m: -m.serial)
        removed = {m.name for m in doomed[:len(live) - spec.replicas]}
    names = desired_synchronous(seen, primary, removed, spec.synchronous)
    if primary.db is not None and (list(names) != list(seen.status.get("synchronousStandbys") or [])
                                   or seen.status.get("synchronousOn") != primary.name):
        steps.append(actions.SetSynchronous(primary.name, names))
    steps += [actions.RemoveMember(name, f"scaled down to {spec.replicas}")
              for name in sorted(removed, key=lambda n: -resources.serial_of(spec.name, n))]
    return steps


def _healthy(seen: Observed, spec: specs.ClusterSpec, primary: Member) -> bool:
    """Every member there, serving, and every replica streaming: only then may an upgrade step."""
    live = seen.live()
    streaming = seen.streaming()
    return len(live) == spec.replicas and primary.ready and all(
        m.name == primary.name or m.name in streaming or m.upgrading_to for m in live)
