"""Lab: write a small operator (chapter 3).

The start: a CustomResourceDefinition for a new kind, `Website` (spec.replicas, spec.message),
and one Website `demo`. The learner writes `reconcile(cluster, website)`, which
`operator_kit.run` calls for every Website every two seconds: each Website must get a
Deployment of nginx named like it and a ConfigMap `<name>-content` with the page, both owned
by the Website. The check tries the learner's running operator on the live cluster: it changes
demo, deletes demo's Deployment by hand, and makes a Website of its own, and waits for the
operator to catch up each time.

Steps 3 and 4 change things, so an instructor's overview (`check(wait=False)`, which must not
touch a learner's objects) does not run them: it reports what the learner's last full check
found, which that check writes on the Website demo as annotations.
"""

from __future__ import annotations

import uuid

from .lab import Lab, Step, failed, passed, settle, waiting
from .operator_kit import API_VERSION, GROUP, KIND

DEMO = "demo"
START = {"replicas": 2, "message": "hello"}  # what demo asks for; step 3 changes it and puts it back
CHANGED = {"replicas": 3, "message": "hello again"}
IMAGE = "nginx:1.27"
HTML_DIR = "/usr/share/nginx/html"
CONVERGE = 30  # seconds: many rounds of the learner's runner, on a slow cluster too
PASSED = f"{GROUP}/passed"  # annotation prefix: which active steps the last full check passed


def website_crd() -> dict:
    spec_schema = {"type": "object", "required": ["message"],
                   "properties": {"replicas": {"type": "integer", "minimum": 1, "maximum": 5, "default": 1},
                                  "message": {"type": "string"}}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"websites.{GROUP}"},
        "spec": {"group": GROUP, "scope": "Namespaced",
                 "names": {"plural": "websites", "singular": "website", "kind": KIND, "listKind": "WebsiteList"},
                 "versions": [{
                     "name": "v1", "served": True, "storage": True,
                     "schema": {"openAPIV3Schema": {
                         "type": "object", "required": ["spec"],
                         "properties": {"spec": spec_schema,
                                        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}},
                     "subresources": {"status": {}},
                     "additionalPrinterColumns": [
                         {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                         {"name": "Message", "type": "string", "jsonPath": ".spec.message"}]}]},
    }


def website_role() -> dict:
    """Websites for whoever may edit a namespace: Kubernetes' `admin` and `edit` roles take in
    every ClusterRole labelled to aggregate into them (the learners' role in a class)."""
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": f"{GROUP}-websites",
                         "labels": {"rbac.authorization.k8s.io/aggregate-to-admin": "true",
                                    "rbac.authorization.k8s.io/aggregate-to-edit": "true"}},
            "rules": [{"apiGroups": [GROUP], "resources": ["websites", "websites/status", "websites/finalizers"],
                       "verbs": ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]}]}


def website(name: str, spec: dict) -> dict:
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": name}, "spec": dict(spec)}


def prepare(cluster) -> None:
    # The CRD is cluster-wide: install it only where the API does not serve Websites yet, so a
    # learner on a shared cluster (who may not touch CRDs) finds the one the instructor installed.
    if not _serves_websites(cluster):
        cluster.apply([website_crd(), website_role()], namespace=None)
        cluster.wait_for(lambda: _serves_websites(cluster), timeout=60, description="the API to serve Websites")
    if cluster.find(KIND, DEMO) is None:
        cluster.apply(website(DEMO, START))


def _serves_websites(cluster) -> bool:
    from ..errors import CourseError

    try:
        cluster.resource(KIND, API_VERSION)
    except CourseError:
        return False
    return True


# reading what the learner's operator made

def _website(cluster, name: str = DEMO) -> dict:
    found = cluster.find(KIND, name)
    if found is None:
        raise failed("website", f"there is no Website `{name}`", "run the lab's first cell again (lab.prepare())")
    return found


def _owned_by(obj: dict, owner: dict) -> bool:
    return any(ref.get("kind") == KIND and ref.get("uid") == owner["metadata"]["uid"]
               for ref in obj["metadata"].get("ownerReferences") or [])


