"""``graphcrm bench app``: page render times of the app (first load and cached) via AppTest."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from graphcrm.ingest.job import ingest_paths
from graphcrm.store.sqlite import SQLiteStore
from graphcrm.synth import generate
from graphcrm.workspace import warm_graph

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
PAGES = ["page_opmap", "page_paths", "page_penetration", "page_hubs", "page_rewards",
         "page_gaps", "page_data"]


def load_files(files_dir: Path, store_path: Path) -> Path:
    """Load the six template files of ``files_dir`` into a new SQLite store with the ingest
    job (:func:`graphcrm.ingest.job.ingest_paths`)."""
    store = SQLiteStore(store_path)
    try:
        ingest_paths(sorted(files_dir.glob("*.csv")), store)
    finally:
        store.close()
    return store_path


def time_pages(store_path: Path, lang: str = "en", timeout: float = 900.0
               ) -> list[dict[str, object]]:
    """Render every page twice in one AppTest session; seconds for the first and cached run."""
    # imported on use: Streamlit costs every other `graphcrm` command a second of start-up
    from streamlit.testing.v1 import AppTest

    os.environ["GRAPHCRM_STORE"] = str(store_path)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    t0 = time.perf_counter()
    at.run()
    rows: list[dict[str, object]] = [{"page": "app start (page_opmap)",
                                      "first_s": round(time.perf_counter() - t0, 3)}]
    at.sidebar.radio(key="lang").set_value(lang)
    for page in PAGES:
        t0 = time.perf_counter()
        at.sidebar.radio(key="page").set_value(page).run()
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        at.run()
        again = time.perf_counter() - t0
        errors = [e.value for e in at.exception] + [e.value for e in at.error]
        rows.append({"page": page, "first_s": round(first, 3), "cached_s": round(again, 3),
                     "errors": errors[:1]})
        click.echo(f"  {page}: first {first:.2f} s, cached {again:.2f} s", err=True)
    return rows


def run_app_bench(clients: int = 0, seed: int = 7, warm: bool = True) -> dict[str, Any]:
    """Load the sample (or ``clients`` generated clients), optionally warm the analysis graph
    as ``graphcrm ingest`` does, and time every page: ``{"pages", "load_s", "warm_s"}``."""
    with tempfile.TemporaryDirectory() as tmp:
        files = SAMPLE
        if clients:
            files = Path(tmp) / "files"
            generate(files, clients, seed)
        t0 = time.perf_counter()
        store = load_files(files, Path(tmp) / "bench.db")
        load_s = time.perf_counter() - t0
        warm_s = None
        if warm:
            t0 = time.perf_counter()
            with SQLiteStore(store) as opened:
                warm_graph(opened)
            warm_s = round(time.perf_counter() - t0, 2)
        rows = time_pages(store)
    return {"pages": rows, "load_s": load_s, "warm_s": warm_s}
