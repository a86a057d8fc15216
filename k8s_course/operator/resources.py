"""The objects a PostgresCluster owns, as plain dicts built from the custom resource: pure.

Names follow the chapter's contract: a cluster `pg` has members `pg-1`, `pg-2`, ... (a serial
that only grows), each one Pod and one PVC `pg-1-data`; Services `pg-rw` (the primary), `pg-ro`
(the replicas) and `pg-members` (headless: `pg-1.pg-members` is a member's DNS name); the
ConfigMap `pg-initdb`; the PodDisruptionBudget `pg`; the backup PVC `pg-backups` and one backup
Job per upgrade. Nothing here talks to the cluster.
"""

from __future__ import annotations

import re

GROUP = "k8s-course.dev"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "PostgresCluster"
PLURAL = "postgresclusters"

CLUSTER_LABEL = "k8s-course.dev/cluster"
MEMBER_LABEL = "k8s-course.dev/member"
ROLE_LABEL = "k8s-course.dev/role"
PART_OF = "app.kubernetes.io/part-of"
MANAGED_BY = "app.kubernetes.io/managed-by"
OPERATOR_NAME = "k8s-course-operator"
MANAGED_SELECTOR = f"{MANAGED_BY}={OPERATOR_NAME}"

PRIMARY, REPLICA, FENCED = "primary", "replica", "fenced"

# the operator's own memory, kept on the objects so that a restarted operator finds it again
CLONED_FROM = "k8s-course.dev/cloned-from"  # pod: the member it was cloned from ("initdb": bootstrapped)
CLONE_FAILED = "failed"  # ... or this: pg_basebackup failed, the member is replaced by a fresh one
UPGRADING_TO = "k8s-course.dev/upgrading-to"  # PVC: its pod is being recreated with this version
FINALIZER = "k8s-course.dev/cleanup"

PORT = 5432
CONTAINER = "postgres"
DATA_MOUNT = "/var/lib/postgresql/data"
PGDATA = f"{DATA_MOUNT}/pgdata"
INITDB_MOUNT = "/docker-entrypoint-initdb.d"
BACKUP_MOUNT = "/backups"
POSTGRES_UID = 999  # the image's postgres user: files made by `kubectl exec` belong to it too

REPLICATION_SCRIPT = """#!/bin/sh
# Run once by the image's entrypoint, after initdb, on the first member only:
# let the replicas stream from it (a course cluster: trust, said so in the text).
echo "host replication all all trust" >> "$PGDATA/pg_hba.conf"
"""


# names

def member_name(cluster: str, serial: int) -> str:
    return f"{cluster}-{serial}"


def serial_of(cluster: str, member: str) -> int | None:
    """The serial of `pg-3` in cluster `pg` (3), or None for a name that is not a member's."""
    match = re.fullmatch(re.escape(cluster) + r"-([1-9][0-9]*)", member)
    return int(match.group(1)) if match else None


def claim_name(member: str) -> str:
    return f"{member}-data"


def rw_service(cluster: str) -> str:
    return f"{cluster}-rw"


def ro_service(cluster: str) -> str:
    return f"{cluster}-ro"


def members_service(cluster: str) -> str:
    return f"{cluster}-members"


def initdb_configmap(cluster: str) -> str:
    return f"{cluster}-initdb"


def backups_claim(cluster: str) -> str:
    return f"{cluster}-backups"


def backup_job_name(cluster: str, version: str) -> str:
    return f"{cluster}-backup-{version.replace('.', '-')}"


def member_host(cluster: str, member: str) -> str:
    """A member's DNS name through the headless Service: the host replicas stream from."""
    return f"{member}.{members_service(cluster)}"


def image(version: str) -> str:
    return f"postgres:{version}"


def version_of_image(reference: str) -> str:
    """`postgres:16.6` -> `16.6` (what a member runs)."""
    return reference.rsplit(":", 1)[1] if ":" in reference.rsplit("/", 1)[-1] else "latest"


# metadata

def cluster_labels(cluster: str) -> dict:
    return {CLUSTER_LABEL: cluster, PART_OF: "k8s-course", MANAGED_BY: OPERATOR_NAME}


def member_labels(cluster: str, member: str, role: str) -> dict:
    return {**cluster_labels(cluster), MEMBER_LABEL: member, ROLE_LABEL: role}


def owner_reference(cr: dict) -> dict:
    meta = cr["metadata"]
    return {"apiVersion": API_VERSION, "kind": KIND, "name": meta["name"], "uid": meta["uid"],
            "controller": True, "blockOwnerDeletion": True}


def _metadata(cr: dict, name: str, labels: dict, owned: bool = True) -> dict:
    meta = {"name": name, "namespace": cr["metadata"]["namespace"], "labels": labels}
    if owned:
        meta["ownerReferences"] = [owner_reference(cr)]
    return meta


# bodies