def _nginx(deployment: dict) -> dict | None:
    containers = deployment["spec"]["template"]["spec"].get("containers") or []
    return next((c for c in containers if c.get("image") == IMAGE), None)


def _replicas(cluster, name: str) -> int | None:
    deployment = cluster.find("Deployment", name)
    return None if deployment is None else deployment["spec"].get("replicas")


def _page(cluster, name: str) -> str | None:
    config_map = cluster.find("ConfigMap", f"{name}-content")
    return None if config_map is None else (config_map.get("data") or {}).get("index.html")


def _content_volumes(deployment: dict, name: str) -> set[str]:
    volumes = deployment["spec"]["template"]["spec"].get("volumes") or []
    return {v["name"] for v in volumes if (v.get("configMap") or {}).get("name") == f"{name}-content"}


def _mounts_content(deployment: dict, name: str) -> bool:
    """nginx mounts the ConfigMap's volume as its html folder (or index.html alone, by subPath)."""
    volumes = _content_volumes(deployment, name)
    for mount in (_nginx(deployment) or {}).get("volumeMounts") or []:
        path = mount.get("mountPath", "").rstrip("/")
        if mount.get("name") in volumes and (
                (path == HTML_DIR and not mount.get("subPath"))
                or (path == f"{HTML_DIR}/index.html" and mount.get("subPath") == "index.html")):
            return True
    return False


def _converges(cluster, condition, description: str) -> bool:
    """True at once when `condition()` holds; else wait for the learner's runner to catch up."""
    return bool(condition()) or settle(cluster, condition, CONVERGE, description)


# the steps

DEPLOYMENT_HINTS = (
    "reconcile(cluster, website) is called for every Website every 2 s: make it create a Deployment "
    "named like the Website. `runner.errors` shows what your reconcile raised.",
    f"Build the Deployment as a dict (apiVersion apps/v1, metadata.name = website['metadata']['name'], "
    f"spec.replicas = website['spec']['replicas'], a selector, and one container {IMAGE}) and pass it to "
    "cluster.apply(). Put [operator_kit.owner_reference(website)] in its metadata.ownerReferences.",
    "name = website['metadata']['name']; cluster.apply({'apiVersion': 'apps/v1', 'kind': 'Deployment', "
    "'metadata': {'name': name, 'ownerReferences': [operator_kit.owner_reference(website)]}, 'spec': "
    "{'replicas': website['spec']['replicas'], 'selector': {'matchLabels': {'app': name}}, 'template': "
    f"{{'metadata': {{'labels': {{'app': name}}}}, 'spec': {{'containers': [{{'name': 'nginx', 'image': '{IMAGE}'}}]}}}}}}}})",
)


def deployment_made(cluster):
    demo = _website(cluster)
    deployment = cluster.find("Deployment", DEMO)
    if deployment is None:
        raise failed("deployment", "Website demo has no Deployment `demo`: your operator has made nothing yet",
                     *DEPLOYMENT_HINTS)
    if _nginx(deployment) is None:
        images = ", ".join(c.get("image", "?") for c in deployment["spec"]["template"]["spec"].get("containers") or [])
        raise failed("deployment", f"Deployment demo runs {images or 'no container'}, not {IMAGE}", *DEPLOYMENT_HINTS)
    if not _owned_by(deployment, demo):
        raise failed("deployment", "Deployment demo has no ownerReference to the Website demo",
                     "Who owns the Deployment? Kubernetes needs to know, to delete it with the Website.",
                     "Put the Website in the Deployment's metadata.ownerReferences (with its uid).",
                     "'metadata': {'name': name, 'ownerReferences': [operator_kit.owner_reference(website)]}")
    wanted = demo["spec"].get("replicas", 1)
    if not _converges(cluster, lambda: _replicas(cluster, DEMO) == wanted, f"Deployment demo to have {wanted} replicas"):
        raise failed("deployment", f"Deployment demo has {_replicas(cluster, DEMO)} replicas; Website demo asks "
                     f"for {wanted}",
                     "Where does your Deployment's replicas come from?",
                     "Copy it from the Website each time: website['spec']['replicas'].",
                     "'spec': {'replicas': website['spec']['replicas'], ...} in the Deployment you apply.")
    return passed("deployment", f"Deployment demo runs {wanted} × {IMAGE}, owned by Website demo")


