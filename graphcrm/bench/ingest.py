"""``graphcrm bench ingest``: generate, ingest, and compare with a plain pandas baseline.

The run has three steps, each reported:

1. generate the synthetic files for ``--clients`` people
   (:func:`graphcrm.synth.generate`);
2. **ours**: :func:`graphcrm.ingest.job.ingest_paths` into a fresh SQLite store (validation,
   identity resolution, one transaction per file);
3. **baseline**: what a user would write without GraphCRM, ``pandas.read_csv`` of each file and
   ``DataFrame.to_sql`` into a fresh SQLite file (``method=None``, ``chunksize=50_000``), with no
   validation at all.

Each contender runs in a fresh Python subprocess, so its peak resident memory (``ru_maxrss``
read by the child itself at the end, plus its own largest child's: the ingest pipeline's
checking process) is its own and not the generator's.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from graphcrm.model import TABLES

#: the README/issue targets for 10^6 clients (about 6 million rows)
TARGET_SECONDS = 60.0
TARGET_PEAK_MB = 3 * 1024.0
BASELINE_CHUNKSIZE = 50_000
#: rounds of the narrow-file benchmark (ours and the baselines in turn; medians reported)
NARROW_ROUNDS = 5


def _peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory in MiB of this process, or of its largest finished child
    (``resource.RUSAGE_CHILDREN``).

    For this process Linux's ``VmHWM`` is used: ``ru_maxrss`` survives ``exec`` and would
    report the benchmark parent's size at the moment it started this process (the generator's
    ~2.5 GB). The ingest pipeline's checker starts while the writer is still small, so its
    ``ru_maxrss`` is its own. Linux reports KiB, macOS bytes.
    """
    if who == resource.RUSAGE_SELF:
        status = Path("/proc/self/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    peak = resource.getrusage(who).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and its finished children so far: on a
    shared machine a steadier yardstick than wall time (other jobs take the cores, not this
    process's work)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _rows(path: Path) -> int:
    with path.open("rb") as fh:
        return max(sum(1 for _ in fh) - 1, 0)


def _report_value(report: Any, *names: str) -> Any:
    for name in names:
        if isinstance(report, dict) and name in report:
            return report[name]
        if hasattr(report, name):
            return getattr(report, name)
    return None


def _per_file(result: Any) -> dict[str, dict[str, float]]:
    """Per-file seconds and rejects from ingest_paths' result, when it reports them."""
    files = _report_value(result, "files", "reports", "per_file")
    if files is None:
        files = result
    if isinstance(files, dict):
        files = list(files.values())
    out: dict[str, dict[str, float]] = {}
    if not isinstance(files, (list, tuple)):
        return out
    for rep in files:
        name = _report_value(rep, "table", "name", "table_name")
        if hasattr(name, "name"):
            name = name.name
        if name is None:
            path = _report_value(rep, "path", "file")
            name = Path(str(path)).stem if path is not None else None
        seconds = _report_value(rep, "seconds", "elapsed")
        if name is None or seconds is None:
            continue
        rejected = _report_value(rep, "rejected", "n_rejected") or 0
        if isinstance(rejected, (list, tuple)):
            rejected = len(rejected)
        entry = out.setdefault(str(name), {"seconds": 0.0, "rejected": 0, "changed": 0,
                                           "checked": 0})
        entry["seconds"] += float(seconds)
        entry["rejected"] += int(rejected)
        entry["changed"] += int(_report_value(rep, "changed") or 0)
        checked = _report_value(rep, "rows_checked")
        entry["checked"] += int(checked if checked is not None
                                else _report_value(rep, "rows_read") or 0)
    return out


def run_ours(data_dir: Path, db: Path) -> dict[str, Any]:
    """Ingest ``data_dir`` with GraphCRM into a fresh store; per-file seconds and peak memory."""
    # imported here, in the contender's own process: the baseline child, which runs this module
    # too, must not pay GraphCRM's imports in its time or memory
    from graphcrm.ingest.job import ingest_paths
    from graphcrm.store.sqlite import SQLiteStore

    t0 = time.perf_counter()
    store = SQLiteStore(db)
    try:
        result = ingest_paths([data_dir], store)
    finally:
        store.close()  # timed like the baseline's, which closes its connection in the clock
    total = time.perf_counter() - t0
    with SQLiteStore(db, create=False) as reopened:
        counts = reopened.counts()
    # the ingest pipeline's checking process is a child: the sum is an upper bound (the two
    # peaks need not coincide)
    writer, checker = _peak_mb(), _peak_mb(resource.RUSAGE_CHILDREN)
    return {"seconds": total, "files": _per_file(result), "peak_mb": writer + checker,
            "peak_writer_mb": writer, "peak_checker_mb": checker,
            "counts": counts}


def run_baseline(data_dir: Path, db: Path) -> dict[str, Any]:
    """``pd.read_csv`` + ``DataFrame.to_sql`` per file, as a user would write it."""
    import sqlite3
    import warnings

    import pandas as pd

    warnings.simplefilter("ignore")  # pandas' mixed-type warnings; the baseline does not care

    con = sqlite3.connect(db)
    files: dict[str, dict[str, float]] = {}
    t0 = time.perf_counter()
    try:
        for table in TABLES:
            t = time.perf_counter()
            frame = pd.read_csv(data_dir / f"{table.name}.csv")
            frame.to_sql(table.name, con, if_exists="replace", index=False,
                         chunksize=BASELINE_CHUNKSIZE)
            con.commit()
            del frame
            files[table.name] = {"seconds": time.perf_counter() - t, "rejected": 0}
    finally:
        con.close()
    return {"seconds": time.perf_counter() - t0, "files": files, "peak_mb": _peak_mb()}


#: the index the embedded store keeps on relationships (its key): the second narrow-file
#: baseline builds it too, so it can refuse a duplicate tie and update one in place as the store
NARROW_INDEXES = ("CREATE UNIQUE INDEX k ON relationships(src_id, type, dst_id)",)


def run_narrow_ours(edges: Path, db: Path) -> dict[str, Any]:
    """Ingest the edge-list file ``edges`` into a copy of the store ``db`` (which holds the
    people); the copy is made before the clock starts."""
    from graphcrm.ingest.job import ingest_paths
    from graphcrm.store.sqlite import SQLiteStore

    run = db.with_name("narrow-run.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{run}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(db, run)
    t0, c0 = time.perf_counter(), _cpu_seconds()
    store = SQLiteStore(run)
    try:
        report = ingest_paths([edges], store)
    finally:
        store.close()
    seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
    f = report.files[0]
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_mb": _peak_mb(),
            "accepted": f.accepted,
            "rejected": f.rejected, "merged": f.merged, "changed": f.changed}


def run_narrow_baseline(edges: Path, db: Path, indexes: bool = False) -> dict[str, Any]:
    """``pd.read_csv`` + ``DataFrame.to_sql`` of the edge list (and, with ``indexes``, the
    store's two relationship indexes)."""
    import sqlite3

    import pandas as pd

    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    t0, c0 = time.perf_counter(), _cpu_seconds()
    con = sqlite3.connect(db)
    try:
        frame = pd.read_csv(edges)
        frame.to_sql("relationships", con, index=False, chunksize=BASELINE_CHUNKSIZE)
        for sql in NARROW_INDEXES if indexes else ():
            con.execute(sql)
        con.commit()
    finally:
        con.close()
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": _cpu_seconds() - c0,
            "peak_mb": _peak_mb(), "rows": len(frame)}


def write_edge_list(clients_csv: Path, out: Path, rows: int, seed: int) -> int:
    """An edge-list file (``src_id,dst_id,type``: FRIEND_OF between distinct generated clients,
    each pair once, the shape of a SNAP network) of up to ``rows`` rows; returns its rows."""
    import numpy as np
    import pandas as pd

    ids = pd.read_csv(clients_csv, dtype=str, usecols=["client_id"])["client_id"].to_numpy()
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(ids), 3 * rows), rng.integers(0, len(ids), 3 * rows)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    pairs = pd.DataFrame({"lo": lo, "hi": hi})[lo != hi].drop_duplicates().head(rows)
    pd.DataFrame({"src_id": ids[pairs["lo"]], "dst_id": ids[pairs["hi"]],
                  "type": "FRIEND_OF"}).to_csv(out, index=False)
    return len(pairs)


def bench_narrow(clients: int, edges: int, seed: int = 7, workdir: str | Path | None = None,
                 echo: Any = None, rounds: int = NARROW_ROUNDS) -> dict[str, Any]:
    """An edge-list relationships file of ``edges`` rows into a store holding ``clients``
    people: ours vs ``read_csv`` + ``to_sql``, and vs the same plus the store's indexes, each
    in a fresh process; figures as ratios (speed = baseline seconds / ours).

    The three run in turn ``rounds`` times (a fresh process of the baseline alone varies up
    to 2x on this machine); each figure is the median over the rounds, each ratio the
    median of the rounds' ratios, with its range."""
    from graphcrm.ingest.job import ingest_paths
    from graphcrm.store.sqlite import SQLiteStore
    from graphcrm.synth import generate

    say = echo or (lambda _s: None)
    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="graphcrm-narrow-"))
    nodes = root / "nodes"
    try:
        say(f"generating {clients:,} clients and an edge list of {edges:,} rows ...")
        generate(root / "data", clients, seed)
        nodes.mkdir(parents=True, exist_ok=True)
        for name in ("agents", "organizations", "clients"):
            shutil.copyfile(root / "data" / f"{name}.csv", nodes / f"{name}.csv")
        edge_file = root / "edges" / "relationships.csv"
        edge_file.parent.mkdir(exist_ok=True)
        n = write_edge_list(nodes / "clients.csv", edge_file, edges, seed)
        db = root / "people.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        with SQLiteStore(db) as store:
            ingest_paths([nodes], store)
        runs: dict[str, list[dict[str, Any]]] = {}
        for k in range(max(int(rounds), 1)):
            for kind, target in (("narrow-ours", db), ("narrow-baseline", root / "b.db"),
                                 ("narrow-baseline-indexed", root / "bi.db")):
                say(f"round {k + 1}/{rounds}: {kind} ...")
                got = _child(kind, edge_file, target)
                runs.setdefault(kind, []).append(got)
                say(f"  {got['seconds']:.2f}s (CPU {got['cpu_seconds']:.2f}s), "
                    f"peak {got['peak_mb']:,.0f} MiB")
    finally:
        if not workdir:
            shutil.rmtree(root, ignore_errors=True)

    def median(values: list[float]) -> float:
        return float(statistics.median(values))

    def middle(kind: str) -> dict[str, Any]:
        """The first run's counts with the median of each measure."""
        return {**runs[kind][0], **{m: median([r[m] for r in runs[kind]])
                                    for m in ("seconds", "cpu_seconds", "peak_mb")}}

    ours = middle("narrow-ours")
    out: dict[str, Any] = {"clients": clients, "rows": n, "rounds": len(runs["narrow-ours"]),
                           "ours": ours}
    for kind in ("narrow-baseline", "narrow-baseline-indexed"):
        pairs = list(zip(runs["narrow-ours"], runs[kind], strict=True))
        ratios = {"speed": [b["seconds"] / o["seconds"] for o, b in pairs],
                  "cpu_speed": [b["cpu_seconds"] / o["cpu_seconds"] for o, b in pairs],
                  "memory": [o["peak_mb"] / b["peak_mb"] for o, b in pairs]}
        out[kind] = {**middle(kind), **{m: median(v) for m, v in ratios.items()},
                     **{f"{m}_range": [min(v), max(v)] for m, v in ratios.items()}}
    return out


