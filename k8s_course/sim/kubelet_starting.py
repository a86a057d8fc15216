"""Starting one container: pull its image, give it its environment, create and start it.

The steps and events of the kubelet's startContainer: `Pulling` / `Pulled` (or "already
present on machine" for IfNotPresent once the node has the image), `Failed` with
ErrImagePull then `BackOff` / ImagePullBackOff (10 s doubling to 5 minutes between pulls),
`CreateContainerConfigError` for a missing ConfigMap key, `Created`, `Started`, and the
postStart and preStop hooks (exec, httpGet or sleep) run through the image model.
"""

from __future__ import annotations

import asyncio

from . import kubelet_config, kubelet_formats
from .images import base
from .kubelet_probes import probe_container

CONFIG_RETRY_SECONDS = 10.0
NEVER_PULL_RETRY_SECONDS = 10.0
PULL_BACKOFF_INITIAL = 10.0
PULL_BACKOFF_MAX = 300.0
ERROR_SHOWN_SECONDS = 1.0  # ErrImagePull shows this long before it turns into ImagePullBackOff


async def ensure_image(worker, slot) -> base.ImageModel:
    """The container's image model, once its image is on the node (retrying failed pulls)."""
    images = worker.kubelet.images
    image = slot.spec.get("image", "")
    policy = kubelet_formats.pull_policy(slot.spec)
    failures = 0
    while True:
        if policy == "Never" or (policy == "IfNotPresent" and images.is_present(image)):
            try:
                model = images.model_for(slot.spec)
            except base.PullError:
                # a course image "is present" when it has a model; anything else never will be
                message = f'Container image "{image}" is not present with pull policy of Never'
                worker.event(slot, "ErrImageNeverPull", message, "Warning")
                worker.event(slot, "Failed", "Error: ErrImageNeverPull", "Warning")
                slot.wait("ErrImageNeverPull", message)
                await worker.clock.sleep(NEVER_PULL_RETRY_SECONDS)
                continue
            worker.event(slot, "Pulled", f'Container image "{image}" already present on machine '
                                         f'and can be accessed by the pod')
            return model
        worker.event(slot, "Pulling", f'Pulling image "{image}"')
        took = images.pull_seconds(image)
        if took > 0:
            await worker.clock.sleep(took)
        try:
            model = images.model_for(slot.spec)
        except base.PullError as error:
            failures += 1
            worker.event(slot, "Failed", f'Failed to pull image "{image}": {error}', "Warning")
            worker.event(slot, "Failed", "Error: ErrImagePull", "Warning")
            slot.wait("ErrImagePull", str(error))
            delay = min(PULL_BACKOFF_INITIAL * 2 ** (failures - 1), PULL_BACKOFF_MAX)
            await worker.clock.sleep(ERROR_SHOWN_SECONDS)
            worker.event(slot, "BackOff", f'Back-off pulling image "{image}"')
            worker.event(slot, "Failed", "Error: ImagePullBackOff", "Warning")
            slot.wait("ImagePullBackOff", f'Back-off pulling image "{image}": ErrImagePull: {error}')
            await worker.clock.sleep(delay - ERROR_SHOWN_SECONDS)
            continue
        images.add(image)
        size = getattr(model, "image_size", None) or kubelet_formats.image_size(image)
        duration = kubelet_formats.go_duration(took)
        worker.event(slot, "Pulled", f'Successfully pulled image "{image}" in {duration} '
                                     f'({duration} including waiting). Image size: {size} bytes.')
        return model


async def run_instance(worker, slot) -> int:
    """Start the container once and wait for it to exit; returns its exit code.

    A missing ConfigMap or key leaves it waiting in CreateContainerConfigError, retried (image
    check included, as the kubelet's next sync does) every CONFIG_RETRY_SECONDS.
    """
    while True:
        model = await ensure_image(worker, slot)
        try:
            env = kubelet_config.environment(worker.pod, slot.spec, worker.kubelet.store)
            break
        except kubelet_config.ConfigError as error:
            slot.wait("CreateContainerConfigError", str(error))
            worker.event(slot, "Failed", f"Error: {error}", "Warning")
            await worker.clock.sleep(CONFIG_RETRY_SECONDS)
    if slot.starts and hasattr(worker.files, "reset_container"):
        worker.files.reset_container(slot.name)  # a new process starts from its image again
    ctx = base.ContainerContext(
        pod=worker.pod, container=slot.spec, clock=worker.clock, files=worker.files.view(slot.name),
        network=worker.view, env=env, hostname=worker.hostname, pod_ip=worker.ip or "")
    worker.event(slot, "Created", "Container created")
    instance = slot.start(model, ctx)
    worker.container_started(slot, instance)
    worker.event(slot, "Started", "Container started")
    for _ in range(3):  # the process's first steps run before the kubelet looks again: one that
        await asyncio.sleep(0)  # exits at once is never reported started and ready (as PLEG would)
    hook = (slot.spec.get("lifecycle") or {}).get("postStart")
    if hook:
        failure = await run_hook(worker, slot, instance, hook, "PostStart")
        if failure and instance.running:
            worker.event(slot, "FailedPostStartHook", failure, "Warning")
            await worker.stop_instance(slot, instance, worker.clock.now() + worker.grace_seconds(),
                                       "FailedPostStartHook")
    if instance.running and not slot.has_probe("startupProbe"):
        slot.set_started()
    if instance.running and any(slot.has_probe(k) for k in ("startupProbe", "readinessProbe", "livenessProbe")):
        instance.helpers.append(asyncio.ensure_future(probe_container(worker, slot, instance)))
    await instance.exited.wait()
    return instance.exit_code if instance.exit_code is not None else 1


async def run_hook(worker, slot, instance, hook: dict, kind: str) -> str | None:
    """Run a lifecycle hook; returns the failure message, or None when it succeeded."""
    pod = kubelet_formats.pod_reference(worker.pod)
    if "exec" in hook:
        command = hook["exec"].get("command") or []
        result = await instance.model.exec(command, instance.ctx)
        if result.exit_code == 0:
            return None
        output = result.stdout + result.stderr
        return (f"Exec lifecycle hook ([{' '.join(command)}]) for Container \"{slot.name}\" in Pod \"{pod}\" "
                f"failed - error: command '{' '.join(command)}' exited with {result.exit_code}: {output}, "
                f'message: "{output}"')
    if "httpGet" in hook:
        result = await instance.model.probe({"httpGet": hook["httpGet"]}, instance.ctx)
        if result.success:
            return None
        return (f'HTTP lifecycle hook ({hook["httpGet"].get("path", "")}) for Container "{slot.name}" in '
                f'Pod "{pod}" failed - error: {result.message}')
    if "sleep" in hook:
        await worker.clock.sleep(float(hook["sleep"].get("seconds") or 0))
    return None