def content_mounted(cluster):
    demo = _website(cluster)
    name = f"{DEMO}-content"
    config_map = cluster.find("ConfigMap", name)
    if config_map is None:
        raise failed("content", f"there is no ConfigMap `{name}` with demo's page",
                     "The page (spec.message) reaches nginx through a ConfigMap that reconcile makes too.",
                     "Apply a ConfigMap named website['metadata']['name'] + '-content' with data "
                     "{'index.html': website['spec']['message']}, owned by the Website like the Deployment.",
                     "cluster.apply({'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': f'{name}-content', "
                     "'ownerReferences': [operator_kit.owner_reference(website)]}, 'data': {'index.html': "
                     "website['spec']['message']}})")
    if not _owned_by(config_map, demo):
        raise failed("content", f"ConfigMap {name} has no ownerReference to the Website demo",
                     "When the Website goes, its page should go too.",
                     "Put the Website in the ConfigMap's metadata.ownerReferences.",
                     "'metadata': {'name': f'{name}-content', 'ownerReferences': [operator_kit.owner_reference(website)]}")
    deployment = cluster.get("Deployment", DEMO)
    if not _mounts_content(deployment, DEMO):
        where = ("does not mount it" if _content_volumes(deployment, DEMO) else "has no volume from it")
        raise failed("content", f"ConfigMap {name} exists, but Deployment demo {where} at {HTML_DIR}",
                     "nginx serves the files of one folder: the ConfigMap has to appear there.",
                     f"Give the pod template a volume from the ConfigMap and mount it in the nginx container "
                     f"at {HTML_DIR}.",
                     "'volumes': [{'name': 'content', 'configMap': {'name': f'{name}-content'}}] in the template's "
                     f"spec, and 'volumeMounts': [{{'name': 'content', 'mountPath': '{HTML_DIR}'}}] in the container.")
    message = demo["spec"]["message"]
    if not _converges(cluster, lambda: _page(cluster, DEMO) == message, f"ConfigMap {name} to hold the message"):
        raise failed("content", f"ConfigMap {name} has index.html = {_page(cluster, DEMO)!r}; Website demo's "
                     f"message is {message!r}",
                     "Where does your page come from?",
                     "The key must be index.html and its value the Website's spec.message.",
                     "'data': {'index.html': website['spec']['message']}")
    return passed("content", f"ConfigMap {name} holds {message!r}, mounted at {HTML_DIR} in Deployment demo")


def follows_changes(cluster):
    if not waiting():
        return _passed_before(cluster, "changes", "Website demo's last full check saw its operator follow changes")
    _remember(cluster, "changes", None)  # until this check passes it
    cluster.patch(KIND, DEMO, {"spec": CHANGED})
    try:
        def followed():
            return _replicas(cluster, DEMO) == CHANGED["replicas"] and _page(cluster, DEMO) == CHANGED["message"]

        if not settle(cluster, followed, CONVERGE, "Deployment demo and its page to follow the change"):
            raise failed("changes", f"the check changed Website demo to {CHANGED['replicas']} replicas and "
                         f"{CHANGED['message']!r}; {CONVERGE} s later Deployment demo has "
                         f"{_replicas(cluster, DEMO)} replicas and the page says {_page(cluster, DEMO)!r}",
                         "Your operator makes things once but does not keep them as the Website says. "
                         "Level-triggered means: every round, make the cluster match the Website, "
                         "whatever is there already.",
                         "A create-if-missing stops mattering after the first round; cluster.apply() "
                         "(server-side apply) creates or updates, so calling it every round is safe.",
                         "Build the Deployment and the ConfigMap from website['spec'] on every call and "
                         "cluster.apply() both, unconditionally: no `if cluster.find(...) is None`.")
        old = cluster.get("Deployment", DEMO)["metadata"]["uid"]
        cluster.delete("Deployment", DEMO)

        def back():
            deployment = cluster.find("Deployment", DEMO)
            return deployment is not None and deployment["metadata"]["uid"] != old

        if not settle(cluster, back, CONVERGE, "Deployment demo to come back"):
            raise failed("changes", f"the check deleted Deployment demo; it was not back {CONVERGE} s later",
                         "The Website still asks for it: an operator puts back what is missing.",
                         "Does your reconcile remember what it made (a set, a flag) instead of looking at "
                         "the cluster each time?",
                         "Apply the Deployment on every call, without remembering anything between calls.")
    finally:
        cluster.patch(KIND, DEMO, {"spec": START})
    _remember(cluster, "changes", "true")
    return passed("changes", "demo's Deployment and page followed its change, and its deleted Deployment came back")


