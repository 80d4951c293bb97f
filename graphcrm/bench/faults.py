"""``graphcrm bench faults``: the kill -9 loop.

Each round starts ``graphcrm ingest`` on a fresh embedded store in its own process and kills it
with SIGKILL at a random moment of the run, alternating the two ingest modes (one file after
the other, and the two-process pipeline where a second process checks the next file). After
every kill it checks, on the real SQLite file:

- ``PRAGMA integrity_check`` is ``ok``;
- every file is all or nothing: each table holds either none or all of the rows a complete
  run stores, the committed files are a prefix of the ingest order, and the data version
  counts exactly the committed files;
- the pipeline's checking process has not outlived the killed ingest;
- after the next open no temporary file of the killed process is left beside the store;
- re-running the same input finishes with exactly the counts of an uninterrupted run, and (every
  tenth round) a second re-run changes nothing (same data version).

The complete-run counts and duration come from one uninterrupted calibration run per mode in
the same process; the kill moment is drawn uniformly from 0 to that duration, counted from
the moment the ingest starts (each round's process has imported GraphCRM before, so the kills
land in the ingest, not in Python's start-up). The analysis-graph warm-up is left out
(``--no-warm``); the clean-up of a killed writer's temporary files has its own test.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from graphcrm.config import load_settings
from graphcrm.ingest.job import ingest_paths
from graphcrm.model import TABLES
from graphcrm.store.sqlite import SQLiteStore
from graphcrm.synth import generate

#: generated clients of the default input (small enough for thousands of rounds)
DEFAULT_CLIENTS = 500
MODES = ("single", "pipeline")
_MODE_CONFIG = {
    # batch_rows small: each file is written in several batches, so kills land inside files
    "single": "[ingest]\npipeline_min_bytes = -1\nbatch_rows = 500\n",
    "pipeline": "[ingest]\npipeline_min_bytes = 0\nbatch_rows = 500\n",
}
#: a fork server: imports GraphCRM once, then forks one `graphcrm ingest` per line of
#: tab-separated arguments and prints its pid. The kill moment is drawn over the ingest itself
#: (not Python's start-up, seconds on a busy machine), and a round costs a fork. It holds no
#: thread when it forks (nothing has run yet), and auto-reaps its children.
_FORK_SERVER = """
import os, signal, sys
from graphcrm.cli import main
import graphcrm.ingest.job, graphcrm.workspace
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
print("ready", flush=True)
for line in sys.stdin:
    args = line.rstrip("\\n").split("\\t")
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        code = 0
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            code = 1
        os._exit(code)
    print(pid, flush=True)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


