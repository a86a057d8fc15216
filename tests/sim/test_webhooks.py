"""Admission webhooks: which requests reach them, what they are sent, and how their answers
(patches, denials, failures) come back to the writer, worded as kube-apiserver words them.

Service-backed webhooks are answered by a stand-in pod model on a stand-in pod network (the
webhook path's own seam), so each test scripts the webhook's answer; the real injector program
is called over real HTTPS for the url-backed kind.
"""

from __future__ import annotations

import base64
import json

import pytest

from k8s_course.sim import errors
from k8s_course.workloads import course_ca, sidecar_injector
from tests.sim.harness import Harness

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app": "web"}},
       "spec": {"containers": [{"name": "app", "image": "nginx"}]}}
WEBHOOK_IP = "10.244.1.9"


class ScriptedWebhook:
    """A pod's model answering on port 8443 with `answer(review) -> response dict` (or a coroutine
    that waits, to play a webhook past its deadline)."""

    def __init__(self, answer):
        self.answer = answer
        self.reviews: list[dict] = []
        self.http_handlers: dict = {}

    async def serve_request(self, port, method, path, body, ctx, client="", client_cert=None):
        review = json.loads(body)
        self.reviews.append(review)
        response = self.answer(review)
        if response == "wait":
            import asyncio

            await asyncio.sleep(1)
        return 200, json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                                "response": {"uid": review["request"]["uid"], **response}})


class Endpoint:
    def __init__(self, model):
        self.model = model

    def listening(self, port):
        return (None, self.model) if port == 8443 else None


class Network:
    def __init__(self, model):
        self.model = model

    def endpoint(self, ip):
        return Endpoint(self.model) if ip == WEBHOOK_IP else None


def configuration(kind: str = "MutatingWebhookConfiguration", name: str = "hooks", **webhook) -> dict:
    hook = {
        "name": "hook.k8s-course.dev",
        "clientConfig": {"service": {"namespace": "default", "name": "hook", "path": "/mutate"}},
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
    }
    hook.update(webhook)
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": name},
            "webhooks": [hook]}


