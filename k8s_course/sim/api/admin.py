"""The admin API under /sim/v1: what only a simulator can do.

    GET  /sim/v1/clock            {"speed": 1.0, "now": "2026-11-26T13:42:10Z"}
    PUT  /sim/v1/clock            {"speed": 10}            run the cluster's time faster
    POST /sim/v1/clock/advance    {"seconds": 300}         a manual clock jumps ahead

Node faults (a kubelet stopping and starting) are added here by the behaviour side. Every
admin call needs the same bearer token as the Kubernetes API.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aiohttp import web

from .. import errors
from ..clock import ManualClock, format_time

if TYPE_CHECKING:
    from ..simulator import Cluster


async def read_json(request: web.Request) -> dict:
    """An admin call's body: a JSON object, or a 400 that says what is wrong."""
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        raise errors.bad_request("the body of the request is not JSON") from None
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request must be a JSON object")
    return body


def install(cluster: Cluster) -> None:
    server = cluster.server
    clock = cluster.clock

    def describe() -> web.Response:
        return web.json_response({"speed": clock.speed, "now": format_time(clock.now()),
                                  "manual": isinstance(clock, ManualClock)})

    async def get_clock(request: web.Request) -> web.Response:
        return describe()

    async def put_clock(request: web.Request) -> web.Response:
        body = await read_json(request)
        speed = body.get("speed")
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0 < speed <= 10_000:
            raise errors.invalid_object("Clock", "sim", "clock", [
                errors.invalid("speed", speed, "must be a number greater than 0 and at most 10000")])
        clock.set_speed(float(speed))
        return describe()

    async def advance_clock(request: web.Request) -> web.Response:
        body = await read_json(request)
        seconds = body.get("seconds")
        if not isinstance(clock, ManualClock):
            raise errors.bad_request("only a manual clock can be advanced; change its speed instead")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise errors.invalid_object("Clock", "sim", "clock", [
                errors.invalid("seconds", seconds, "must be a number of seconds, 0 or more")])
        clock.advance(float(seconds))
        return describe()

    server.admin_routes += [
        ("GET", "/sim/v1/clock", get_clock),
        ("PUT", "/sim/v1/clock", put_clock),
        ("POST", "/sim/v1/clock/advance", advance_clock),
    ]