class _ForkServer:
    """Runs ``graphcrm ingest`` in forked processes (see ``_FORK_SERVER``)."""

    def __init__(self, cwd: Path) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self.proc = subprocess.Popen([sys.executable, "-c", _FORK_SERVER], cwd=cwd, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the ingest fork server did not start")

    def start(self, data: Path, db: Path, cfg: Path, cwd: Path) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        args = ["ingest", str(data), "--store", str(db), "--config", str(cfg), "--rejects",
                str(cwd / "rejects.csv"), "--no-warm"]
        self.proc.stdin.write("\t".join(args) + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _wait_gone(pid: int, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)


@dataclass
class FaultReport:
    """Counts of a kill loop (``as_dict`` is the ``--json`` output)."""

    kills: int = 0
    by_mode: dict[str, int] = field(default_factory=dict)
    committed_files: dict[int, int] = field(default_factory=dict)  # files committed -> kills
    finished_before_kill: int = 0
    integrity_ok: int = 0
    all_or_nothing_ok: int = 0
    no_orphan_checker: int = 0
    no_temp_files: int = 0
    rerun_exact: int = 0
    rerun_idempotent: int = 0
    second_reruns: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    full_counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures and self.kills > 0

    def as_dict(self) -> dict[str, object]:
        return {
            "kills": self.kills, "by_mode": self.by_mode,
            "committed_files": {str(k): v for k, v in sorted(self.committed_files.items())},
            "finished_before_kill": self.finished_before_kill,
            "integrity_ok": self.integrity_ok, "all_or_nothing_ok": self.all_or_nothing_ok,
            "no_orphan_checker": self.no_orphan_checker, "no_temp_files": self.no_temp_files,
            "rerun_exact": self.rerun_exact, "second_reruns": self.second_reruns,
            "rerun_idempotent": self.rerun_idempotent,
            "failures": self.failures, "seconds": round(self.seconds, 1),
            "full_counts": self.full_counts, "ok": self.ok,
        }


def _table_counts(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        return {t.name: int(con.execute(f"SELECT COUNT(*) FROM {t.name}").fetchone()[0])
                for t in TABLES} | {
            "aliases": int(con.execute("SELECT COUNT(*) FROM aliases").fetchone()[0]),
            "nodes": int(con.execute("SELECT COUNT(*) FROM nodes").fetchone()[0])}
    finally:
        con.close()


def _data_version(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
        return int(row[0]) if row else 0
    finally:
        con.close()


def _integrity(db: Path) -> str:
    con = sqlite3.connect(db)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


def _checkers_of(pid: int) -> list[int]:
    """Live pipeline checkers started by ``pid`` (their command line names their parent)."""
    mark = f", {pid})".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if b"_pipeline_child(" in cmd and mark in cmd and state != "Z":
            found.append(int(proc.name))
    return found


def _calibrate(server: _ForkServer, data: Path, work: Path, mode: str, cfg: Path
               ) -> tuple[float, dict[str, int]]:
    db = work / f"calibrate-{mode}.db"
    started = time.perf_counter()
    _wait_gone(server.start(data, db, cfg, work))
    seconds = time.perf_counter() - started
    if not db.exists():
        raise RuntimeError(f"the uninterrupted {mode} ingest wrote no store")
    return seconds, _table_counts(db)


def run_faults(kills: int, seed: int = 0, data: Path | None = None, workdir: Path | None = None,
               echo: Callable[[str], None] | None = None,
               clients: int = DEFAULT_CLIENTS) -> FaultReport:
    """Run ``kills`` rounds of the kill -9 loop (see the module docstring) on ``data`` (default:
    ``clients`` generated people)."""
    rng = random.Random(seed)
    report = FaultReport()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="graphcrm-faults-", dir=workdir) as tmp:
        work = Path(tmp)
        if data is None:
            data = work / "data"
            generate(data, clients, seed=seed or 7)
        cfgs = {m: work / f"{m}.toml" for m in MODES}
        for m, path in cfgs.items():
            path.write_text(_MODE_CONFIG[m], encoding="utf-8")
        server = _ForkServer(work)
        calib = {m: _calibrate(server, data, work, m, cfgs[m]) for m in MODES}
        full = calib[MODES[0]][1]
        for m in MODES[1:]:
            if calib[m][1] != full:
                raise RuntimeError(f"the two modes store different counts: {calib[m][1]} "
                                   f"vs {full}")
        report.full_counts = full
        order = [t.name for t in TABLES]
        for i in range(kills):
            mode = MODES[i % len(MODES)]
            seconds = calib[mode][0]
            db = work / "round.db"
            for f in work.glob("round.db*"):
                f.unlink()
            problems: list[str] = []
            pid = server.start(data, db, cfgs[mode], work)
            time.sleep(rng.uniform(0, seconds))
            finished = not _alive(pid)
            if not finished:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            _wait_gone(pid)
            report.kills += 1
            report.by_mode[mode] = report.by_mode.get(mode, 0) + 1
            report.finished_before_kill += finished
            # the checker goes with its parent
            deadline = time.monotonic() + 10
            while (left := _checkers_of(pid)) and time.monotonic() < deadline:
                time.sleep(0.05)
            if left:
                problems.append(f"checker(s) {left} outlived the killed ingest")
                for pid in left:
                    os.kill(pid, signal.SIGKILL)
            else:
                report.no_orphan_checker += 1
            if db.exists():
                state = _integrity(db)
                if state == "ok":
                    report.integrity_ok += 1
                else:
                    problems.append(f"integrity_check: {state}")
                try:
                    counts = _table_counts(db)
                    version = _data_version(db)
                except sqlite3.DatabaseError:  # killed before the schema was committed
                    counts, version = {}, 0
            else:
                report.integrity_ok += 1
                counts, version = {}, 0
            committed = [t for t in order if counts.get(t, 0)]
            partial = [f"{t} {counts[t]} of {full[t]}" for t in order
                       if counts.get(t, 0) not in (0, full[t])]
            prefix = committed == order[:len(committed)]
            aliases_ok = counts.get("aliases", 0) == (full["aliases"] if "clients" in committed
                                                      else 0)
            if partial or not prefix or not aliases_ok or version != len(committed):
                problems.append(f"not all-or-nothing: partial {partial}, committed "
                                f"{committed}, data version {version}")
            else:
                report.all_or_nothing_ok += 1
                report.committed_files[len(committed)] = (
                    report.committed_files.get(len(committed), 0) + 1)
            # the next open removes what the killed process left (its snapshot temp file)
            settings = load_settings(cfgs[mode])
            SQLiteStore(db).close()
            leftovers = [p.name for p in work.glob("round.db*.tmp")]
            if leftovers:
                problems.append(f"temporary files left: {leftovers}")
            else:
                report.no_temp_files += 1
            # re-runs finish the job exactly, then change nothing
            with SQLiteStore(db) as store:
                ingest_paths([data], store, settings=settings)
            counts = _table_counts(db)
            if counts == full:
                report.rerun_exact += 1
            else:
                problems.append(f"after the re-run {counts} != {full}")
            if i % 10 == 0:  # every tenth round: a second re-run changes nothing
                before = _data_version(db)
                with SQLiteStore(db) as store:
                    ingest_paths([data], store, settings=settings)
                report.second_reruns += 1
                if _data_version(db) == before and _table_counts(db) == full:
                    report.rerun_idempotent += 1
                else:
                    problems.append("a second re-run changed the store")
            for p in problems:
                report.failures.append(f"round {i + 1} ({mode}): {p}")
            if echo is not None and ((i + 1) % 10 == 0 or problems):
                echo(f"{i + 1}/{kills} kills, {len(report.failures)} failures, "
                     f"{time.perf_counter() - t0:.0f} s")
        server.close()
    report.seconds = time.perf_counter() - t0
    return report


def format_report(report: FaultReport) -> str:
    """The counts as text, one per line."""
    d = report.as_dict()
    modes = ", ".join(f"{m} {n}" for m, n in report.by_mode.items())
    committed = ", ".join(f"{k} files: {v}" for k, v in sorted(report.committed_files.items()))
    lines = [f"kills: {report.kills} ({modes})",
             f"files committed when killed: {committed}; finished before the kill: "
             f"{report.finished_before_kill}"]
    for key in ("integrity_ok", "all_or_nothing_ok", "no_orphan_checker", "no_temp_files",
                "rerun_exact"):
        lines.append(f"{key}: {d[key]} of {report.kills}")
    lines.append(f"rerun_idempotent: {report.rerun_idempotent} of {report.second_reruns} "
                 "second re-runs")
    lines.append(f"failures: {len(report.failures)}")
    lines += [f"  {f}" for f in report.failures[:20]]
    lines.append(f"seconds: {d['seconds']}")
    return "\n".join(lines)
