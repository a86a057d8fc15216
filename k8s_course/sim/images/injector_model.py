"""The sidecar injector (k8s_course.workloads.sidecar_injector) as the python image runs it.

The real program's core (`respond`, `settings_from`) answers the AdmissionReviews; only the
thin shell is written again: it reads its certificate from the pod's files (the Secret mounted
at /etc/webhook/certs), serves its port on the simulated pod network and logs one line per
decision, as the real one does. The handler names its serving certificate
(`serving_certificate`), so that the API server's webhook call checks it against the
caBundle as TLS would. Its answers never wait, which the synchronous admission path needs.
"""

from __future__ import annotations

from k8s_course.sim.images.workloads import _forever, _traceback, until_stopped
from k8s_course.workloads import sidecar_injector


async def run_sidecar_injector(shell, argv, io, env) -> int:
    ctx = shell.ctx
    host, port = env.get("HOST", "0.0.0.0"), int(env.get("PORT", "8443"))
    settings = sidecar_injector.settings_from(env)
    try:
        certificate = ctx.files.read(env.get("TLS_CERT", "/etc/webhook/certs/tls.crt"))
        ctx.files.read(env.get("TLS_KEY", "/etc/webhook/certs/tls.key"))
    except OSError as error:
        return _traceback(io, error)

    async def handle(method: str, target: str, body: bytes, client: str, client_cert) -> tuple[int, str]:
        import json

        status, answer, decision = sidecar_injector.respond(method, target, body, settings)
        if decision:
            io.stdout.write(decision + "\n")
        return status, json.dumps(answer)

    handle.serving_certificate = certificate  # type: ignore[attr-defined]
    shell.python_image.serve(port, handle)
    io.stdout.write(f"sidecar-injector: serving POST /inject on {host}:{port}\n")
    try:
        await until_stopped(shell, _forever())
    finally:
        shell.python_image.unserve(port)
    return 0


PROGRAMS = {"sidecar_injector.py": run_sidecar_injector}