def serve_webhook(h: Harness, model, ready: bool = True) -> None:
    """The Service `hook` in default, and a pod behind it whose model is `model`."""
    h.objects.webhooks.network = Network(model)
    h.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hook"},
              "spec": {"selector": {"app": "hook"}, "ports": [{"port": 443, "targetPort": 8443}]}})
    h.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hook-0", "labels": {"app": "hook"}},
              "spec": {"containers": [{"name": "hook", "image": "nginx"}]}})
    h.patch("v1", "Pod", "hook-0", {"status": {"podIP": WEBHOOK_IP, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}, subresource="status")


def patch_of(ops: list) -> dict:
    return {"allowed": True, "patchType": "JSONPatch", "patch": base64.b64encode(json.dumps(ops).encode()).decode()}


def label_patch(value: str = "yes") -> dict:
    return patch_of([{"op": "add", "path": "/metadata/labels/mutated", "value": value}])


def change_webhook(h: Harness, configuration_name: str, **fields) -> None:
    """A strategic merge patch of the one webhook (they merge by name, as kubectl patch does)."""
    rtype = h.rtype("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration")
    h.objects.patch(rtype, None, configuration_name, {"webhooks": [{"name": "hook.k8s-course.dev", **fields}]},
                    "application/strategic-merge-patch+json")


def run(scenario):
    return Harness.run(scenario)


def test_webhook_configurations_get_the_api_servers_defaults():
    async def scenario(h: Harness):
        stored = h.create(configuration())
        hook = stored["webhooks"][0]
        assert (hook["failurePolicy"], hook["matchPolicy"], hook["timeoutSeconds"], hook["reinvocationPolicy"]) == \
            ("Fail", "Equivalent", 10, "Never")
        assert hook["namespaceSelector"] == {} and hook["objectSelector"] == {}
        assert hook["rules"][0]["scope"] == "*"
        assert hook["clientConfig"]["service"]["port"] == 443
        assert stored["metadata"]["generation"] == 1
        validating = h.create(configuration("ValidatingWebhookConfiguration"))
        assert "reinvocationPolicy" not in validating["webhooks"][0]

    run(scenario)


def test_a_webhook_configuration_is_validated_with_the_api_servers_words():
    async def scenario(h: Harness):
        bad = configuration(name="bad")
        bad["webhooks"][0].update(name="short.name", sideEffects="Some", timeoutSeconds=31,
                                  admissionReviewVersions=["v2"])
        bad["webhooks"][0]["rules"][0]["operations"] = ["GET"]
        with pytest.raises(errors.APIError) as caught:
            h.create(bad)
        assert caught.value.code == 422
        assert caught.value.message == (
            'MutatingWebhookConfiguration.admissionregistration.k8s.io "bad" is invalid: ['
            'webhooks[0].name: Invalid value: "short.name": should be a domain with at least three segments '
            'separated by dots, webhooks[0].rules[0].operations[0]: Unsupported value: "GET": supported values: '
            '"*", "CONNECT", "CREATE", "DELETE", "UPDATE", webhooks[0].sideEffects: Unsupported value: "Some": '
            'supported values: "None", "NoneOnDryRun", webhooks[0].timeoutSeconds: Invalid value: 31: the timeout '
            'value must be between 1 and 30 seconds, webhooks[0].admissionReviewVersions: Invalid value: '
            '["v2"]: must include at least one of v1, v1beta1]')

    run(scenario)


def test_a_mutating_webhooks_patch_is_applied_to_the_new_pod():
    async def scenario(h: Harness):
        hook = ScriptedWebhook(lambda review: label_patch())
        serve_webhook(h, hook)
        h.create(configuration())
        stored = h.create({**POD, "metadata": {"generateName": "web-", "labels": {"app": "web"}}})
        assert stored["metadata"]["labels"] == {"app": "web", "mutated": "yes"}
        assert stored["spec"]["containers"][0]["imagePullPolicy"] == "Always"  # defaulted, as before
        request = hook.reviews[-1]["request"]
        assert hook.reviews[-1]["apiVersion"] == "admission.k8s.io/v1"
        assert request["kind"] == {"group": "", "version": "v1", "kind": "Pod"}
        assert request["resource"] == {"group": "", "version": "v1", "resource": "pods"}
        assert (request["operation"], request["namespace"], request["name"]) == ("CREATE", "default", "")
        assert request["userInfo"]["username"] == "kubernetes-admin"
        assert request["oldObject"] is None and request["dryRun"] is False
        assert request["options"] == {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}
        sent = request["object"]["metadata"]
        assert sent["generateName"] == "web-" and "name" not in sent and "uid" not in sent

    run(scenario)


def test_webhooks_see_only_the_requests_their_rules_and_selectors_match():
    async def scenario(h: Harness):
        hook = ScriptedWebhook(lambda review: label_patch())
        serve_webhook(h, hook)
        h.create(configuration(namespaceSelector={"matchLabels": {"mesh": "on"}},
                               objectSelector={"matchExpressions": [{"key": "skip", "operator": "DoesNotExist"}]}))
        called = len(hook.reviews)
        plain = h.create({**POD, "metadata": {"name": "plain"}})  # default is not labelled
        assert "mutated" not in (plain["metadata"].get("labels") or {}) and len(hook.reviews) == called
        h.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "meshed", "labels": {"mesh": "on"}}})
        assert "mutated" in h.create(POD, namespace="meshed")["metadata"]["labels"]
        skipped = h.create({**POD, "metadata": {"name": "other", "labels": {"skip": "1"}}}, namespace="meshed")
        assert "mutated" not in skipped["metadata"]["labels"]
        h.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, namespace="meshed")
        h.patch("v1", "Pod", "web", {"status": {"phase": "Running"}}, namespace="meshed", subresource="status")
        assert len(hook.reviews) == called + 1  # not the ConfigMap, not the update of pods/status

    run(scenario)


