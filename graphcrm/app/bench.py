"""``graphcrm bench app``: page render times of the app (first load and cached) via AppTest."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import click
import pandas as pd

from graphcrm.model import TABLES

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
PAGES = ["page_opmap", "page_paths", "page_penetration", "page_hubs", "page_rewards",
         "page_gaps", "page_data"]


def load_files(files_dir: Path, store_path: Path) -> Path:
    """Load the six template files of ``files_dir`` into a new SQLite store.

    Uses the ingest job (:func:`graphcrm.ingest.job.ingest_paths`) when it is installed, else
    plain upserts of the (clean, generated) files.
    """
    from graphcrm.store.sqlite import SQLiteStore

    store = SQLiteStore(store_path)
    try:
        try:
            from graphcrm.ingest.job import ingest_paths  # type: ignore[import-not-found]
        except ImportError:
            with store.transaction():
                for table in TABLES:
                    df = pd.read_csv(files_dir / f"{table.name}.csv", dtype=str,
                                     keep_default_na=False).replace("", None)
                    store.upsert(table, df[list(table.column_names)])
        else:
            ingest_paths(sorted(files_dir.glob("*.csv")), store)
    finally:
        store.close()
    return store_path


def time_pages(store_path: Path, lang: str = "en", timeout: float = 900.0
               ) -> list[dict[str, object]]:
    """Render every page twice in one AppTest session; seconds for the first and cached run."""
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


@click.command("app")
@click.option("--clients", default=0, help="Generate this many clients (0 = data/sample).")
@click.option("--seed", default=7, show_default=True)
@click.option("--warm/--no-warm", default=True, show_default=True,
              help="Warm the analysis graph after the load, as `graphcrm ingest` does (timed "
                   "separately as warm_s); --no-warm times pages on a cold store.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def bench_app(clients: int, seed: int, warm: bool, as_json: bool) -> None:
    """Render time of every app page on the sample (or a generated store), first and cached.

    Targets: sample < 2 s per page after the first load; 10^5 clients < 5 s.
    """
    with tempfile.TemporaryDirectory() as tmp:
        files = SAMPLE
        if clients:
            from graphcrm.ingest.generate import generate

            files = Path(tmp) / "files"
            generate(files, clients, seed)
        t0 = time.perf_counter()
        store = load_files(files, Path(tmp) / "bench.db")
        load_s = time.perf_counter() - t0
        warm_s = None
        if warm:
            from graphcrm.graph import warm_graph
            from graphcrm.store.sqlite import SQLiteStore

            t0 = time.perf_counter()
            with SQLiteStore(store) as opened:
                warm_graph(opened)
            warm_s = round(time.perf_counter() - t0, 2)
        rows = time_pages(store)
    label = f"{clients:,} clients" if clients else "data/sample"
    if as_json:
        click.echo(json.dumps({"data": label, "load_s": round(load_s, 2), "warm_s": warm_s,
                               "pages": rows},
                              ensure_ascii=False, indent=2))
        return
    click.echo(f"data: {label}   store load {load_s:.1f} s   warm-up after ingest: "
               + (f"{warm_s:.1f} s" if warm_s is not None else "off"))
    click.echo(f"{'page':<24} {'first s':>9} {'cached s':>9}")
    for r in rows:
        click.echo(f"{r['page']:<24} {r['first_s']:>9} {r.get('cached_s', ''):>9} "
                   f"{'; '.join(map(str, r.get('errors') or []))}")


BENCH_COMMANDS: list[click.Command] = [bench_app]
