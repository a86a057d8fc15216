"""The simulator's one clock: speed, manual steps, and the admin API that changes them."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest

from k8s_course.sim.clock import Clock, ManualClock, format_time


def test_a_manual_clock_wakes_sleepers_only_when_advanced_past_their_deadline():
    clock = ManualClock(start=1000.0)
    woke: list[float] = []

    async def scenario():
        runner = asyncio.ensure_future(clock.run())
        sleepers = [asyncio.ensure_future(_sleep_then_note(clock, s, woke)) for s in (10, 300, 20)]
        await asyncio.sleep(0)
        clock.advance(15)
        await asyncio.sleep(0.01)
        assert woke == [1015.0]
        clock.advance(285)
        await asyncio.gather(*sleepers)
        runner.cancel()

    asyncio.run(scenario())
    assert woke == [1015.0, 1300.0, 1300.0]


async def _sleep_then_note(clock, seconds, woke):
    await clock.sleep(seconds)
    woke.append(clock.now())


def test_a_fast_clock_runs_simulated_time_faster_than_the_wall():
    clock = Clock(speed=1000)

    async def scenario():
        runner = asyncio.ensure_future(clock.run())
        began = clock.now()
        loop = asyncio.get_running_loop()
        wall = loop.time()
        await clock.sleep(300)  # five simulated minutes
        elapsed_wall = loop.time() - wall
        runner.cancel()
        return clock.now() - began, elapsed_wall

    simulated, wall = asyncio.run(scenario())
    assert simulated >= 300
    assert wall < 3  # 0.3 s at x1000, with room for a slow machine


def test_changing_speed_keeps_time_continuous():
    clock = ManualClock(start=500.0)
    clock.set_speed(10)
    assert clock.now() == 500.0
    with pytest.raises(ValueError):
        clock.set_speed(0)


def test_timestamps_are_rfc3339_in_utc():
    assert format_time(1_800_000_000.7) == "2027-01-15T08:00:00Z"


def _admin(simulator, method, path, body=None):
    request = urllib.request.Request(simulator.url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {simulator.token}"})
    try:
        with urllib.request.urlopen(request, context=simulator.ssl_context()) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_admin_api_changes_the_clock_speed_and_refuses_nonsense(simulator):
    status, answer = _admin(simulator, "PUT", "/sim/v1/clock", {"speed": 10})
    assert status == 200 and answer["speed"] == 10.0
    try:
        status, answer = _admin(simulator, "PUT", "/sim/v1/clock", {"speed": -1})
        assert status == 422 and answer["reason"] == "Invalid"
        assert answer["message"].endswith("speed: Invalid value: -1: must be a number greater than 0 and at most 10000")
    finally:
        _admin(simulator, "PUT", "/sim/v1/clock", {"speed": 1})


def test_the_admin_api_needs_the_token(simulator):
    request = urllib.request.Request(simulator.url + "/sim/v1/clock")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, context=simulator.ssl_context())
    assert caught.value.code == 401