def test_subresource_and_scope_rules_match_as_the_api_server_matches_them():
    from k8s_course.sim.webhooks import rule_matches

    async def scenario(h: Harness):
        pods, nodes = h.rtype("v1", "Pod"), h.rtype("v1", "Node")
        rule = {"operations": ["UPDATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods/status"]}
        assert rule_matches(rule, pods, "UPDATE", "status") and not rule_matches(rule, pods, "UPDATE", None)
        everything = {"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*/*"]}
        assert rule_matches(everything, pods, "DELETE", "status") and rule_matches(everything, nodes, "CREATE", None)
        main_only = dict(everything, resources=["*"])
        assert not rule_matches(main_only, pods, "UPDATE", "status")
        assert not rule_matches(dict(everything, scope="Namespaced"), nodes, "CREATE", None)
        assert not rule_matches(dict(everything, scope="Cluster"), pods, "CREATE", None)

    run(scenario)


def test_a_denial_carries_the_webhooks_message_and_code():
    async def scenario(h: Harness):
        answers = iter([{"allowed": False, "status": {"message": "pods need an owner"}},
                        {"allowed": False, "status": {"code": 403, "reason": "Forbidden", "message": "no"}},
                        {"allowed": False}])
        serve_webhook(h, ScriptedWebhook(lambda review: next(answers)))
        h.create(configuration("ValidatingWebhookConfiguration"))
        outcomes = []
        for _ in range(3):
            with pytest.raises(errors.APIError) as caught:
                h.create(POD)
            outcomes.append((caught.value.code, caught.value.reason, caught.value.message))
        assert outcomes == [
            (400, "", 'admission webhook "hook.k8s-course.dev" denied the request: pods need an owner'),
            (403, "Forbidden", 'admission webhook "hook.k8s-course.dev" denied the request: no'),
            (400, "", 'admission webhook "hook.k8s-course.dev" denied the request without explanation'),
        ]
        assert h.get("v1", "Pod", "web") is None

    run(scenario)