def format_narrow(res: dict[str, Any]) -> str:
    """The human-readable narrow-file report."""
    o = res["ours"]
    lines = [f"edge list: {res['rows']:,} rows into a store of {res['clients']:,} clients; "
             f"ours {o['seconds']:.2f}s ({res['rows'] / o['seconds']:,.0f} rows/s, CPU "
             f"{o['cpu_seconds']:.2f}s), "
             f"peak {o['peak_mb']:,.0f} MiB; accepted {o['accepted']:,}, "
             f"rejected {o['rejected']:,}"]
    for kind, what in (("narrow-baseline", "read_csv + to_sql"),
                       ("narrow-baseline-indexed", "read_csv + to_sql + the key index")):
        b = res[kind]
        lo, hi = b["speed_range"]
        clo, chi = b["cpu_speed_range"]
        mlo, mhi = b["memory_range"]
        lines.append(f"vs {what}: {b['seconds']:.2f}s (CPU {b['cpu_seconds']:.2f}s), peak "
                     f"{b['peak_mb']:,.0f} MiB -> speed {b['speed']:.2f}x ({lo:.2f}-{hi:.2f}; "
                     f"CPU time {b['cpu_speed']:.2f}x, {clo:.2f}-{chi:.2f}), memory "
                     f"{b['memory']:.2f}x ({mlo:.2f}-{mhi:.2f})")
    lines.append(f"(medians of {res['rounds']} rounds, the three in turn, each in a fresh "
                 "process; a ratio is the median of the rounds' ratios, its range after it)")
    return "\n".join(lines)