def new_websites(cluster):
    if not waiting():
        return _passed_before(cluster, "new", "Website demo's last full check saw a new Website served")
    _remember(cluster, "new", None)
    name = f"check-{uuid.uuid4().hex[:5]}"
    mine = cluster.apply(website(name, {"replicas": 1, "message": "made by the check"}))[0]

    def made():
        deployment = cluster.find("Deployment", name)
        config_map = cluster.find("ConfigMap", f"{name}-content")
        return (deployment is not None and config_map is not None
                and _owned_by(deployment, mine) and _owned_by(config_map, mine))

    try:
        if not settle(cluster, made, CONVERGE, f"Website {name} to get its Deployment"):
            raise failed("new", f"the check made Website {name}; {CONVERGE} s later it has no Deployment and "
                         "ConfigMap of its own, owned by it",
                         "Your reconcile is called with each Website in turn: use the one it is given.",
                         "Name everything after website['metadata']['name'], take replicas and the message "
                         "from website['spec'], and the owner from operator_kit.owner_reference(website).",
                         "No 'demo' anywhere in your reconcile: name = website['metadata']['name'], "
                         "and f'{name}-content' for the ConfigMap.")
    finally:
        cluster.delete(KIND, name)

    def collected():
        return cluster.find("Deployment", name) is None and cluster.find("ConfigMap", f"{name}-content") is None

    if not settle(cluster, collected, CONVERGE, f"the garbage collector to remove what Website {name} owned"):
        raise failed("new", f"the check deleted Website {name}; {CONVERGE} s later its Deployment or ConfigMap "
                     "is still there",
                     "Kubernetes deletes what a deleted object owned: does it know the owner?",
                     "The ownerReference must carry the Website's uid, as operator_kit.owner_reference(website) "
                     "writes it.",
                     "'ownerReferences': [operator_kit.owner_reference(website)] in both objects' metadata.")
    _remember(cluster, "new", "true")
    return passed("new", f"Website {name} got its Deployment and page, and they went with it")


def _remember(cluster, step: str, value: str | None) -> None:
    """Write on demo whether this full check passed `step` (None: not, or not yet)."""
    cluster.patch(KIND, DEMO, {"metadata": {"annotations": {f"{PASSED}-{step}": value}}})


def _passed_before(cluster, step: str, message: str):
    annotations = _website(cluster)["metadata"].get("annotations") or {}
    if annotations.get(f"{PASSED}-{step}") == "true":
        return passed(step, message)
    raise failed(step, "not tried yet: an overview changes nothing; `k8s-course check operator` tries it",
                 "Run the check in the lab's notebook (or `k8s-course check operator`) with your runner running.")


LAB = Lab(
    name="operator",
    title="Write a small operator",
    chapter="03_operator.ipynb",
    minutes=30,
    summary="a reconcile loop that gives every Website a Deployment and a page, owned by it",
    prepare=prepare,
    steps=(Step("Website demo has its Deployment", deployment_made),
           Step("demo's page is in a ConfigMap that nginx mounts", content_mounted),
           Step("the operator follows changes and repairs deletions", follows_changes),
           Step("a new Website is served, and cleaned up with it", new_websites)),
)