def member_pod(cr: dict, member: str, role: str, version: str, bootstrap: bool,
               cloned_from: str | None = None) -> dict:
    """The member's Pod: the contract's spec, the same on kind and on the simulator.

    The first member bootstraps with initdb; every later one waits for the operator to clone
    its data directory, then starts as a standby (the clone leaves standby.signal behind).
    """
    cluster = cr["metadata"]["name"]
    server = f"docker-entrypoint.sh postgres -c cluster_name={member} -c wal_log_hints=on"
    if bootstrap:
        command = ["docker-entrypoint.sh", "postgres", "-c", f"cluster_name={member}", "-c", "wal_log_hints=on"]
    else:
        # PG_VERSION arrives first in a base backup and standby.signal last: a clone is complete
        # when both are there (a member that was promoted has neither backup_label nor signal)
        done = ('[ -s "$PGDATA/PG_VERSION" ] && '
                '{ [ -e "$PGDATA/standby.signal" ] || [ ! -e "$PGDATA/backup_label" ]; }')
        command = ["sh", "-c", f"until {done}; do sleep 1; done; exec {server}"]
    meta = _metadata(cr, member, member_labels(cluster, member, role))
    if cloned_from:
        meta["annotations"] = {CLONED_FROM: cloned_from}
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": meta,
        "spec": {
            "hostname": member,
            "subdomain": members_service(cluster),
            "securityContext": {"runAsUser": POSTGRES_UID, "runAsGroup": POSTGRES_UID, "fsGroup": POSTGRES_UID},
            # members on different floors where there are floors enough: one dark floor then takes
            # at most one copy of the data (a preference, so three members fit on two workers)
            "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
                "weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                                   "labelSelector": {"matchLabels": {CLUSTER_LABEL: cluster}}}}]}},
            "containers": [{
                "name": CONTAINER,
                "image": image(version),
                "command": command,
                "env": [{"name": "PGDATA", "value": PGDATA},
                        {"name": "POSTGRES_HOST_AUTH_METHOD", "value": "trust"}],
                "ports": [{"name": "postgres", "containerPort": PORT, "protocol": "TCP"}],
                "readinessProbe": {"exec": {"command": ["pg_isready", "-U", "postgres", "-h", "127.0.0.1"]},
                                   "periodSeconds": 2},
                "volumeMounts": [{"name": "data", "mountPath": DATA_MOUNT},
                                 {"name": "initdb", "mountPath": INITDB_MOUNT}],
            }],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim_name(member)}},
                        {"name": "initdb", "configMap": {"name": initdb_configmap(cluster)}}],
        },
    }


def member_claim(cr: dict, member: str, storage: str) -> dict:
    cluster = cr["metadata"]["name"]
    labels = {**cluster_labels(cluster), MEMBER_LABEL: member}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": _metadata(cr, claim_name(member), labels),
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}}


def services(cr: dict) -> list[dict]:
    """-rw follows the primary label, -ro the replicas; -members gives each pod its DNS name."""
    cluster = cr["metadata"]["name"]
    port = [{"name": "postgres", "port": PORT, "targetPort": PORT, "protocol": "TCP"}]
    selector = {CLUSTER_LABEL: cluster}
    return [
        {"apiVersion": "v1", "kind": "Service", "metadata": _metadata(cr, rw_service(cluster), cluster_labels(cluster)),
         "spec": {"selector": {**selector, ROLE_LABEL: PRIMARY}, "ports": port}},
        {"apiVersion": "v1", "kind": "Service", "metadata": _metadata(cr, ro_service(cluster), cluster_labels(cluster)),
         "spec": {"selector": {**selector, ROLE_LABEL: REPLICA}, "ports": port}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": _metadata(cr, members_service(cluster), cluster_labels(cluster)),
         "spec": {"clusterIP": "None", "selector": selector, "publishNotReadyAddresses": True, "ports": port}},
    ]


def initdb(cr: dict) -> dict:
    cluster = cr["metadata"]["name"]
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": _metadata(cr, initdb_configmap(cluster), cluster_labels(cluster)),
            "data": {"replication.sh": REPLICATION_SCRIPT}}


def disruption_budget(cr: dict) -> dict:
    """At most one member down at a time through evictions (a node drain), never two."""
    cluster = cr["metadata"]["name"]
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": _metadata(cr, cluster, cluster_labels(cluster)),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {CLUSTER_LABEL: cluster}}}}


def backup_claim(cr: dict, storage: str) -> dict:
    """Backups outlive the cluster: no ownerReference, so deleting the cluster keeps them."""
    cluster = cr["metadata"]["name"]
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": _metadata(cr, backups_claim(cluster), cluster_labels(cluster), owned=False),
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}}


def backup_job(cr: dict, from_version: str, to_version: str, command: list[str]) -> dict:
    """A Job that dumps the whole cluster (pg_dumpall from the primary) to the backup PVC."""
    cluster = cr["metadata"]["name"]
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": _metadata(cr, backup_job_name(cluster, to_version), cluster_labels(cluster)),
        "spec": {
            "backoffLimit": 2,
            "template": {
                "metadata": {"labels": cluster_labels(cluster)},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": {"runAsUser": POSTGRES_UID, "runAsGroup": POSTGRES_UID,
                                        "fsGroup": POSTGRES_UID},
                    "containers": [{"name": "backup", "image": image(from_version), "command": command,
                                    "volumeMounts": [{"name": "backups", "mountPath": BACKUP_MOUNT}]}],
                    "volumes": [{"name": "backups",
                                 "persistentVolumeClaim": {"claimName": backups_claim(cluster)}}],
                },
            },
        },
    }


def backup_path(cluster: str, from_version: str, to_version: str) -> str:
    return f"{BACKUP_MOUNT}/{cluster}-{from_version}-before-{to_version}.sql"
