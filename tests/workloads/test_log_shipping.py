"""The logging sidecar for real: log_writer's file, log_shipper, log_aggregator over HTTP.

Real files in tmp_path and a real aggregator on 127.0.0.1; only the shipper's clock and sleep
are fake, so minutes of back-off pass in no wall time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import pytest

from k8s_course.workloads import log_aggregator, log_shipper, log_writer, program_path

POD = "web-1"


class FakeTime:
    """A clock that moves only when the shipper sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.on_sleep = lambda: None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.on_sleep()


@pytest.fixture
def aggregator():
    with log_aggregator.AggregatorServer() as server:
        yield server


@pytest.fixture
def fake_time():
    return FakeTime()


def write(path, first: int, count: int) -> None:
    log_writer.write_lines(str(path), POD, rate=1000, count=count, first=first, sleep=lambda _: None)


def make_shipper(tmp_path, url, fake_time, **settings) -> log_shipper.Shipper:
    settings = {"max_lines": 50, "max_wait": 1.0, "poll_interval": 0.2, **settings}
    return log_shipper.Shipper(
        str(tmp_path / "app.log"),
        url + "/ingest",
        POD,
        str(tmp_path / "shipper.state"),
        backoff=log_shipper.Backoff(base=1, cap=30, jitter=False),
        clock=fake_time.clock,
        sleep=fake_time.sleep,
        log=lambda message: None,
        **settings,
    )


def ship_until(shipper, lines: int, steps: int = 200) -> None:
    for _ in range(steps):
        if shipper.shipped >= lines:
            return
        shipper.step()
    raise AssertionError(f"shipped {shipper.shipped} lines of {lines} in {steps} steps")


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def numbers(lines: list[str]) -> list[int]:
    return [log_writer.line_number(line) for line in lines]


def test_500_lines_arrive_in_batches_of_at_most_50(tmp_path, aggregator, fake_time):
    write(tmp_path / "app.log", 1, 500)
    shipper = make_shipper(tmp_path, aggregator.url, fake_time)

    ship_until(shipper, 500)

    assert get(aggregator.url + "/stats")["pods"][POD] == {"lines": 500, "duplicates": 0, "batches": 10, "missing": 0}
    shipped = get(aggregator.url + f"/lines?pod={POD}")["lines"]
    assert shipped == (tmp_path / "app.log").read_text().splitlines()


def test_a_short_batch_waits_max_wait_then_goes(tmp_path, aggregator, fake_time):
    write(tmp_path / "app.log", 1, 7)
    shipper = make_shipper(tmp_path, aggregator.url, fake_time, max_wait=1.0)

    ship_until(shipper, 7)

    assert fake_time.sleeps == [0.2] * 5  # 1 s of polling, then the 7 lines went as one batch
    assert get(aggregator.url + "/stats")["pods"][POD]["batches"] == 1


def test_an_aggregator_outage_of_30_seconds_loses_and_duplicates_nothing(tmp_path, aggregator, fake_time):
    log = tmp_path / "app.log"
    write(log, 1, 200)
    shipper = make_shipper(tmp_path, aggregator.url, fake_time)
    ship_until(shipper, 200)
    port, store = aggregator.port, aggregator.store
    aggregator.stop()
    write(log, 201, 300)
    outage_starts = fake_time.now
    restarted = []

    def restart_after_30_seconds():
        if not restarted and fake_time.now - outage_starts >= 30:
            restarted.append(log_aggregator.AggregatorServer(store, port=port).start())

    fake_time.on_sleep = restart_after_30_seconds
    try:
        ship_until(shipper, 500)
    finally:
        for server in restarted:
            server.stop()

    assert [s for s in fake_time.sleeps if s >= 1] == [1, 2, 4, 8, 16]  # back-off, no jitter
    assert shipper.failures == 5
    assert store.stats()["pods"][POD] == {"lines": 500, "duplicates": 0, "batches": 10, "missing": 0}
    assert numbers(store.lines(POD)) == list(range(1, 501))


def test_a_batch_whose_answer_was_lost_is_resent_and_stored_once(tmp_path, aggregator, fake_time):
    write(tmp_path / "app.log", 1, 120)
    answers_lost = []

    def send_but_lose_the_first_answer(url, payload):
        answer = log_shipper.post_batch(url, payload)
        if not answers_lost:
            answers_lost.append(payload)
            raise log_shipper.ShipError("connection reset before the answer")
        return answer

    shipper = make_shipper(tmp_path, aggregator.url, fake_time, send=send_but_lose_the_first_answer)
    ship_until(shipper, 120)

    assert aggregator.store.stats()["pods"][POD] == {"lines": 120, "duplicates": 50, "batches": 4, "missing": 0}
    assert numbers(aggregator.store.lines(POD)) == list(range(1, 121))


