"""Evidence for practiced answers (requests, RBAC grants) and the score figure, from plain data."""

from __future__ import annotations

from k8s_course.quiz import TopicScore, draw_scores, evidence

POD = {"metadata": {"name": "shop-1"},
       "spec": {"initContainers": [{"name": "proxy", "restartPolicy": "Always",
                                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}},
                                   {"name": "setup", "resources": {"requests": {"cpu": "1"}}}],
                "containers": [{"name": "app", "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}}},
                               {"name": "shipper", "resources": {"requests": {"cpu": "0.02", "memory": "1Gi"}}}]}}


def test_each_container_is_a_row_with_its_role_and_requests():
    rows = evidence.container_requests([POD], sidecars=("shipper",))
    assert [(r.container, r.role, r.cpu_m, r.memory_mi) for r in rows] == [
        ("proxy", "sidecar", 100, 128), ("setup", "init", 1000, 0), ("app", "app", 50, 32),
        ("shipper", "sidecar", 20, 1024)]
    assert evidence.totals_by_role(rows) == {"sidecar": (120, 1152), "init": (1000, 0), "app": (50, 32)}


def test_a_thousand_istio_sidecars_reserve_100_cpus_and_125_gib():
    assert evidence.at_scale(100, 128, 1000) == (100.0, 125.0)


ROLES = [{"metadata": {"name": "db"}, "rules": [{"verbs": ["get"], "resources": ["secrets"]}]},
         {"metadata": {"name": "local", "namespace": "shop"}, "rules": [{"verbs": ["*"], "resources": ["pods"]}]}]
SUBJECT = [{"kind": "ServiceAccount", "name": "op", "namespace": "shop"}]


def test_a_cluster_role_binding_grants_cluster_wide_and_a_role_binding_in_its_namespace_only():
    bindings = [
        {"metadata": {"name": "everywhere"}, "roleRef": {"kind": "ClusterRole", "name": "db"}, "subjects": SUBJECT},
        {"metadata": {"name": "here", "namespace": "shop"}, "roleRef": {"kind": "ClusterRole", "name": "db"},
         "subjects": SUBJECT},
        {"metadata": {"name": "mine", "namespace": "shop"}, "roleRef": {"kind": "Role", "name": "local"},
         "subjects": [{"kind": "ServiceAccount", "name": "op"}]},  # namespace: the binding's
        {"metadata": {"name": "other", "namespace": "shop"}, "roleRef": {"kind": "Role", "name": "local"},
         "subjects": [{"kind": "ServiceAccount", "name": "someone-else", "namespace": "shop"}]},
    ]
    grants = evidence.grants_of("shop", "op", bindings, ROLES)
    assert [(g.binding, g.scope, g.verbs, g.resources) for g in grants] == [
        ("ClusterRoleBinding/everywhere", "cluster-wide", ("get",), ("secrets",)),
        ("RoleBinding/here", "namespace shop", ("get",), ("secrets",)),
        ("RoleBinding/mine", "namespace shop", ("*",), ("pods",))]
    assert "cluster-wide" in str(grants[0]) and "ClusterRole/db" in str(grants[0])


def test_the_score_figure_has_a_bar_per_topic_and_part_and_the_share_at_the_end():
    scores = {"Sidecar": TopicScore("Sidecar", 3, 1, 0), "Security": TopicScore("Security", 0, 0, 2)}
    figure = draw_scores(scores)
    axes = figure.axes[0]
    widths = [round(bar.get_width()) for bar in axes.patches]
    assert widths == [3, 0, 1, 0, 0, 2]  # correct, wrong, unanswered; each for both topics
    assert [t.get_text() for t in axes.texts] == ["75%", "0%"]
    assert [t.get_text() for t in axes.get_yticklabels()] == ["Sidecar", "Security"]