#: per template, a column whose values can be swapped between rows and stay valid: the
#: "1 % changed" re-run edits it in that share of each file's rows
CHANGE_COLUMNS = {"agents": "name", "organizations": "industry", "clients": "occupation",
                  "policies": "annual_premium", "relationships": "confidence",
                  "interactions": "outcome"}


def change_rows(data_dir: Path, out_dir: Path, share: float, seed: int) -> dict[str, int]:
    """Copy ``data_dir`` to ``out_dir`` with ``share`` of each file's rows edited (the
    :data:`CHANGE_COLUMNS` value taken from another row); returns the rows whose value really
    differs afterwards, per file (the rows a re-run should write)."""
    import numpy as np
    import pandas as pd

    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    changed: dict[str, int] = {}
    for table in TABLES:
        frame = pd.read_csv(data_dir / f"{table.name}.csv", dtype=str, keep_default_na=False)
        col = CHANGE_COLUMNS[table.name]
        n = len(frame)
        pick = rng.choice(n, size=max(1, round(n * share)), replace=False) if n else []
        values = frame[col].to_numpy(dtype=object)
        donors = values[rng.integers(0, n, size=len(pick))] if n else values[:0]
        changed[table.name] = int((values[pick] != donors).sum()) if n else 0
        values = values.copy()
        values[pick] = donors
        frame[col] = values
        frame.to_csv(out_dir / f"{table.name}.csv", index=False)
    return changed