def test_a_restarted_shipper_resumes_from_its_state_file(tmp_path, aggregator, fake_time):
    log = tmp_path / "app.log"
    write(log, 1, 200)
    first = make_shipper(tmp_path, aggregator.url, fake_time)
    ship_until(first, 200)
    first.close()
    write(log, 201, 100)

    second = make_shipper(tmp_path, aggregator.url, fake_time)
    ship_until(second, 100)

    assert second.shipped == 100
    assert aggregator.store.stats()["pods"][POD]["duplicates"] == 0
    assert numbers(aggregator.store.lines(POD)) == list(range(1, 301))
    assert json.loads((tmp_path / "shipper.state").read_text())["next_sequence"] == 300


def test_a_truncated_file_is_read_again_from_its_start(tmp_path, aggregator, fake_time):
    log = tmp_path / "app.log"
    write(log, 1, 100)
    shipper = make_shipper(tmp_path, aggregator.url, fake_time)
    ship_until(shipper, 100)
    log.write_text("")  # copytruncate, as logrotate does it
    write(log, 101, 50)

    ship_until(shipper, 150)

    assert numbers(aggregator.store.lines(POD)) == list(range(1, 151))
    assert aggregator.store.stats()["pods"][POD]["duplicates"] == 0


def test_a_rotated_file_is_finished_before_the_new_one_is_followed(tmp_path, aggregator, fake_time):
    log = tmp_path / "app.log"
    write(log, 1, 100)
    shipper = make_shipper(tmp_path, aggregator.url, fake_time)
    ship_until(shipper, 100)
    write(log, 101, 20)  # written before the rotation, not read yet
    os.rename(log, tmp_path / "app.log.1")
    write(log, 121, 30)

    ship_until(shipper, 150)

    assert numbers(aggregator.store.lines(POD)) == list(range(1, 151))


def test_a_half_written_last_line_waits_for_its_newline(tmp_path, aggregator, fake_time):
    log = tmp_path / "app.log"
    log.write_text("first\nsec")
    shipper = make_shipper(tmp_path, aggregator.url, fake_time, max_lines=1)
    ship_until(shipper, 1)
    with open(log, "a") as file:
        file.write("ond\n")

    ship_until(shipper, 2)

    assert aggregator.store.lines(POD) == ["first", "second"]


def test_the_aggregator_journal_survives_a_restart(tmp_path):
    journal = str(tmp_path / "journal.jsonl")
    with log_aggregator.AggregatorServer(journal=journal) as server:
        request = urllib.request.Request(
            server.url + "/ingest",
            data=json.dumps({"pod": POD, "entries": [{"seq": 0, "line": "a"}, {"seq": 1, "line": "b"}]}).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read()) == {"accepted": 2, "duplicates": 0}

    with log_aggregator.AggregatorServer(journal=journal) as again:
        assert get(again.url + f"/lines?pod={POD}") == {"pod": POD, "lines": ["a", "b"]}


def test_back_off_doubles_up_to_its_cap_and_starts_again_after_a_success():
    backoff = log_shipper.Backoff(base=1, cap=30, jitter=False)
    delays = [backoff.next_delay() for _ in range(7)]
    backoff.reset()

    assert delays == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.next_delay() == 1


def test_jitter_draws_each_delay_below_its_ceiling():
    draws = iter([0.5, 0.25, 1.0])
    backoff = log_shipper.Backoff(base=1, cap=30, jitter=True, uniform=lambda: next(draws))

    assert [backoff.next_delay() for _ in range(3)] == [0.5, 0.5, 4.0]


def test_a_nacked_batch_comes_back_with_the_same_sequence_numbers():
    batcher = log_shipper.Batcher("p", max_lines=2, max_wait=10)
    for number in range(3):
        batcher.add(f"line {number}", cursor=number, now=0)
    first = batcher.next_batch(now=0)
    batcher.nack(first)

    assert batcher.next_batch(now=0) is first
    assert batcher.ack(first) == 1
    assert batcher.next_batch(now=5) is None  # one line left, not old enough yet
    assert batcher.next_batch(now=10).payload() == {"pod": "p", "entries": [{"seq": 2, "line": "line 2"}]}


def test_the_writer_runs_as_its_own_program(tmp_path):
    log = tmp_path / "logs" / "app.log"
    env = dict(os.environ, LOG_FILE=str(log), POD_NAME=POD, RATE="1000", LINES="5")
    finished = subprocess.run(
        [sys.executable, str(program_path("log_writer"))], env=env, capture_output=True, text=True, timeout=10
    )

    assert finished.returncode == 0, finished.stderr
    lines = log.read_text().splitlines()
    assert numbers(lines) == [1, 2, 3, 4, 5]
    assert lines[0].split(" ", 1)[1] == f"{POD} line 1"