def test_a_validating_webhook_can_refuse_a_deletion():
    async def scenario(h: Harness):
        hook = ScriptedWebhook(lambda review: {"allowed": False, "status": {"message": "protected"}})
        h.create(POD)
        serve_webhook(h, hook)
        h.create(configuration("ValidatingWebhookConfiguration", rules=[
            {"operations": ["DELETE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]))
        with pytest.raises(errors.APIError) as caught:
            h.delete("v1", "Pod", "web")
        assert caught.value.message == 'admission webhook "hook.k8s-course.dev" denied the request: protected'
        request = hook.reviews[-1]["request"]
        assert request["operation"] == "DELETE" and request["object"] is None
        assert request["oldObject"]["metadata"]["name"] == "web"
        assert h.get("v1", "Pod", "web") is not None

    run(scenario)


def test_an_unreachable_webhook_fails_the_request_unless_its_policy_is_ignore():
    async def scenario(h: Harness):
        h.create(configuration(name="a"))
        with pytest.raises(errors.APIError) as caught:
            h.create(POD)
        assert (caught.value.code, caught.value.reason) == (500, "InternalError")
        reason = ('failed calling webhook "hook.k8s-course.dev": failed to call webhook: Post '
                  '"https://hook.default.svc:443/mutate?timeout=10s": service "hook" not found')
        assert caught.value.message == f"Internal error occurred: {reason}"
        assert caught.value.details == {"causes": [{"message": reason}]}
        change_webhook(h, "a", failurePolicy="Ignore")
        assert h.create(POD)["metadata"]["name"] == "web"

    run(scenario)


def test_a_webhook_without_a_ready_pod_refuses_the_connection_at_its_cluster_ip():
    async def scenario(h: Harness):
        serve_webhook(h, ScriptedWebhook(lambda review: {"allowed": True}), ready=False)
        h.create(configuration())
        cluster_ip = h.get("v1", "Service", "hook")["spec"]["clusterIP"]
        with pytest.raises(errors.APIError) as caught:
            h.create({**POD, "metadata": {"name": "web-2"}})
        assert caught.value.message == (
            'Internal error occurred: failed calling webhook "hook.k8s-course.dev": failed to call webhook: '
            f'Post "https://hook.default.svc:443/mutate?timeout=10s": dial tcp {cluster_ip}:443: '
            "connect: connection refused")

    run(scenario)


def test_a_webhook_that_does_not_answer_in_time_is_past_its_deadline():
    async def scenario(h: Harness):
        serve_webhook(h, ScriptedWebhook(lambda review: "wait"))
        h.create(configuration(timeoutSeconds=3))
        with pytest.raises(errors.APIError) as caught:
            h.create(POD)
        assert caught.value.message == (
            'Internal error occurred: failed calling webhook "hook.k8s-course.dev": failed to call webhook: '
            'Post "https://hook.default.svc:443/mutate?timeout=3s": context deadline exceeded')

    run(scenario)


def test_an_answer_for_another_request_is_an_invalid_response():
    async def scenario(h: Harness):
        hook = ScriptedWebhook(lambda review: {"uid": "not-yours", "allowed": True})
        serve_webhook(h, hook)
        h.create(configuration())
        with pytest.raises(errors.APIError) as caught:
            h.create(POD)
        uid = hook.reviews[-1]["request"]["uid"]
        assert caught.value.message == (
            'Internal error occurred: failed calling webhook "hook.k8s-course.dev": received invalid webhook '
            f'response: expected response.uid="{uid}", got "not-yours"')

    run(scenario)


def test_a_patch_that_breaks_the_pod_is_caught_by_validation_after_the_webhook():
    async def scenario(h: Harness):
        serve_webhook(h, ScriptedWebhook(lambda review: patch_of(
            [{"op": "replace", "path": "/spec/containers/0/name", "value": "Not_A_Name"}])))
        h.create(configuration())
        with pytest.raises(errors.APIError) as caught:
            h.create(POD)
        assert caught.value.code == 422
        assert 'spec.containers[0].name: Invalid value: "Not_A_Name"' in caught.value.message

    run(scenario)


def test_a_dry_run_skips_no_webhook_and_stores_nothing():
    async def scenario(h: Harness):
        hook = ScriptedWebhook(lambda review: label_patch())
        serve_webhook(h, hook)
        h.create(configuration())
        from k8s_course.sim.objects import WriteOptions

        result = h.objects.create(h.rtype("v1", "Pod"), "default", dict(POD), WriteOptions(dry_run=True))
        assert result.object["metadata"]["labels"]["mutated"] == "yes"
        assert hook.reviews[-1]["request"]["dryRun"] is True
        assert h.get("v1", "Pod", "web") is None

    run(scenario)


@pytest.fixture
def injector_over_https(tmp_path):
    """The real injector program, serving HTTPS on 127.0.0.1 with a certificate of the course CA."""
    ca = course_ca.make_ca()
    issued = course_ca.issue(ca, "default", "injector", dns_names=["localhost"])
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert.write_bytes(issued.cert_pem)
    key.write_bytes(issued.key_pem)
    lines: list[str] = []
    with sidecar_injector.InjectorServer(str(cert), str(key), "127.0.0.1", 0, log=lines.append) as server:
        yield ca, server.port, lines


def test_a_url_webhook_is_called_over_https_trusting_its_ca_bundle(injector_over_https):
    ca, port, lines = injector_over_https

    async def scenario(h: Harness):
        bundle = base64.b64encode(ca.cert_pem).decode()
        h.create(configuration(clientConfig={"url": f"https://localhost:{port}/inject", "caBundle": bundle}))
        stored = h.create(POD)
        assert [c["name"] for c in stored["spec"]["initContainers"]] == ["proxy-init", "proxy"]
        assert lines == ["sidecar-injector: default/web: added proxy-init and proxy"]
        other = base64.b64encode(course_ca.make_ca().cert_pem).decode()
        change_webhook(h, "hooks", clientConfig={"caBundle": other, "url": f"https://localhost:{port}/inject"})
        with pytest.raises(errors.APIError) as caught:
            h.create({**POD, "metadata": {"name": "web-2"}})
        assert caught.value.message == (
            'Internal error occurred: failed calling webhook "hook.k8s-course.dev": failed to call webhook: '
            f'Post "https://localhost:{port}/inject?timeout=10s": tls: failed to verify certificate: '
            "x509: certificate signed by unknown authority")

    run(scenario)


def test_a_changed_or_removed_configuration_applies_from_the_next_write():
    async def scenario(h: Harness):
        hook = ScriptedWebhook(lambda review: label_patch())
        serve_webhook(h, hook)
        h.create(configuration())
        assert h.create(POD)["metadata"]["labels"]["mutated"] == "yes"
        change_webhook(h, "hooks", objectSelector={"matchLabels": {"inject": "yes"}})
        called = len(hook.reviews)
        assert "mutated" not in h.create({**POD, "metadata": {"name": "plain", "labels": {}}})["metadata"]["labels"]
        assert len(hook.reviews) == called
        injected = h.create({**POD, "metadata": {"name": "chosen", "labels": {"inject": "yes"}}})
        assert injected["metadata"]["labels"]["mutated"] == "yes"
        h.delete("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", "hooks", namespace="")
        after = h.create({**POD, "metadata": {"name": "after", "labels": {"inject": "yes"}}})
        assert "mutated" not in after["metadata"]["labels"] and len(hook.reviews) == called + 1

    run(scenario)


def test_an_unparsable_selector_fails_only_the_writes_its_rules_match():
    async def scenario(h: Harness):
        serve_webhook(h, ScriptedWebhook(lambda review: label_patch()))
        h.create(configuration(objectSelector={"matchExpressions": [{"key": "a", "operator": "Near"}]}))
        assert h.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})["metadata"]["name"] == "c"
        with pytest.raises(Exception) as failed:
            h.create(POD)
        assert "Near" in str(failed.value)

    run(scenario)


def test_the_review_names_the_user_the_write_acts_as_and_the_admin_otherwise():
    from k8s_course.sim.auth.authentication import service_account_user
    from k8s_course.sim.objects import DeleteOptions, WriteOptions

    async def scenario(h: Harness):
        hook = ScriptedWebhook(lambda review: {"allowed": True})
        serve_webhook(h, hook)
        h.create(configuration("ValidatingWebhookConfiguration", rules=[
            {"operations": ["*"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]))
        bot = service_account_user("default", "bot", "uid-1").as_json()
        pods = h.rtype("v1", "Pod")
        h.objects.create(pods, "default", json.loads(json.dumps(POD)), WriteOptions(user=bot))
        h.objects.patch(pods, "default", "web", {"metadata": {"labels": {"v": "2"}}},
                        "application/merge-patch+json", options=WriteOptions(user=bot))
        h.create({**POD, "metadata": {"name": "by-admin"}})
        h.objects.delete(pods, "default", "web", DeleteOptions(user=bot))
        asked = [(r["request"]["operation"], r["request"]["userInfo"]["username"]) for r in hook.reviews]
        assert asked[-4:] == [("CREATE", "system:serviceaccount:default:bot"),
                              ("UPDATE", "system:serviceaccount:default:bot"),
                              ("CREATE", "kubernetes-admin"), ("DELETE", "system:serviceaccount:default:bot")]
        assert hook.reviews[-4]["request"]["userInfo"]["groups"] == [
            "system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"]

    run(scenario)
