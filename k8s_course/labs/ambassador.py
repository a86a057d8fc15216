"""Lab: put an ambassador in front of the sharded store (chapter 2).

The start: three redis shards (a StatefulSet behind a headless Service), the ambassador's
program in a ConfigMap, and a pod `shop` whose app talks to localhost:6379, where nobody
listens. The learner gives the pod an ambassador; the check then writes keys through it and
finds them spread over the shards.
"""

from __future__ import annotations

from importlib.resources import files

from ..errors import CourseError
from ..workloads import program_source
from .lab import Lab, Step, failed, passed, settle

SHARDS = "redis-0.redis:6379,redis-1.redis:6379,redis-2.redis:6379"
PROBE_KEYS = 30


def shop_pod() -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "shop", "labels": {"app": "shop"}},
            "spec": {"containers": [{"name": "app", "image": "redis:7", "command": ["sleep", "infinity"]}]}}


def prepare(cluster) -> None:
    cluster.apply((files("k8s_course") / "manifests" / "02-redis.yaml").read_text())
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ambassador"},
                   "data": {"ambassador.py": program_source("ambassador")}})
    if cluster.find("Pod", "shop") is None:
        cluster.apply(shop_pod())


def _ambassador(pod: dict) -> dict | None:
    spec = pod.get("spec") or {}
    for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        if any("ambassador.py" in part for part in (container.get("command") or []) + (container.get("args") or [])):
            return container
    return None


def pod_has_ambassador(cluster):
    pod = cluster.find("Pod", "shop")
    if pod is None:
        raise failed("ambassador", "there is no pod `shop`",
                     "Did you delete it to recreate it? Apply your new version of it.",
                     "A pod's containers cannot be changed in place: delete the pod, then apply it with "
                     "the ambassador added.",
                     "Start from shop_pod() in k8s_course/labs/ambassador.py and add the ambassador "
                     "init container of k8s_course/manifests/02-app.yaml.")
    container = _ambassador(pod)
    if container is None:
        raise failed("ambassador", "the shop pod has no container running ambassador.py",
                     "The app talks to localhost:6379: something in the same pod must listen there.",
                     "Add a native sidecar (an init container with restartPolicy: Always) running "
                     "`python /app/ambassador.py` with the `ambassador` ConfigMap mounted at /app. Pods "
                     "cannot gain containers in place: delete shop and apply it again.",
                     "Copy the `ambassador` init container and the `ambassador-program` volume of "
                     "k8s_course/manifests/02-app.yaml into the shop pod.")
    shards = {e.get("name"): e.get("value", "") for e in container.get("env") or []}.get("SHARDS", "")
    if len([s for s in shards.split(",") if s.strip()]) != 3:
        raise failed("ambassador", f"the ambassador knows {shards or 'no'} shards, not the three redis pods",
                     "The ambassador reads its shards from the SHARDS environment variable.",
                     "Each shard has a stable name through the headless Service: redis-0.redis:6379 ...",
                     f"env: [{{name: SHARDS, value: \"{SHARDS}\"}}]")
    return passed("ambassador", f"container {container['name']} runs the ambassador over 3 shards")


def _cli(cluster, command: str) -> str:
    return cluster.exec("shop", f"redis-cli -h 127.0.0.1 -p 6379 {command}", container="app").strip()


def app_reaches_store(cluster):
    def answered():
        try:
            return _cli(cluster, "SET lab:probe ok") == "OK" and _cli(cluster, "GET lab:probe") == "ok"
        except CourseError:
            return False

    if settle(cluster, answered, 60, "the app's localhost:6379 to answer"):
        return passed("localhost", "the app's SET and GET on localhost:6379 go through")
    raise failed("localhost", "redis-cli in the app container gets no answer on localhost:6379",
                 "Is the shop pod Running with both containers? cluster.pods('app=shop').",
                 "The ambassador listens where LISTEN says (default 127.0.0.1:6379) and logs its shards: "
                 "cluster.logs('shop', container=<ambassador>).",
                 "The ambassador needs the program at /app/ambassador.py: mount the `ambassador` ConfigMap there.")


def keys_spread(cluster):
    for number in range(PROBE_KEYS):
        _cli(cluster, f"SET lab:key:{number} {number}")
    sizes = {}
    for shard in ("redis-0", "redis-1", "redis-2"):
        answer = cluster.exec(shard, "redis-cli KEYS 'lab:key:*'", container="redis")
        sizes[shard] = len([line for line in answer.splitlines() if line.strip()])
    if sum(sizes.values()) == PROBE_KEYS and sum(1 for n in sizes.values() if n) >= 2:
        shown = ", ".join(f"{shard} {n}" for shard, n in sizes.items())
        return passed("spread", f"{PROBE_KEYS} keys written through the ambassador landed as: {shown}")
    raise failed("spread", f"the {PROBE_KEYS} keys landed as {sizes}",
                 "Every key should be on exactly one shard, and the shards should share them.",
                 "Check SHARDS: three different redis pods.",
                 f"SHARDS={SHARDS}")


LAB = Lab(
    name="ambassador",
    title="Put an ambassador in front of a sharded store",
    chapter="02_ambassador.ipynb",
    minutes=20,
    summary="give an app pod an ambassador sidecar so localhost:6379 reaches three shards",
    prepare=prepare,
    steps=(Step("the shop pod has an ambassador", pod_has_ambassador),
           Step("the app reaches the store on localhost", app_reaches_store),
           Step("keys are spread over the shards", keys_spread)),
)