def _child(kind: str, data_dir: Path, db: Path, config: Path | None = None) -> dict[str, Any]:
    """Run one contender in a fresh interpreter and return its JSON report (``config``: a
    settings file for it, as ``$GRAPHCRM_CONFIG``)."""
    cmd = [sys.executable, "-m", "graphcrm.bench.ingest", kind, str(data_dir), str(db)]
    env = dict(os.environ)
    if config is not None:
        env["GRAPHCRM_CONFIG"] = str(config)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise click.ClickException(f"{kind} run failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_ingest(clients: int, seed: int = 7, workdir: str | Path | None = None,
                 keep: bool = False, echo: Any = None, rerun: bool = False,
                 changed_share: float = 0.01) -> dict[str, Any]:
    """Generate, ingest with GraphCRM and with the pandas baseline; return the figures.

    Parameters
    ----------
    clients, seed
        Size and seed of the generated data.
    workdir
        Folder for the data and the two SQLite files (default: a temporary folder).
    keep
        Keep the workdir afterwards (always kept when ``workdir`` is given).
    echo
        Optional ``echo(str)`` for progress lines.
    rerun
        Then re-run ours into the store it loaded: on the same files (a no-op), then on a copy
        with ``changed_share`` of each file's rows edited (:func:`change_rows`), twice from the
        same store (copied): checking only the changed rows (``changed``) and every row
        (``changed-every-row``, ``ingest.rerun_changed_rows_only = false``, the code before).

    Returns
    -------
    dict
        ``clients``, ``seed``, ``rows``, ``generate_seconds``, ``files`` (per file: rows, ours and
        baseline seconds and rows/s), ``ours`` and ``baseline`` (seconds, rows_per_s, peak_mb),
        ``ratios`` (speed = ours rows/s / baseline rows/s, memory = ours peak / baseline peak),
        ``targets`` (met or not) and ``machine``.
    """
    from graphcrm.synth import generate  # parent process only (see run_ours)

    say = echo or (lambda _s: None)
    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="graphcrm-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    data_dir = root / "data"
    try:
        say(f"generating {clients:,} clients (seed {seed}) into {data_dir} ...")
        t0 = time.perf_counter()
        generate(data_dir, clients, seed)
        gen_seconds = time.perf_counter() - t0
        rows = {t.name: _rows(data_dir / f"{t.name}.csv") for t in TABLES}
        total_rows = sum(rows.values())
        say(f"  {total_rows:,} rows in {gen_seconds:.1f}s")
        figures: dict[str, dict[str, Any]] = {}
        for kind in ("ours", "baseline"):
            db = root / f"{kind}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            say(f"ingesting with {kind} ...")
            figures[kind] = _child(kind, data_dir, db)
            figures[kind]["rows_per_s"] = total_rows / figures[kind]["seconds"]
            say(f"  {figures[kind]['seconds']:.1f}s, peak {figures[kind]['peak_mb']:,.0f} MiB")
        reruns: dict[str, dict[str, Any]] = {}
        if rerun:
            say("re-running ours on the same files ...")
            reruns["same"] = _child("ours", data_dir, root / "ours.db")
            say(f"  {reruns['same']['seconds']:.1f}s, peak {reruns['same']['peak_mb']:,.0f} MiB")
            edited = root / "data-changed"
            shutil.rmtree(edited, ignore_errors=True)
            expected = change_rows(data_dir, edited, changed_share, seed)
            every = root / "every-row.toml"
            every.write_text("[ingest]\nrerun_changed_rows_only = false\n", encoding="utf-8")
            for suffix in ("", "-wal", "-shm"):  # the same store for both (closed: no WAL left)
                Path(f"{root / 'ours-every-row.db'}{suffix}").unlink(missing_ok=True)
                if Path(f"{root / 'ours.db'}{suffix}").exists():
                    shutil.copyfile(f"{root / 'ours.db'}{suffix}",
                                    f"{root / 'ours-every-row.db'}{suffix}")
            for name, db, config in (("changed", root / "ours.db", None),
                                     ("changed-every-row", root / "ours-every-row.db", every)):
                say(f"re-running ours with {changed_share:.0%} of rows changed "
                    f"({sum(expected.values()):,} rows differ), "
                    f"{'every row checked' if config else 'changed rows checked'} ...")
                reruns[name] = _child("ours", edited, db, config)
                reruns[name]["rows_changed_in_files"] = expected
                say(f"  {reruns[name]['seconds']:.1f}s, "
                    f"peak {reruns[name]['peak_mb']:,.0f} MiB")
    finally:
        if not (keep or workdir):
            shutil.rmtree(root, ignore_errors=True)
    per_file: dict[str, dict[str, Any]] = {}
    for name, n in rows.items():
        entry: dict[str, Any] = {"rows": n}
        for kind in ("ours", "baseline"):
            f = figures[kind]["files"].get(name)
            if f:
                entry[f"{kind}_seconds"] = f["seconds"]
                entry[f"{kind}_rows_per_s"] = n / f["seconds"] if f["seconds"] else None
                entry[f"{kind}_rejected"] = f["rejected"]
        per_file[name] = entry
    ours, base = figures["ours"], figures["baseline"]
    ratios = {"speed": ours["rows_per_s"] / base["rows_per_s"],
              "memory": ours["peak_mb"] / base["peak_mb"]}
    # the targets are for the 10^6-client dataset (~6M rows): smaller runs are projected to
    # 6M rows; a run of that size or more is judged on its own time
    scale = 6_000_000 / total_rows if total_rows < 6_000_000 else 1.0
    return {
        "clients": clients, "seed": seed, "rows": total_rows, "rows_per_file": rows,
        "generate_seconds": gen_seconds, "files": per_file,
        "ours": {k: ours[k] for k in ("seconds", "rows_per_s", "peak_mb", "peak_writer_mb",
                                      "peak_checker_mb") if k in ours},
        "baseline": {k: base[k] for k in ("seconds", "rows_per_s", "peak_mb")},
        "counts": ours.get("counts", {}),
        "ratios": ratios,
        "targets": {
            "seconds_for_6M_rows": TARGET_SECONDS,
            "projected_seconds_for_6M_rows": ours["seconds"] * scale,
            "time_met": ours["seconds"] * scale < TARGET_SECONDS,
            "peak_mb": TARGET_PEAK_MB,
            "peak_met": ours["peak_mb"] < TARGET_PEAK_MB,
            "speed_met": ratios["speed"] >= 1.0,
        },
        "reruns": {
            name: {"seconds": r["seconds"], "peak_mb": r["peak_mb"],
                   "vs_first_load": r["seconds"] / ours["seconds"],
                   "vs_baseline": r["seconds"] / base["seconds"],
                   "memory_vs_baseline": r["peak_mb"] / base["peak_mb"],
                   "written": {k: v["changed"] for k, v in r["files"].items()},
                   "checked": {k: v.get("checked") for k, v in r["files"].items()},
                   "counts": r.get("counts", {}),
                   "rows_changed_in_files": r.get("rows_changed_in_files")}
            for name, r in reruns.items()},
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "processor": platform.processor() or "unknown"},
        "workdir": str(root) if (keep or workdir) else None,
    }


