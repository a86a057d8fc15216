"""The config-reloading app for real: real files and symlinks in tmp_path, real HTTP, and once
as its own process (`python config_reloader.py`) to show that a reload is not a restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from k8s_course.workloads import config_reloader, program_path


def get_config(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=5) as response:
        return json.loads(response.read())


def write_configmap_volume(volume, files: dict[str, str], version: int) -> None:
    """Do what the kubelet does to a ConfigMap volume: a new timestamped folder, a `..data`
    symlink swapped to it by rename (atomic), links from each key to `..data/<key>`."""
    folder = volume / f"..2024_01_01_00_00_0{version}.000000001"
    folder.mkdir()
    for key, text in files.items():
        (folder / key).write_text(text)
    old = os.readlink(volume / "..data") if (volume / "..data").is_symlink() else None
    os.symlink(folder.name, volume / "..data_tmp")
    os.rename(volume / "..data_tmp", volume / "..data")
    for key in files:
        if not (volume / key).is_symlink():
            os.symlink(f"..data/{key}", volume / key)
    if old:
        for stale in (volume / old).iterdir():
            stale.unlink()
        (volume / old).rmdir()


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"greeting": "hello", "replicas": 2}')
    return path


def test_an_edited_file_is_served_after_one_reload(config_file):
    with config_reloader.ConfigReloader(str(config_file), log=lambda message: None) as reloader:
        before = get_config(reloader.port)
        config_file.write_text('{"greeting": "bonjour", "replicas": 2}')
        assert reloader.check() is True
        after = get_config(reloader.port)

    assert (before["config"]["greeting"], before["reloads"]) == ("hello", 0)
    assert (after["config"]["greeting"], after["reloads"]) == ("bonjour", 1)
    assert after["pid"] == before["pid"] == os.getpid()


def test_the_same_content_written_again_is_no_reload(config_file):
    reloader = config_reloader.ConfigReloader(str(config_file), log=lambda message: None)
    config_file.write_text(config_file.read_text())

    assert reloader.check() is False
    assert reloader.report()["reloads"] == 0
    reloader.stop()


def test_an_invalid_config_keeps_the_old_one_and_counts_one_error(config_file):
    reloader = config_reloader.ConfigReloader(str(config_file), log=lambda message: None)
    config_file.write_text('{"greeting": ')
    reloader.check()
    reloader.check()  # the same bad content at the next poll is not a second error

    report = reloader.report()
    reloader.stop()
    assert report["config"] == {"greeting": "hello", "replicas": 2}
    assert (report["reloads"], report["errors"]) == (0, 1)
    assert report["last_error"].startswith("Expecting value")


def test_a_configmap_symlink_swap_is_detected(tmp_path):
    volume = tmp_path / "config"
    volume.mkdir()
    write_configmap_volume(volume, {"app.conf": "# v1\ncolor = blue\n"}, version=1)
    reloader = config_reloader.ConfigReloader(str(volume / "app.conf"), log=lambda message: None)
    first = reloader.report()

    write_configmap_volume(volume, {"app.conf": "# v2\ncolor = green\n"}, version=2)
    changed = reloader.check()

    second = reloader.report()
    reloader.stop()
    assert changed is True
    assert (first["config"], second["config"]) == ({"color": "blue"}, {"color": "green"})
    assert second["reloads"] == 1
    assert first["source"].endswith("..2024_01_01_00_00_01.000000001/app.conf")
    assert second["source"].endswith("..2024_01_01_00_00_02.000000001/app.conf")


def test_key_value_lines_say_which_line_is_wrong():
    with pytest.raises(ValueError, match="line 2 is not `key = value`"):
        config_reloader.parse_config("a = 1\nnonsense\n")


def test_as_its_own_process_it_reloads_without_restarting(tmp_path):
    volume = tmp_path / "config"
    volume.mkdir()
    write_configmap_volume(volume, {"config.json": '{"mode": "calm"}'}, version=1)
    env = dict(os.environ, CONFIG_FILE=str(volume / "config.json"), HOST="127.0.0.1", PORT="0", POLL_INTERVAL="0.05")
    process = subprocess.Popen(
        [sys.executable, str(program_path("config_reloader"))], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        first_lines = [process.stdout.readline() for _ in range(2)]
        assert first_lines[0].startswith("config-reloader: config version ")
        banner = first_lines[1]
        assert banner.startswith("config-reloader: listening on 127.0.0.1:")
        port = int(banner.rsplit(":", 1)[1])
        assert get_config(port)["config"] == {"mode": "calm"}

        write_configmap_volume(volume, {"config.json": '{"mode": "busy"}'}, version=2)
        deadline = time.monotonic() + 5
        while (answer := get_config(port))["reloads"] == 0 and time.monotonic() < deadline:
            time.sleep(0.02)  # a few polls of 0.05 s at most

        assert answer["config"] == {"mode": "busy"}
        assert answer["reloads"] == 1
        assert answer["pid"] == process.pid  # the same process: reloaded, not restarted
        assert process.poll() is None
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0
        process.stdout.close()
