"""A small kopf operator for the tests: it greets every Greeting it sees, in its status."""

import kopf


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_):
    settings.posting.level = 0  # post every event, so the test can see them
    settings.watching.server_timeout = 10


@kopf.on.create("course.example.com", "v1", "greetings")
def greet(spec, patch, logger, **_):
    name = spec.get("name", "world")
    patch.status["phase"] = "Greeted"
    patch.status["message"] = f"hello, {name}"
    logger.info("greeted %s", name)
