"""``graphcrm demo``: load the bundled sample into a fresh embedded store and open the app."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import click

from graphcrm.cli.common import fail
from graphcrm.ingest.job import ingest_paths
from graphcrm.store.sqlite import SQLiteStore
from graphcrm.workspace import warm_graph

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


@click.command("demo")
@click.option("--store", "store", default=str(DEFAULT_STORE), show_default=True,
              metavar="PATH", help="SQLite file to recreate with the sample data.")
@click.option("--port", default=8501, show_default=True, help="Port of the app.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser window.")
def demo(store: str, port: int, no_browser: bool) -> None:
    """Load data/sample into a FRESH store and start the app on it.

    The app opens on the client operation map of the agent with the biggest book.
    """
    path = Path(store).expanduser()
    try:
        counts = build_demo_store(path)
    except Exception as exc:
        fail(f"could not load the sample into {path}: {exc}")
        return
    click.echo(f"demo store: {path}  ({counts.get('Client', 0):,} clients, "
               f"{counts.get('Agent', 0)} agents)")
    env = {**os.environ, "GRAPHCRM_STORE": str(path)}
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
           "--server.headless", "true" if no_browser else "false",
           "--browser.gatherUsageStats", "false"]
    click.echo(f"app: http://localhost:{port}   (Ctrl+C to stop)")
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(subprocess.call(cmd, cwd=str(ROOT), env=env))


COMMANDS: list[click.Command] = [demo]
