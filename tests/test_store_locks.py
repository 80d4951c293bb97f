"""Readers are never blocked by a writer; a busy store says so; a killed process leaves no
temporary files and no checker process behind (issue 14)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graphcrm.ingest.job import ingest_paths
from graphcrm.store.base import StoreError
from graphcrm.store.sqlite import SQLiteStore

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
CLI = [sys.executable, "-c", "from graphcrm.cli import main; main()"]

HOLD_WRITE_LOCK = """
import sys, time
from graphcrm.store.sqlite import SQLiteStore
store = SQLiteStore(sys.argv[1], create=False)
with store.transaction():
    store._conn.execute("UPDATE meta SET value = value WHERE key = 'created'")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def loaded(tmp_path: Path) -> Path:
    db = tmp_path / "crm.db"
    with SQLiteStore(db) as store:
        ingest_paths([SAMPLE / "agents.csv", SAMPLE / "organizations.csv"], store)
    return db


def _hold_lock(db: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD_WRITE_LOCK, str(db), str(seconds)],
                            stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_reading_while_another_process_writes(loaded: Path) -> None:
    writer = _hold_lock(loaded, 120)
    try:
        # the store's own busy timeout is 30 s: had the open taken a write lock, this would
        # end in "database is locked" (and the subprocess timeout stops a hang)
        res = subprocess.run([*CLI, "stats", "--json", "--store", str(loaded)],
                             capture_output=True, text=True, timeout=25, env=os.environ.copy())
        assert res.returncode == 0, res.stderr
        assert '"Agent":14' in res.stdout.replace(" ", "").replace("\n", "")
        with SQLiteStore(loaded, create=False, busy_timeout=0.1) as store:
            assert store.counts()["Organization"] == 60
    finally:
        writer.kill()
        writer.wait()


def test_a_busy_store_says_so(loaded: Path) -> None:
    writer = _hold_lock(loaded, 120)
    try:
        store = SQLiteStore(loaded, create=False, busy_timeout=0.2)
        with store, pytest.raises(StoreError, match="the store is busy: another process is "
                                  "writing"), store.transaction():
            pass
    finally:
        writer.kill()
        writer.wait()


def test_stale_snapshot_temp_files_are_removed_at_the_next_open(loaded: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = loaded.with_name(loaded.name + f".analysis.{dead.pid}.tmp")
    stale.write_bytes(b"half a snapshot")
    live = loaded.with_name(loaded.name + f".analysis.{os.getpid()}.tmp")
    live.write_bytes(b"being written")
    other = loaded.with_name("unrelated.1.tmp")
    other.write_bytes(b"")
    SQLiteStore(loaded, create=False).close()
    assert not stale.exists()
    assert live.exists() and other.exists()


def test_the_checker_process_exits_when_the_ingest_is_killed(tmp_path: Path) -> None:
    """kill -9 of an ingest running the two-process pipeline leaves no checker behind."""
    cfg = tmp_path / "c.toml"
    cfg.write_text("[ingest]\npipeline_min_bytes = 0\nbatch_rows = 200\n", encoding="utf-8")
    env = dict(os.environ, GRAPHCRM_CONFIG=str(cfg))
    proc = subprocess.Popen([*CLI, "ingest", str(SAMPLE), "--store", str(tmp_path / "k.db"),
                             "--no-warm"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: list[int] = []
    deadline = time.monotonic() + 60
    while not children and time.monotonic() < deadline and proc.poll() is None:
        children = _children(proc.pid)
        time.sleep(0.02)
    if not children:
        proc.kill()
        proc.wait()
        pytest.skip("the ingest finished before its checker could be seen")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(c) for c in children)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


PARENT = """
import subprocess, sys, os
child = subprocess.Popen([sys.executable, "-c",
    "import sys, time; from graphcrm.ingest.job import _die_with_parent; "
    "_die_with_parent(int(sys.argv[1])); print('armed', flush=True); time.sleep(600)",
    str(os.getpid())], stdout=subprocess.PIPE, text=True)
assert child.stdout.readline().strip() == "armed"
print(child.pid, flush=True)
import time; time.sleep(600)
"""


def test_a_busy_checker_dies_with_its_parent() -> None:
    """The checker may be deep in a big file when the ingest is killed: it does not wait to
    find a broken pipe, it ends with its parent."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True,
                              env=os.environ.copy())
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert _alive(child)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 30
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _alive(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive
