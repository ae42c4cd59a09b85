import os
import signal
import time

import pytest

from stratusec import config as config_mod
from stratusec.demo import manager
from tests.cli_helpers import run_cli


@pytest.mark.slow
def test_demo_up_twice_status_stale_and_down(capsys):
    st, started = manager.up()
    try:
        assert started
        assert st.url.startswith("http://127.0.0.1:")
        acct = config_mod.load().account("acme-prod")
        assert acct.endpoint_url == st.url and acct.credentials.source == "emulator"
        assert acct.regions == ["us-east-1", "eu-west-1"]

        again, started_again = manager.up()  # harmless second time
        assert not started_again and again.pid == st.pid

        r = run_cli(capsys, "demo", "status", "--output", "json")
        assert r.code == 0 and '"status": "running"' in r.out

        # A crashed server leaves a stale pid/port behind: detected and replaced.
        os.kill(st.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while manager.status()[0] != "stale" and time.monotonic() < deadline:
            manager._reap(st.pid)
            time.sleep(0.1)
        assert manager.status()[0] == "stale"
        r = run_cli(capsys, "demo", "status")
        assert r.code == 1 and "stale" in r.out
        fresh, started = manager.up()
        assert started and fresh.pid != st.pid
        assert config_mod.load().account("acme-prod").endpoint_url == fresh.url
        st = fresh
    finally:
        assert manager.down() in ("stopped", "stale")
    assert manager.status() == ("stopped", None)
    assert manager.down() == "not running"
    r = run_cli(capsys, "demo", "down")
    assert "not running" in r.out


def test_status_when_never_started(capsys):
    r = run_cli(capsys, "demo", "status")
    assert r.code == 3 and "stopped" in r.out


def test_garbage_state_file_is_treated_as_stopped(stratusec_home):
    manager.demo_dir().mkdir(parents=True)
    manager.state_file().write_text("{not json")
    assert manager.status() == ("stopped", None)


def test_pid_of_another_process_is_stale(stratusec_home):
    manager.demo_dir().mkdir(parents=True)
    manager.state_file().write_text(
        f'{{"pid": {os.getpid()}, "port": 9, "url": "http://127.0.0.1:9", '
        '"account_id": "123456789012"}'
    )
    state, st = manager.status()
    assert state == "stale" and st is not None
    assert manager.down() == "stale"  # cleans up without killing the unrelated process
    assert not manager.state_file().exists()
