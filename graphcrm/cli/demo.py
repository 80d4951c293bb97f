"""``graphcrm demo``: load the bundled sample into a fresh embedded store and open the app."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import click

from graphcrm.cli.access import new_password
from graphcrm.cli.common import fail
from graphcrm.config import load_settings
from graphcrm.ingest.job import ingest_paths
from graphcrm.store.access import AccessStore
from graphcrm.store.sqlite import SQLiteStore
from graphcrm.workspace import load_graph, warm_graph

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
APP = ROOT / "app.py"
DEFAULT_STORE = Path.home() / ".graphcrm" / "demo.db"


def build_demo_store(store_path: Path, sample: Path = SAMPLE) -> dict[str, int]:
    """Recreate ``store_path`` and load the sample files with the ingest job.

    Returns
    -------
    dict
        The store's counts after loading.
    """
    store_path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal", ".analysis"):
        Path(f"{store_path}{suffix}").unlink(missing_ok=True)
    files = sorted(p for p in sample.iterdir() if p.suffix.lower() in {".csv", ".xlsx"})
    if not files:
        raise click.ClickException(f"no sample files in {sample}")
    with SQLiteStore(store_path) as store:
        ingest_paths(files, store)
        warm_graph(store)  # the app opens on a ready graph
        return store.counts()


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
@click.option("--store", "store", default=str(DEFAULT_STORE), show_default=True,
              metavar="PATH", help="SQLite file to recreate with the sample data.")
@click.option("--port", default=8501, show_default=True, help="Port of the app.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser window.")
@click.option("--address", default="127.0.0.1", show_default=True,
              help="Address the app listens on (127.0.0.1: this machine only).")
def demo(store: str, port: int, no_browser: bool, address: str) -> None:
    """Load data/sample into a FRESH store and start the app on it.

    The app opens on the client operation map of the agent with the biggest book.
    """
    path = Path(store).expanduser()
    try:
        counts = build_demo_store(path)
        users = demo_users(path)
    except Exception as exc:
        fail(f"could not load the sample into {path}: {exc}")
        return
    click.echo(f"demo store: {path}  ({counts.get('Client', 0):,} clients, "
               f"{counts.get('Agent', 0)} agents)")
    click.echo("sign in with one of (new passwords every run):")
    for name, password, role in users:
        click.echo(f"user: {name}  password: {password}  role: {role}")
    env = {**os.environ, "GRAPHCRM_STORE": str(path)}
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
           "--server.headless", "true" if no_browser else "false",
           "--browser.gatherUsageStats", "false", "--server.address", address]
    click.echo(f"app: http://{address}:{port}   (Ctrl+C to stop)")
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(subprocess.call(cmd, cwd=str(ROOT), env=env))


COMMANDS: list[click.Command] = [demo]
