"""The README's first command on a machine with no terminal and no display, and the store rules
around it (a failed ingest leaves nothing, an empty store says so, a read-only disk reads)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

#: the console script as the README runs it (the venv's), else the same entry point via Python
_SCRIPT = Path(sys.executable).parent / "graphcrm"
GRAPHCRM = ([str(_SCRIPT)] if _SCRIPT.exists()
            else [sys.executable, "-c", "from graphcrm.cli import main; main()"])


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"DISPLAY", "WAYLAND_DISPLAY", "GRAPHCRM_STORE", "GRAPHCRM_CONFIG"}}
    return {**env, "HOME": str(home), "PYTHONPATH": str(ROOT)}


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(GRAPHCRM + args, cwd=cwd, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)


def test_readme_first_command_serves_headless_and_stops_on_sigterm(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "graphcrm demo" in readme
    home = tmp_path / "home"
    home.mkdir()
    env = _env(home)
    log = tmp_path / "demo.log"
    # exactly as a user without a terminal would: setsid, no stdin, output to a file
    with open(log, "wb") as out:
        proc = subprocess.Popen(["setsid", *GRAPHCRM, "demo"], cwd=tmp_path, env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    port = None
    try:
        deadline = time.monotonic() + 300
        while port is None:
            text = log.read_text(encoding="utf-8", errors="replace")
            m = re.search(r"^http://localhost:(\d+)$", text, re.M)
            if m:
                port = int(m.group(1))
                break
            assert proc.poll() is None, f"demo exited {proc.returncode}: {text[-2000:]}"
            assert time.monotonic() < deadline, f"no URL printed: {text[-2000:]}"
            time.sleep(0.5)
        with urllib.request.urlopen(f"http://localhost:{port}/", timeout=10) as resp:
            assert resp.status == 200
        text = log.read_text(encoding="utf-8", errors="replace")
        assert "email" not in text.lower(), "Streamlit asked for an e-mail"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while _listening(port) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert not _listening(port), "the app still serves after SIGTERM to graphcrm demo"
    finally:
        if proc.poll() is None:
            proc.kill()
    # the README's task commands now work with no flags, in this folder
    assert (tmp_path / "graphcrm.db").exists()
    stats = _run(["stats", "--json"], tmp_path, env)
    assert stats.returncode == 0, stats.stderr
    hubs = _run(["hubs", "--top", "3"], tmp_path, env)
    assert hubs.returncode == 0, hubs.stderr
    # a second demo run may recreate its own store, but never a store of real data
    other = tmp_path / "real"
    other.mkdir()
    made = _run(["ingest", str(ROOT / "tests" / "data" / "ingest")], other, env)
    assert made.returncode == 0, made.stderr
    before = (other / "graphcrm.db").stat().st_mtime_ns
    refused = _run(["demo", "--no-browser"], other, env)
    assert refused.returncode == 1
    assert "not the demo" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert (other / "graphcrm.db").stat().st_mtime_ns == before


def test_failed_ingest_leaves_no_store_and_empty_store_says_so(tmp_path: Path) -> None:
    env = _env(tmp_path)
    missing = _run(["ingest", str(tmp_path / "nowhere"), "--store", "a.db"], tmp_path, env)
    assert missing.returncode == 1
    assert not list(tmp_path.glob("a.db*"))
    bad = tmp_path / "clients.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    wrong = _run(["ingest", str(bad), "--store", "a.db"], tmp_path, env)
    assert wrong.returncode == 1
    assert not list(tmp_path.glob("a.db*")), "a failed first load left a store file"
    header_only = tmp_path / "agents.csv"
    header_only.write_text("agent_id,name,hire_date,status\n", encoding="utf-8")
    empty = _run(["ingest", str(header_only), "--store", "a.db"], tmp_path, env)
    assert empty.returncode == 1
    assert not list(tmp_path.glob("a.db*"))
    # an empty store made some other way: the metric commands say what to do
    from graphcrm.store.sqlite import SQLiteStore

    SQLiteStore(tmp_path / "e.db").close()
    for args in (["map", "--agent", "A1"], ["paths", "--from", "A1", "--to", "C1"],
                 ["hubs"], ["gaps", "--agent", "A1"], ["rewards", "--period", "2026-10"]):
        out = _run([*args, "--store", "e.db"], tmp_path, env)
        assert out.returncode == 1, args
        assert "the store is empty: run graphcrm ingest" in out.stderr, (args, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1


def test_store_on_a_read_only_disk_can_be_read(tmp_path: Path) -> None:
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("needs root to mount a read-only file system")
    env = _env(tmp_path)
    made = _run(["ingest", str(ROOT / "tests" / "data" / "ingest"), "--store", "s.db"],
                tmp_path, env)
    assert made.returncode == 0, made.stderr
    disk = tmp_path / "ro"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "none", str(disk)]).returncode != 0:
        pytest.skip("cannot mount here")
    try:
        for f in tmp_path.glob("s.db*"):
            shutil.copy(f, disk / f.name)
        assert subprocess.run(["mount", "-o", "remount,ro", str(disk)]).returncode == 0
        with pytest.raises(OSError):
            (disk / "probe").write_text("x")
        stats = _run(["stats", "--json", "--store", str(disk / "s.db")], tmp_path, env)
        assert stats.returncode == 0, stats.stderr
        assert '"Client"' in stats.stdout
        hubs = _run(["hubs", "--top", "2", "--store", str(disk / "s.db")], tmp_path, env)
        assert hubs.returncode == 0, hubs.stderr
    finally:
        subprocess.run(["umount", str(disk)])
