"""What the kubelet hands a container from the API: its environment and its projected files.

Environment variables come from `env` (values, ConfigMap and Secret keys, the downward API)
and `envFrom`; the files of ConfigMap, Secret, downward API and projected volumes are written
into the pod's filesystem before the containers start. A missing ConfigMap or key is reported
with the kubelet's words: `CreateContainerConfigError` for the environment, `FailedMount` for
a volume.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Callable

from . import quantities

CONFIG_MAPS = ("", "configmaps")
SECRETS = ("", "secrets")
SERVICE_ACCOUNTS = ("", "serviceaccounts")
KUBERNETES_SERVICE_IP = "10.96.0.1"
_LABEL_PATH = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")
_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class ConfigError(Exception):
    """The container cannot be given what it asks for (the message is the kubelet's)."""


def _decoded(data: dict | None) -> dict[str, str]:
    out = {}
    for key, value in (data or {}).items():
        try:
            out[key] = base64.b64decode(value).decode("utf-8", "replace")
        except (ValueError, TypeError):
            out[key] = ""
    return out


def _config_map(store, namespace: str, name: str) -> dict[str, str] | None:
    found = store.get(CONFIG_MAPS, namespace, name)
    if found is None:
        return None
    return {**(found.get("data") or {}), **_decoded(found.get("binaryData"))}


def _secret(store, namespace: str, name: str) -> dict[str, str] | None:
    found = store.get(SECRETS, namespace, name)
    if found is None:
        return None
    return {**_decoded(found.get("data")), **(found.get("stringData") or {})}


def field_value(pod: dict, path: str) -> str:
    """A downward-API fieldRef, as the kubelet renders it."""
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    match = _LABEL_PATH.match(path)
    if match:
        return (meta.get(match.group(1)) or {}).get(match.group(2), "")
    simple = {
        "metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""), "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.podIP": status.get("podIP", ""), "status.hostIP": status.get("hostIP", ""),
        "status.podIPs": ",".join(i["ip"] for i in status.get("podIPs") or []),
        "status.hostIPs": ",".join(i["ip"] for i in status.get("hostIPs") or []),
    }
    if path in simple:
        return simple[path]
    if path in ("metadata.labels", "metadata.annotations"):
        items = meta.get(path.split(".")[1]) or {}
        return "\n".join(f'{key}="{value}"' for key, value in sorted(items.items()))
    return ""


def resource_value(container: dict, ref: dict) -> str:
    """A resourceFieldRef: limits fall back to requests, cpu rounds up to whole cores."""
    kind, _, name = (ref.get("resource") or "").partition(".")
    resources = container.get("resources") or {}
    text = (resources.get(kind) or {}).get(name) or (resources.get("requests") or {}).get(name)
    if text is None:
        return "0"
    value = quantities.parse_quantity(str(text))
    divisor = quantities.parse_quantity(str(ref.get("divisor") or "1"))
    amount = value / divisor
    return str(int(-(-amount // 1)))


def environment(pod: dict, container: dict, store) -> dict[str, str]:
    """The container's environment; ConfigError for a missing ConfigMap, Secret or key."""
    namespace = pod["metadata"].get("namespace", "default")
    env: dict[str, str] = {"HOSTNAME": pod["spec"].get("hostname") or pod["metadata"]["name"]}
    # the master service's variables are always there, whatever enableServiceLinks says
    env.update({"KUBERNETES_SERVICE_HOST": KUBERNETES_SERVICE_IP, "KUBERNETES_SERVICE_PORT": "443",
                "KUBERNETES_SERVICE_PORT_HTTPS": "443", "KUBERNETES_PORT": f"tcp://{KUBERNETES_SERVICE_IP}:443"})
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix") or ""
        for kind, reader, word in (("configMapRef", _config_map, "configmap"), ("secretRef", _secret, "secret")):
            ref = source.get(kind)
            if ref is None:
                continue
            data = reader(store, namespace, ref.get("name", ""))
            if data is None:
                if ref.get("optional"):
                    continue
                raise ConfigError(f'{word} "{ref.get("name", "")}" not found')
            env.update({prefix + key: value for key, value in data.items()})
    for item in container.get("env") or []:
        name = item.get("name", "")
        if "value" in item or "valueFrom" not in item:
            env[name] = _REFERENCE.sub(lambda m: env.get(m.group(1), m.group(0)), item.get("value") or "")
            continue
        source = item["valueFrom"]
        if "fieldRef" in source:
            env[name] = field_value(pod, source["fieldRef"].get("fieldPath", ""))
        elif "resourceFieldRef" in source:
            env[name] = resource_value(container, source["resourceFieldRef"])
        else:
            value = _key_value(store, namespace, source)
            if value is not None:
                env[name] = value
    return env


def _key_value(store, namespace: str, source: dict) -> str | None:
    for kind, reader, word, title in (("configMapKeyRef", _config_map, "configmap", "ConfigMap"),
                                      ("secretKeyRef", _secret, "secret", "Secret")):
        ref = source.get(kind)
        if ref is None:
            continue
        name, key = ref.get("name", ""), ref.get("key", "")
        data = reader(store, namespace, name)
        if data is None:
            if ref.get("optional"):
                return None
            raise ConfigError(f'{word} "{name}" not found')
        if key not in data:
            if ref.get("optional"):
                return None
            raise ConfigError(f"couldn't find key {key} in {title} {namespace}/{name}")
        return data[key]
    return None


def volume_files(pod: dict, volume: dict, store, token: str | Callable[[dict, str], str]) -> dict[str, str] | None:
    """The files of a volume the kubelet projects, or None for the other kinds (emptyDir ...).

    `token` is what a serviceAccountToken source holds, or makes it (`service_account_token`).

    Raises ConfigError with the FailedMount wording when a source is missing.
    """
    namespace = pod["metadata"].get("namespace", "default")
    name = volume.get("name", "")
    if "configMap" in volume:
        return _from_source(store, namespace, volume["configMap"], _config_map, "configmap", name) or {}
    if "secret" in volume:
        source = dict(volume["secret"], name=volume["secret"].get("secretName", ""))
        return _from_source(store, namespace, source, _secret, "secret", name) or {}
    if "downwardAPI" in volume:
        return _downward(pod, volume["downwardAPI"].get("items") or [])
    if "projected" in volume:
        files: dict[str, str] = {}
        for source in volume["projected"].get("sources") or []:
            if "configMap" in source:
                files.update(_from_source(store, namespace, source["configMap"], _config_map, "configmap", name) or {})
            elif "secret" in source:
                files.update(_from_source(store, namespace, source["secret"], _secret, "secret", name) or {})
            elif "downwardAPI" in source:
                files.update(_downward(pod, source["downwardAPI"].get("items") or []))
            elif "serviceAccountToken" in source:
                projection = source["serviceAccountToken"]
                files[projection.get("path", "token")] = token(projection, name) if callable(token) else token
        return files
    return None


def _from_source(store, namespace: str, source: dict, reader, word: str, volume: str) -> dict[str, str] | None:
    data = reader(store, namespace, source.get("name", ""))
    if data is None:
        if source.get("optional"):
            return None
        raise ConfigError(f'MountVolume.SetUp failed for volume "{volume}" : {word} "{source.get("name", "")}" not found')
    items = source.get("items")
    if not items:
        return dict(data)
    files = {}
    for item in items:
        key = item.get("key", "")
        if key not in data:
            if source.get("optional"):
                continue
            raise ConfigError(f'MountVolume.SetUp failed for volume "{volume}" : configmap references '
                              f'non-existent config key: {key}')
        files[item.get("path") or key] = data[key]
    return files


def _downward(pod: dict, items: list[dict]) -> dict[str, str]:
    files = {}
    for item in items:
        if "fieldRef" in item:
            files[item.get("path", "")] = field_value(pod, item["fieldRef"].get("fieldPath", ""))
    return files


def service_account_token(pod: dict, issuer=None) -> Callable[[dict, str], str]:
    """What the kubelet writes for a projected serviceAccountToken source of `pod`:
    `token(projection, volume_name)`, to pass to `volume_files`.

    With the cluster's token issuer (`auth.tokens.ServiceAccountTokens`), a real token of the
    pod's ServiceAccount, bound to the pod (it stops working when the pod or account goes);
    ConfigError with the kubelet's words while the account does not exist. Without an issuer
    (a kubelet tested alone), a token-shaped string that authenticates nobody.
    """
    meta, spec = pod["metadata"], pod.get("spec") or {}
    namespace = meta.get("namespace", "default")
    account_name = spec.get("serviceAccountName") or "default"

    def token(projection: dict, volume: str) -> str:
        if issuer is None:
            header = base64.urlsafe_b64encode(b'{"alg":"RS256","kid":"sim"}').decode().rstrip("=")
            return f"{header}.{secrets.token_urlsafe(96)}.{secrets.token_urlsafe(64)}"
        account = issuer.store.get(SERVICE_ACCOUNTS, namespace, account_name)
        if account is None:
            raise ConfigError(f'MountVolume.SetUp failed for volume "{volume}" : failed to fetch token: '
                              f'serviceaccounts "{account_name}" not found')
        audience = projection.get("audience")
        value, _ = issuer.issue(namespace, account, projection.get("expirationSeconds") or 3607,
                                [audience] if audience else None,
                                {"kind": "Pod", "name": meta.get("name", ""), "uid": meta.get("uid", ""),
                                 "nodeName": spec.get("nodeName", "")})
        return value

    return token