def format_table(res: dict[str, Any]) -> str:
    """The human-readable report."""

    def num(v: Any, fmt: str) -> str:
        return format(v, fmt) if isinstance(v, (int, float)) else "-"

    lines = [
        f"ingest benchmark: {res['clients']:,} clients, seed {res['seed']}, "
        f"{res['rows']:,} rows; generated in {res['generate_seconds']:.1f}s",
        f"{'file':<14}{'rows':>11}{'ours s':>9}{'ours rows/s':>13}{'base s':>9}"
        f"{'base rows/s':>13}{'speed x':>9}",
    ]
    for name, f in res["files"].items():
        o, b = f.get("ours_rows_per_s"), f.get("baseline_rows_per_s")
        ratio = o / b if o and b else None
        lines.append(
            f"{name:<14}{f['rows']:>11,}{num(f.get('ours_seconds'), '9.2f')}"
            f"{num(o, '13,.0f')}{num(f.get('baseline_seconds'), '9.2f')}{num(b, '13,.0f')}"
            f"{num(ratio, '9.2f')}")
    o, b, r, t = res["ours"], res["baseline"], res["ratios"], res["targets"]
    lines += [
        f"{'total':<14}{res['rows']:>11,}{o['seconds']:>9.2f}{o['rows_per_s']:>13,.0f}"
        f"{b['seconds']:>9.2f}{b['rows_per_s']:>13,.0f}{r['speed']:>9.2f}",
        f"peak memory: ours {o['peak_mb']:,.0f} MiB (writer "
        f"{o.get('peak_writer_mb', o['peak_mb']):,.0f} + checker "
        f"{o.get('peak_checker_mb', 0):,.0f}), baseline {b['peak_mb']:,.0f} MiB "
        f"(ours/baseline {r['memory']:.2f})",
        "targets: "
        f"6M rows < {t['seconds_for_6M_rows']:.0f}s: "
        f"{'met' if t['time_met'] else 'MISSED'} "
        f"({t['projected_seconds_for_6M_rows']:.1f}s)"
        f"; peak < {t['peak_mb']:,.0f} MiB: {'met' if t['peak_met'] else 'MISSED'}"
        f"; >= baseline speed: {'met' if t['speed_met'] else 'MISSED'}",
    ]
    for name, r in res.get("reruns", {}).items():
        what = {"same": "same files", "changed": "rows changed, changed rows checked",
                "changed-every-row": "rows changed, every row checked"}.get(name, name)
        lines.append(
            f"re-run ({what}): {r['seconds']:.2f}s = {r['vs_first_load']:.2f}x the first load,"
            f" {r['vs_baseline']:.2f}x the baseline's load; peak {r['peak_mb']:,.0f} MiB "
            f"({r['memory_vs_baseline']:.2f}x the baseline's); rows written "
            f"{sum(r['written'].values()):,}"
            + ("" if r["rows_changed_in_files"] is None else
               f" for {sum(r['rows_changed_in_files'].values()):,} rows changed")
            + (f"; rows checked {sum(v or 0 for v in r['checked'].values()):,}"
               if r.get("checked") else ""))
    reruns = res.get("reruns", {})
    if "changed" in reruns and "changed-every-row" in reruns:
        a, b = reruns["changed"], reruns["changed-every-row"]
        same = a["counts"] == b["counts"] and a["written"] == b["written"]
        lines.append(f"changed rows checked vs every row checked: "
                     f"{a['seconds'] / b['seconds']:.3f}x the time; stores' counts and rows "
                     f"written {'equal' if same else 'DIFFER'}")
    return "\n".join(lines)


def _main(argv: list[str]) -> None:
    kind, data_dir, db = argv[0], Path(argv[1]), Path(argv[2])
    runner = {"ours": run_ours, "baseline": run_baseline, "narrow-ours": run_narrow_ours,
              "narrow-baseline": run_narrow_baseline,
              "narrow-baseline-indexed": lambda e, d: run_narrow_baseline(e, d, True)}[kind]
    # the contender's own output (progress bars) goes to stderr; the report is the last line
    report = runner(data_dir, db)
    sys.stdout.write(json.dumps(report, default=str) + "\n")


if __name__ == "__main__":  # pragma: no cover
    _main(sys.argv[1:])
