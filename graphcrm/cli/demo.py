"""``graphcrm demo``: load the bundled sample into the store and serve the app on it.

The demo store follows the same rule as every command (``--store``, else ``$GRAPHCRM_STORE``,
else ``./graphcrm.db``), so every command of the README works on it afterwards with no flags.
A store that holds other data than the demo's is never overwritten.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
import webbrowser
from pathlib import Path
from types import FrameType

import click

from graphcrm.cli.access import new_password
from graphcrm.cli.common import fail
from graphcrm.config import load_settings, store_location
from graphcrm.ingest.job import ingest_paths
from graphcrm.store.access import AccessStore
from graphcrm.store.sqlite import SQLiteStore
from graphcrm.workspace import free_port, load_graph, port_free, streamlit_command, warm_graph

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
#: meta key that marks a store the demo made (and may therefore recreate)
DEMO_MARK = "origin"
DEMO_ORIGIN = "demo"
DEFAULT_PORT = 8501
#: seconds the app gets to answer its health check before the demo gives up
START_TIMEOUT_S = 120.0


def _store_files(store_path: Path) -> list[Path]:
    return [Path(f"{store_path}{s}") for s in ("", "-wal", "-shm", "-journal", ".analysis")]


def is_demo_store(store_path: Path) -> bool:
    """True when ``store_path`` is absent or was made by ``graphcrm demo`` (safe to recreate)."""
    if not store_path.exists():
        return True
    try:
        uri = f"file:{store_path}?mode=ro"
        with sqlite3.connect(uri, uri=True) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (DEMO_MARK,)).fetchone()
    except sqlite3.DatabaseError:
        return store_path.stat().st_size == 0
    return row is not None and row[0] == DEMO_ORIGIN


def build_demo_store(store_path: Path, sample: Path = SAMPLE) -> dict[str, int]:
    """Recreate ``store_path`` and load the sample files with the ingest job.

    Returns
    -------
    dict
        The store's counts after loading.
    """
    files = sorted(p for p in sample.iterdir() if p.suffix.lower() in {".csv", ".xlsx"})
    if not files:
        raise click.ClickException(f"no sample files in {sample}")
    store_path.parent.mkdir(parents=True, exist_ok=True)
    for f in _store_files(store_path):
        f.unlink(missing_ok=True)
    try:
        with SQLiteStore(store_path) as store:
            store.set_meta(DEMO_MARK, DEMO_ORIGIN)
            ingest_paths(files, store)
            warm_graph(store)  # the app opens on a ready graph
            return store.counts()
    except BaseException:
        for f in _store_files(store_path):  # never leave a half-made store behind
            f.unlink(missing_ok=True)
        raise


def can_open_browser() -> bool:
    """A graphical browser can open here: macOS/Windows, or a Linux/BSD desktop session."""
    if sys.platform in {"darwin", "win32"}:
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def demo_users(store_path: Path) -> list[tuple[str, str, str]]:
    """One user per role on the demo store, with fresh random passwords: an admin, the
    manager of the team of the agent with the biggest book, and that agent.

    Returns ``(name, password, role)`` per user.
    """
    with SQLiteStore(store_path, create=False) as store:
        ag = load_graph(store)
    serving = ag.serving
    agent = str(serving.value_counts().index[0])
    team = ag.agents.at[agent, "team"]
    users = [("demo-admin", "admin", {}),
             ("demo-manager", "manager", {"teams": [str(team)]}),
             ("demo-agent", "agent", {"agent_id": agent})]
    out = []
    with AccessStore(store_path, load_settings().access) as acc:
        for name, role, extra in users:
            password = new_password()
            acc.add_user(name, password, role, by="demo", **extra)  # type: ignore[arg-type]
            out.append((name, password, role))
    return out


@click.command("demo")
@click.option("--store", "store", default=None, metavar="PATH",
              help="SQLite file to (re)create with the sample data. Default: $GRAPHCRM_STORE, "
                   "else ./graphcrm.db (the store every other command uses by default).")
@click.option("--port", default=None, type=click.IntRange(1, 65535),
              help=f"Port of the app (default {DEFAULT_PORT}, or a free one if it is taken).")
@click.option("--no-browser", is_flag=True, help="Do not open a browser window.")
@click.option("--address", default="127.0.0.1", show_default=True,
              help="Address the app listens on (127.0.0.1: this machine only).")
def demo(store: str | None, port: int | None, no_browser: bool, address: str) -> None:
    """Load data/sample into the store and serve the app on it (示例数据 + 应用).

    The store is the one every command uses by default (./graphcrm.db, or $GRAPHCRM_STORE),
    so `graphcrm map`, `graphcrm paths` ... work on the demo data afterwards with no flags.
    A store that holds other data is never overwritten: pass --store to use another file.
    Never prompts; opens a browser only where a desktop session can show one; prints the
    app's address. Ctrl+C (or SIGTERM) stops the app.
    """
    location = store_location(store)
    if "://" in location and not location.startswith("sqlite:///"):
        fail(f"the demo loads an embedded store file, not {location}: pass --store demo.db")
    path = Path(location.removeprefix("sqlite:///")).expanduser()
    if not is_demo_store(path):
        fail(f"{path} already holds data that is not the demo's; it is left as it is. "
             f"Pass --store demo.db (or set $GRAPHCRM_STORE) to load the demo elsewhere")
    click.echo(f"loading the sample into {path} ...", err=True)
    try:
        counts = build_demo_store(path)
        users = demo_users(path)
    except Exception as exc:
        fail(f"could not load the sample into {path}: {exc}")
        return
    click.echo(f"demo store: {path}  ({counts.get('Client', 0):,} clients, "
               f"{counts.get('Agent', 0)} agents); every graphcrm command uses it by default "
               f"in this folder")
    click.echo("sign in with one of (new passwords every run):")
    for name, password, role in users:
        click.echo(f"user: {name}  password: {password}  role: {role}")
    if port is None:
        port = DEFAULT_PORT if port_free(DEFAULT_PORT) else free_port()
    elif not port_free(port):
        fail(f"port {port} is already in use: pass another --port")
    env = {**os.environ, "GRAPHCRM_STORE": str(path.resolve())}
    host = "localhost" if address in ("127.0.0.1", "localhost", "::1") else address
    url = f"http://{host}:{port}"
    proc = subprocess.Popen(streamlit_command(port, address), cwd=str(ROOT), env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if proc.poll() is None:
            proc.terminate()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    try:
        probe = f"http://127.0.0.1:{port}" if host == "localhost" else url
        if not _wait_healthy(probe, proc, START_TIMEOUT_S):
            if not stopping:
                fail(f"the app did not start on port {port} (exit code {proc.poll()})")
            return
        click.echo(url)
        click.echo("app ready: open the address above in a browser; Ctrl+C stops it", err=True)
        if not no_browser and can_open_browser():
            webbrowser.open(url)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    if not stopping and proc.returncode:
        sys.exit(proc.returncode)


COMMANDS: list[click.Command] = [demo]
