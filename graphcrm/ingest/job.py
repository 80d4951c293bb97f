"""Ingest jobs: files or folders -> validated, identity-resolved rows in the graph store.

One job reads every input file in :data:`graphcrm.model.TABLES` order (referenced tables
first), and for each file:

1. reads it (:mod:`graphcrm.ingest.readers`: kind, encoding, headers);
2. validates every row (:mod:`graphcrm.ingest.validate`), rejecting each problem with its row,
   column, value and reason;
3. resolves client identities (:mod:`graphcrm.ingest.identity`);
4. writes the good rows in **one** store transaction, in batches of
   ``settings.ingest.batch_rows``, calling ``progress`` after each batch. An exception anywhere
   in the file rolls the file back and the files before it stay committed. An exception raised
   by ``progress`` (Ctrl-C's ``KeyboardInterrupt`` included) then stops the job; an error of the
   store itself makes that file an error and the job goes on, without that file's ids.

A first load of large files into an empty store runs as a two-process pipeline (see
:class:`_Pipeline`): a child process reads and checks file N+1 while this process writes file
N, so the two cores both work. The result is the same as one file after the other.

Re-running the same input changes nothing: the normalisation is deterministic, the store skips
identical rows, known aliases are not recorded twice, and the data version stays put. Files
that hold a large share of a table already stored are compared with the stored rows first
(:func:`changed_rows`), so only new or changed rows are written. A file whose bytes were
applied before (its SHA-256 noted in the store in the same transaction as its rows), that had no
reject, and whose table has not changed since, is not read again (:func:`_fingerprint`). A
changed file whose last applied version was noted row by row (a hash of each row, same
transaction) has only its new or changed rows checked and written, with the result of checking
every row (:func:`_unchanged_rows`, :func:`_apart`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphcrm import __version__
from graphcrm.config import Settings, load_settings
from graphcrm.ingest.identity import MERGE_COLUMNS, resolve_clients
from graphcrm.ingest.readers import (
    INPUT_SUFFIXES,
    IngestError,
    RawFile,
    read_file,
    read_headers,
    table_for_headers,
    table_for_stem,
)
from graphcrm.ingest.validate import (
    REJECT_COLUMNS,
    KeyNotes,
    KnownIds,
    merge_reversed_ties,
    validate,
)
from graphcrm.model import (
    AGENTS,
    CLIENTS,
    INTERACTIONS,
    RELATIONSHIPS,
    TABLES,
    Label,
    RelType,
    Table,
)
from graphcrm.privacy import mask_rejects, neutralise_frame
from graphcrm.store.base import BulkLoad, GraphStore, StoreError

__all__ = [
    "FileReport",
    "IngestError",
    "IngestReport",
    "check_rejects_path",
    "discover_inputs",
    "ingest_paths",
    "write_rejects",
]

Progress = Callable[[str, int, int], None]
#: what a file's rows note for a re-run: (rules, row hashes, key hashes), see :func:`_row_record`
RowRecord = tuple[str, np.ndarray, np.ndarray]


@dataclass
class FileReport:
    """What happened to one input file.

    ``rows_read`` counts data rows (blank rows excluded); ``accepted`` rows passed validation
    (merged rows included); ``rejected`` rows had at least one problem; ``merged`` rows were
    the same person as another client and became aliases; ``changed`` records were inserted or
    actually changed in the store (0 on a re-run). ``seconds`` is the file's reading, checking
    and writing time; in the two-process pipeline, where a file is checked while the one before
    is written, it is the wall time the file added to the job (the files' seconds sum to it).
    """

    path: str
    table: str
    rows_read: int
    accepted: int
    rejected: int
    merged: int
    changed: int
    seconds: float
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    encoding: str = ""
    #: rows read and checked this time (None: every row); a re-run of a changed file whose last
    #: applied version is noted checks only the rows that are not as applied then
    rows_checked: int | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path, "table": self.table, "rows_read": self.rows_read,
            "accepted": self.accepted, "rejected": self.rejected, "merged": self.merged,
            "changed": self.changed, "seconds": round(self.seconds, 4),
            "rows_per_second": round(self.rows_per_second, 1), "encoding": self.encoding,
            "warnings": self.warnings, "error": self.error,
            "rows_checked": self.rows_read if self.rows_checked is None else self.rows_checked,
        }


@dataclass
class IngestReport:
    """A whole job: per-file reports, every rejected (row, problem), every merge."""

    files: list[FileReport]
    rejects: pd.DataFrame  # columns: file, row, column, value, reason
    merges: pd.DataFrame  # columns: alias_id, client_id, source_file, source_row, reason
    data_version_before: int
    data_version_after: int
    warnings: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return sum(f.accepted for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def errors(self) -> list[str]:
        return [f.error for f in self.files if f.error]

    def summary_table(self) -> pd.DataFrame:
        """One row per file: file, table, rows_read, accepted, rejected, merged, changed,
        seconds, rows_per_s, notes (warnings and errors)."""
        rows = []
        for f in self.files:
            notes = ([f"error: {f.error}"] if f.error else []) + f.warnings
            rows.append({
                "file": Path(f.path).name, "table": f.table, "rows_read": f.rows_read,
                "accepted": f.accepted, "rejected": f.rejected, "merged": f.merged,
                "changed": f.changed, "seconds": round(f.seconds, 3),
                "rows_per_s": round(f.rows_per_second), "notes": "; ".join(notes),
            })
        cols = ["file", "table", "rows_read", "accepted", "rejected", "merged", "changed",
                "seconds", "rows_per_s", "notes"]
        return pd.DataFrame(rows, columns=cols)

    def as_dict(self) -> dict[str, object]:
        """The report as plain data (the ``--json`` output of ``graphcrm ingest``)."""
        total_s = sum(f.seconds for f in self.files)
        rows_read = sum(f.rows_read for f in self.files)
        return {
            "data_version_before": self.data_version_before,
            "data_version_after": self.data_version_after,
            "files": [f.as_dict() for f in self.files],
            "totals": {
                "files": len(self.files), "rows_read": rows_read, "accepted": self.accepted,
                "rejected": self.rejected, "merged": sum(f.merged for f in self.files),
                "changed": sum(f.changed for f in self.files), "seconds": round(total_s, 4),
                "rows_per_second": round(rows_read / total_s, 1) if total_s else 0.0,
            },
            "rejects": len(self.rejects),
            "merges": self.merges.to_dict(orient="records"),
            "warnings": self.warnings,
            "errors": self.errors,
        }


# -- discovery ---------------------------------------------------------------------------------
def _kind(path: Path) -> Table | None:
    table = table_for_stem(path.stem)
    if table is not None:
        return table
    try:
        return table_for_headers(read_headers(path))
    except IngestError:
        return None


def _discover(paths: Sequence[str | Path]) -> tuple[list[tuple[Table, Path]], list[str]]:
    found: list[tuple[Table, Path]] = []
    warnings: list[str] = []
    if not paths:
        raise IngestError("no input files given")
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if f.is_file()
                           and f.suffix.lower() in INPUT_SUFFIXES
                           and not f.name.startswith((".", "~$")))
            kinds = [(f, _kind(f)) for f in files]
            usable = [(t, f) for f, t in kinds if t is not None]
            for f, t in kinds:
                if t is None:
                    warnings.append(f"{f.name}: skipped (neither its name nor its headers "
                                    f"match a template)")
            if not usable:
                names = ", ".join(t.name for t in TABLES)
                raise IngestError(f"{p}: no input files (CSV or XLSX named {names})")
            found.extend(usable)
        elif p.is_file():
            if p.suffix.lower() not in INPUT_SUFFIXES:
                raise IngestError(f"{p}: not a CSV or XLSX file")
            table = _kind(p)
            if table is None:
                names = ", ".join(t.name for t in TABLES)
                raise IngestError(f"{p}: cannot tell which file this is: name it after one of "
                                  f"{names} (or use the template headers)")
            found.append((table, p))
        else:
            raise IngestError(f"{p}: no such file or folder")
    order = {t.name: i for i, t in enumerate(TABLES)}
    seen: set[Path] = set()
    unique = []
    for t, f in found:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append((t, f))
    unique.sort(key=lambda tf: (order[tf[0].name], str(tf[1])))
    return unique, warnings


def discover_inputs(paths: Sequence[str | Path]) -> list[tuple[Table, Path]]:
    """Files or folders -> ``(template, file)`` pairs in ingest order.

    A folder contributes its CSV and XLSX files (files whose kind cannot be told are
    skipped); a named file must exist and be recognisable by its name or headers.

    Raises
    ------
    IngestError
        A missing path, a file that is not CSV/XLSX or cannot be recognised, or a folder
        without input files (one-line reason).
    """
    return _discover(paths)[0]


# -- the job -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _FileStamp:
    """What identifies one input's content for a re-run: ``digest`` (SHA-256 of the bytes, of
    the template and of the rules that checked them) and the file's size and change time when
    it was hashed (a file changed while the job ran is not noted as applied)."""

    digest: str
    size: int
    mtime_ns: int

    def still(self, path: Path) -> bool:
        try:
            st = path.stat()
        except OSError:
            return False
        return (st.st_size, st.st_mtime_ns) == (self.size, self.mtime_ns)


def _fingerprint(path: Path, table: Table, settings: Settings) -> _FileStamp | None:
    """The file's :class:`_FileStamp` (None when it cannot be read: the reader says why).

    The rules are part of the digest (the settings of ``[ingest]`` and this version of
    GraphCRM): the same bytes checked by other rules may give other rows.
    """
    try:
        st = path.stat()
        with path.open("rb") as fh:
            content = hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None
    return _FileStamp(f"{content}:{_rules(table, settings)}", st.st_size, st.st_mtime_ns)


def _rules(table: Table, settings: Settings, *extra: object) -> str:
    """A digest of what checks a file's rows: GraphCRM's version, the template and the
    ``[ingest]`` settings (whether a re-run checks only changed rows is not one of them: the
    result is the same either way)."""
    ingest = dataclasses.replace(settings.ingest, rerun_changed_rows_only=True)
    return hashlib.sha256(repr((__version__, table.name, ingest, *extra)).encode()
                          ).hexdigest()[:16]


def _skipped(table: Table, path: Path, stamp: _FileStamp, store: GraphStore,
             t0: float) -> FileReport | None:
    """The report of a file the store already holds as it is (see
    :meth:`GraphStore.ingested_file`), or None when it must be read."""
    info = store.ingested_file(table, stamp.digest)
    if info is None:
        return None
    return FileReport(str(path), table.name, info["rows_read"], info["accepted"], 0,
                      info["merged"], 0, time.perf_counter() - t0,
                      warnings=["unchanged since it was ingested (same bytes, its table not "
                                "changed since): not read again"], rows_checked=0)


def _transaction(store: GraphStore, table: Table, rows: int, settings: Settings
                 ) -> AbstractContextManager[BulkLoad | None]:
    bulk = getattr(store, "bulk_transaction", None)
    if bulk is not None and rows >= settings.ingest.progress_min_rows:
        return bulk(table.name,  # type: ignore[no-any-return]
                    sort_cache_kib=settings.ingest.bulk_sort_cache_kib)
    return store.transaction()


def _batches(frame: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    size = max(int(size), 1)
    for start in range(0, len(frame), size):
        yield frame.iloc[start:start + size]


def _bad_rows_frame(raw: RawFile, label: str) -> pd.DataFrame:
    return pd.DataFrame({"file": label, "row": [b[0] for b in raw.bad_rows],
                         "column": [b[1] for b in raw.bad_rows],
                         "value": [b[2] for b in raw.bad_rows],
                         "reason": [b[3] for b in raw.bad_rows]}, columns=REJECT_COLUMNS)


def ingest_paths(paths: Sequence[str | Path], store: GraphStore, *,
                 settings: Settings | None = None, progress: Progress | None = None
                 ) -> IngestReport:
    """Ingest files or folders into ``store``, one transaction per file.

    Parameters
    ----------
    paths
        CSV/XLSX files and/or folders (see :func:`discover_inputs`).
    store
        The graph store to write to.
    settings
        Settings (default: :func:`graphcrm.config.load_settings`).
    progress
        ``progress(file_label, rows_done, rows_total)``, called after every batch written; an
        exception raised in it aborts the job with the current file rolled back.

    Returns
    -------
    IngestReport
        Per-file counts, every reject and every merge. Files that could not be used (wrong
        headers, unreadable) carry an ``error`` and the job goes on with the others.

    Raises
    ------
    IngestError
        When no input could be used at all (every file missing, unreadable or with wrong
        headers).

    Examples
    --------
    >>> from graphcrm.store.sqlite import SQLiteStore  # doctest: +SKIP
    >>> report = ingest_paths(["data/sample"], SQLiteStore("crm.db"))  # doctest: +SKIP
    >>> report.summary_table()  # doctest: +SKIP
    """
    settings = settings or load_settings()
    inputs, warnings = _discover(paths)
    version_before = store.data_version()
    fresh = version_before == 0  # nothing was ever written: the store holds nothing
    state = _JobState(KnownIds(store, ask_store=not fresh,
                                    scan_min_ids=settings.ingest.known_ids_scan_min),
                      {} if fresh else store.aliases(), clients_written=not fresh,
                      stored_counts=None if fresh else _StoredCounts(store),
                      supervisors={} if fresh else _stored_supervisors(store))
    files: list[FileReport] = []
    rejects: list[pd.DataFrame] = []
    merges: list[pd.DataFrame] = []

    last_end = time.perf_counter()

    def finish(job: _Prepared, changed: int | None, error: BaseException | None) -> None:
        nonlocal last_end
        end = job.t_end or time.perf_counter()
        # in the pipeline a file is checked while the one before is written: count the wall
        # time it added
        seconds = (end - last_end if pipeline is not None
                   else job.prep_seconds + (end - job.t_write))
        last_end = end
        if error is not None:
            files.append(FileReport(str(job.path), job.table.name, job.rows_read, 0,
                                    job.rows_read, 0, 0, seconds, warnings=job.note,
                                    error=f"{job.label}: could not write: {error}",
                                    encoding=job.encoding))
            return
        rejects.append(job.rejects)
        if len(job.merges):
            merges.append(job.merges)
        files.append(FileReport(str(job.path), job.table.name, job.rows_read, job.accepted,
                                job.rows_read - job.accepted, job.merged, changed or 0,
                                seconds, warnings=job.note, encoding=job.encoding,
                                rows_checked=job.rows_checked))

    # A second *process* checks the next file while this one writes (a second thread was
    # measured slower: the two contend for the GIL; docs/benchmarks-ingest.md).
    pipeline = _Pipeline(inputs, settings) if _use_pipeline(inputs, fresh, settings) else None
    try:
        for table, path in inputs:
            if pipeline is not None:
                check_here = False
                try:
                    job = pipeline.next_file()
                    if isinstance(job, FileReport):
                        files.append(job)
                        continue
                    changed, error = _write_file(store, job, pipeline.rows(job), settings,
                                                 progress)
                    finish(job, changed, error)
                    if error is None:
                        continue
                    # the store refused it: the checker checked later files with its ids
                except PipelineError as exc:  # the file is rolled back: check it here
                    warnings.append(f"{path.name}: {exc.summary}; checked in this process")
                    check_here = True
                pipeline.close()
                pipeline = None
                # the later files are checked here, as stored
                state = _stored_state(store, settings)
                if not check_here:
                    continue
            t0 = time.perf_counter()
            stamp = _fingerprint(path, table, settings)
            done = (None if stamp is None or fresh
                    else _skipped(table, path, stamp, store, t0))
            if done is not None:
                files.append(done)
                continue
            snapshot = state.snapshot()
            job = _prepare(table, path, store, settings, state, stamp, record_later=True)
            if isinstance(job, FileReport):
                files.append(job)
                continue
            changed, error = _write_file(store, job,
                                         _batches(job.frame, settings.ingest.batch_rows),
                                         settings, progress)
            if error is not None:  # later files must not count on this file's ids
                state.restore(snapshot)
            finish(job, changed, error)
    finally:
        if pipeline is not None:
            pipeline.close()
    if files and all(f.error for f in files):
        raise IngestError("nothing usable: " + "; ".join(f.error or "" for f in files))
    all_rejects = (pd.concat(rejects, ignore_index=True) if rejects
                   else pd.DataFrame(columns=REJECT_COLUMNS))
    all_merges = (pd.concat(merges, ignore_index=True) if merges
                  else pd.DataFrame(columns=MERGE_COLUMNS))
    all_rejects["row"] = all_rejects["row"].astype(np.int64)
    return IngestReport(files, all_rejects, all_merges, version_before, store.data_version(),
                        warnings)


@dataclass
class _JobState:
    """What later files are validated against: known ids, merged ids, clients written, and
    each known agent's supervisor (a supervisor circle can close across files)."""

    known: KnownIds
    aliases: dict[str, str]
    clients_written: bool
    #: store.counts() when the store had data (read on first use)
    stored_counts: Mapping[str, int] | None = None
    supervisors: dict[str, str | None] = field(default_factory=dict)

    def snapshot(self) -> tuple[object, dict[str, str], bool, dict[str, str | None]]:
        return (self.known.snapshot(), dict(self.aliases), self.clients_written,
                dict(self.supervisors))

    def restore(self, snap: tuple[object, dict[str, str], bool, dict[str, str | None]]
                ) -> None:
        known, aliases, clients_written, supervisors = snap
        self.known.restore(known)
        self.aliases.clear()
        self.aliases.update(aliases)
        self.clients_written = clients_written
        self.supervisors.clear()
        self.supervisors.update(supervisors)


def _stored_supervisors(store: GraphStore) -> dict[str, str | None]:
    """Agent -> supervisor as stored (a few thousand agents even at 10^6 clients)."""
    agents = store.nodes(Label.AGENT, ["agent_id", "supervisor_id"])
    boss = [b if isinstance(b, str) else None for b in agents["supervisor_id"]]
    return dict(zip(agents["agent_id"], boss, strict=True))


def _stored_state(store: GraphStore, settings: Settings) -> _JobState:
    """What the files left to check are validated against when the pipeline stops mid-job:
    the files written so far, read back from the store."""
    counts = store.counts()
    return _JobState(KnownIds(store, ask_store=True,
                              scan_min_ids=settings.ingest.known_ids_scan_min),
                     store.aliases(),
                     clients_written=counts.get(Label.CLIENT.value, 0) > 0,
                     stored_counts=counts, supervisors=_stored_supervisors(store))


@dataclass
class _Prepared:
    """One file read, validated and resolved, ready to be written."""

    table: Table
    path: Path
    label: str
    frame: pd.DataFrame
    merges: pd.DataFrame
    rejects: pd.DataFrame
    rows_read: int
    accepted: int
    merged: int
    note: list[str]
    encoding: str
    t0: float
    progress_failed: bool = False
    prep_seconds: float = 0.0  # reading, validating and resolving
    t_write: float = 0.0  # when its write started
    t_end: float = 0.0  # when its write ended
    rows_to_write: int = 0  # len(frame) when prepared (new or changed rows)
    merged_originals: list[dict[str, object]] | None = None  # the merged rows, for an undo
    stamp: _FileStamp | None = None  # its content, noted with its rows when it had no reject
    #: (rules, row hashes, key hashes) noted with its rows (see :func:`_row_record`), or
    #: what makes it when the store asks (:class:`_RecordLater`)
    row_record: RowRecord | _RecordLater | None = None
    rows_checked: int | None = None  # rows validated, when not every row was


def _prepare(table: Table, path: Path, store: GraphStore | None, settings: Settings,
             state: _JobState, stamp: _FileStamp | None = None, *,
             record_later: bool = False) -> _Prepared | FileReport:
    """Read, validate and resolve one file; record its ids as known (see :class:`_JobState`).

    ``store`` is only read when ``state`` says it may hold data; the pipeline's child process
    passes None (it runs only for loads into an empty store).

    On a re-run of a changed file whose last applied version the store has noted row by row
    (:meth:`GraphStore.ingested_rows`), only the rows not among those are validated and
    resolved (:func:`_unchanged_rows`); when they could interact with the others (a key of
    an unchanged row, a client merge) every row is checked instead, so the result is always
    the one of checking every row.

    With ``record_later``, a file with no such note gets its row record
    (:func:`_row_record`) as a :class:`_RecordLater`, made while the store writes.
    """
    label = path.name
    t0 = time.perf_counter()
    if stamp is None:  # hashed before reading: the noted digest is of what was read
        stamp = _fingerprint(path, table, settings)
    try:
        raw = read_file(path, table, settings.ingest)
    except IngestError as exc:
        return FileReport(str(path), table.name, 0, 0, 0, 0, 0, time.perf_counter() - t0,
                          error=str(exc))
    note: list[str] = []
    if raw.unknown_headers:
        note.append("ignored unknown columns: " + ", ".join(raw.unknown_headers))
    if raw.blank_rows:
        note.append(f"skipped {raw.blank_rows} blank rows")
    excel = raw.encoding == "xlsx"
    #: columns dictionary-encoded, shared by the row hashes and validation (either makes them)
    encoded: dict[str, pa.DictionaryArray] = {}
    rules = _rules(table, settings, "rows", excel)
    done: _Checked | None = None
    unchanged = np.zeros(raw.n, dtype=bool)
    old_keys = np.zeros(0, dtype=np.uint64)
    noted = _noted_rows(table, path, store, state, settings, raw, rules)
    # the row hashes: now when a note needs them, else with the row record (maybe later)
    hashes = (_row_hashes(raw, table, encoded) if noted is not None or not record_later
              else None)
    plan = (_unchanged_rows(table, raw, hashes, noted)
            if noted is not None and hashes is not None else None)
    if plan is not None:
        unchanged, old_keys = plan
        delta = np.flatnonzero(~unchanged)
        done = _check(table, label, {c: a.take(pa.array(delta)) for c, a in raw.columns.items()},
                      raw.rows[delta], store, state, settings, excel)
        if not _apart(table, done, old_keys, store):  # they interact: check every row
            done = None
            unchanged = np.zeros(raw.n, dtype=bool)
            old_keys = old_keys[:0]
    if done is None:
        delta = np.arange(raw.n)
        done = _check(table, label, raw.columns, raw.rows, store, state, settings, excel,
                      encoded)
    frame = done.frame
    if done.ties_merged:
        note.append(f"{done.ties_merged} rows repeat an undirected tie in reverse (B–A after "
                    "A–B): merged into the first, one tie each")
    file_rejects = (pd.concat([done.rejects, _bad_rows_frame(raw, label)], ignore_index=True)
                    if raw.bad_rows else done.rejects)
    file_merges = done.merges
    row_record: RowRecord | _RecordLater | None
    if hashes is None:
        row_record = _RecordLater(table, raw, encoded, _Checked.for_record(done), rules)
    else:
        row_record = _row_record(table, raw, hashes, unchanged, old_keys, delta, done, rules)
    if table.label is not None and table.label != Label.POLICY:
        state.known.add(frame[table.key[0]].to_numpy(dtype=object), table.label)
    if table is AGENTS and len(frame):
        boss = [b if isinstance(b, str) else None for b in frame["supervisor_id"]]
        state.supervisors.update(zip(frame["agent_id"], boss, strict=True))
    if table is CLIENTS:
        state.clients_written = state.clients_written or len(frame) > 0
        if len(file_merges):
            state.aliases.update(zip(file_merges["alias_id"], file_merges["client_id"],
                                     strict=True))
    n_unchanged = int(unchanged.sum())
    # (changed rows fewer than the share of the unchanged ones, which are all stored: fewer
    # than the share of the stored rows, the store need not count them)
    if (state.stored_counts is not None and len(frame) and store is not None
            and len(frame) >= settings.ingest.diff_min_share * n_unchanged):
        frame = changed_rows(frame, table, store, state.stored_counts,
                             settings.ingest.diff_min_share)
    return _Prepared(table, path, label, frame, file_merges, file_rejects,
                     raw.n + len(raw.bad_rows), done.accepted + n_unchanged, done.merged_rows,
                     note, raw.encoding, t0, prep_seconds=time.perf_counter() - t0,
                     rows_to_write=len(frame), merged_originals=done.originals, stamp=stamp,
                     row_record=row_record,
                     rows_checked=(raw.n - n_unchanged + len(raw.bad_rows)) if n_unchanged
                     else None)


@dataclass
class _Checked:
    """Rows validated and resolved (:func:`_check`): the rows to write (template columns and
    ``__row``), the merges, the rejects, and the keys validation looked at."""

    frame: pd.DataFrame
    merges: pd.DataFrame
    merged_rows: int
    originals: list[dict[str, object]]
    rejects: pd.DataFrame
    accepted: int
    keys: KeyNotes | None
    ties_merged: int = 0
    validated: pd.DataFrame | None = None  # the good rows before identity resolution

    @classmethod
    def for_record(cls, done: _Checked) -> _Checked:
        """What :func:`_row_record` reads of ``done`` (each written row's ``__row``, the
        merges, the keys), without the rows."""
        return dataclasses.replace(done, frame=done.frame[["__row"]], validated=None,
                                   rejects=done.rejects.iloc[:0], originals=[])


def _check(table: Table, label: str, columns: dict[str, pa.Array], rows: np.ndarray,
           store: GraphStore | None, state: _JobState, settings: Settings, excel: bool,
           encoded: dict[str, pa.DictionaryArray] | None = None) -> _Checked:
    """Validate and resolve rows of one file against ``state`` (which it does not change);
    ``encoded``: ``columns`` dictionary-encoded (see :func:`validate`)."""
    checked = validate(columns, rows, table, file=label, settings=settings.ingest,
                       known=state.known, aliases=state.aliases, excel=excel,
                       supervisors=state.supervisors, encoded=encoded)
    frame = checked.frame
    merged_rows = ties = 0
    file_merges = pd.DataFrame(columns=MERGE_COLUMNS)
    originals: list[dict[str, object]] = []
    if table is CLIENTS and len(frame):
        if store is None and state.clients_written:
            raise StoreError("a second clients file needs the store to resolve identities")
        res = resolve_clients(frame, file=label, store=store,  # type: ignore[arg-type]
                              store_has_clients=state.clients_written, aliases=state.aliases)
        frame, file_merges, merged_rows = res.frame, res.merges, res.merged_rows
        originals = [r for r in res.originals if r["alias_id"] not in state.aliases]
    if table is RELATIONSHIPS and len(frame):
        frame, ties = merge_reversed_ties(frame, checked.reversed_repeats)
        merged_rows = ties
    return _Checked(frame, file_merges, merged_rows, originals, checked.rejects,
                    len(checked.frame), checked.keys, ties, checked.frame)


# -- re-runs that check only the changed rows ------------------------------------------------
_GOLDEN = 0x9E3779B97F4A7C15


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on a uint64 array: every input bit reaches every output bit."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _row_hashes(raw: RawFile, table: Table,
                encoded: dict[str, pa.DictionaryArray] | None = None) -> np.ndarray:
    """A uint64 hash of each row's text as read: every template column by name (a column the
    file does not have hashes apart from a blank one), whatever the order of the columns.

    Each column is dictionary-encoded by Arrow and only its distinct values hashed (pandas'
    SipHash of the text), then the columns are mixed row by row in NumPy. ``encoded``, when
    given, holds encodings made already (validation's of an edge list's two id columns: the
    same hashes, whatever else their dictionaries hold) and receives the others (validation
    then reuses them).
    """
    n = raw.n
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i, name in enumerate(table.column_names):
            salt = np.uint64(((i + 1) * _GOLDEN) % (1 << 64))
            arr = raw.columns.get(name)
            if arr is None:  # the same word in every row: mixed once, then broadcast
                one = np.array([salt ^ np.uint64(0xFFFF_FFFF_FFFF_FFFF)], dtype=np.uint64)
                h = _mix(h ^ _mix(one + salt)[0])
                continue
            enc = (encoded or {}).get(name)
            if enc is None or len(enc) != n:
                if isinstance(arr, pa.ChunkedArray):
                    arr = arr.combine_chunks()
                enc = pc.dictionary_encode(arr, null_encoding="encode")
                if encoded is not None:
                    encoded[name] = enc
            words = np.asarray(enc.dictionary.to_numpy(zero_copy_only=False), dtype=object)
            v = pd.util.hash_array(words, categorize=False)[
                enc.indices.to_numpy(zero_copy_only=False)]
            h = _mix(h ^ _mix(v + salt))
    return h


def _self_referencing(table: Table) -> bool:
    """A template whose rows refer to rows of the same template (agents' supervisors): a
    changed row can make an unchanged one wrong (a supervisor circle), so every row is
    checked."""
    return table.label is not None and any(table.label in c.refs for c in table.columns)


def _derived_keys(table: Table, raw: RawFile) -> np.ndarray | None:
    """Rows whose key is derived from their place among the file's rows (an interaction
    without an id: the k-th identical event gets ``#k``): always checked, together."""
    if table is not INTERACTIONS:
        return None
    ids = raw.columns.get("interaction_id")
    if ids is None:
        return np.ones(raw.n, dtype=bool)
    return pc.equal(pc.utf8_length(ids), 0).to_numpy(zero_copy_only=False)


def _noted_rows(table: Table, path: Path, store: GraphStore | None, state: _JobState,
                settings: Settings, raw: RawFile, rules: str
                ) -> tuple[np.ndarray, np.ndarray] | None:
    """The note of the rows of this file's last applied version a re-run can compare with
    (:meth:`GraphStore.ingested_rows`: only while its table has not changed since, so the
    store still holds exactly what those rows gave); None when every row must be checked.
    Never for agents (supervisor circles span the file)."""
    if (store is None or state.stored_counts is None or raw.n == 0
            or not settings.ingest.rerun_changed_rows_only or _self_referencing(table)):
        return None
    noted = store.ingested_rows(table, path.name, rules)
    return None if noted is None or not len(noted[0]) else noted


def _unchanged_rows(table: Table, raw: RawFile, hashes: np.ndarray,
                    noted: tuple[np.ndarray, np.ndarray]
                    ) -> tuple[np.ndarray, np.ndarray] | None:
    """The rows of a file that are as they were when its last version was applied (mask),
    with their keys' hashes then; None when every row must be checked.

    A row counts as unchanged when its text hashes to a row of ``noted`` (applied as itself
    in that version: :func:`_noted_rows`) and it is the first row of the file with that
    text. Never for interactions without an id (see :func:`_derived_keys`).
    """
    rows, keys = noted
    noted_rows = pd.Index(rows)
    if not noted_rows.is_unique:  # (never written so: not a note this job wrote)
        return None
    at = noted_rows.get_indexer(hashes)  # a hash table: 4x a binary search at 3*10^6
    unchanged = at >= 0
    unchanged &= ~pd.Series(hashes).duplicated(keep="first").to_numpy()
    derived = _derived_keys(table, raw)
    if derived is not None:
        unchanged &= ~derived
    if not unchanged.any():
        return None
    return unchanged, keys[at[unchanged]]


def _apart(table: Table, done: _Checked, old_keys: np.ndarray, store: GraphStore | None
           ) -> bool:
    """Whether the changed rows, checked alone (``done``), give what checking every row
    gives: none of them has the key of an unchanged row (a duplicate, or an undirected tie
    in reverse, whose outcome depends on the order of the two), and every client merge among
    them is closed (:func:`_merges_closed`)."""
    if table is CLIENTS and len(done.merges) and not _merges_closed(done, store):
        return False
    if done.keys is None or done.keys.empty or not len(old_keys):
        return True
    mine = np.sort(done.keys.hashes)  # a few changed rows against many unchanged
    at = np.minimum(np.searchsorted(mine, old_keys), len(mine) - 1)
    return not bool((mine[at] == old_keys).any())


def _merges_closed(done: _Checked, store: GraphStore | None) -> bool:
    """Whether the client merges found among the changed rows alone are the ones checking
    every row finds: no stored client outside a merged group holds a phone or an ID number of
    the group (its changed rows' values, its stored clients' values).

    Identity resolution links rows through chains of shared phones and ID numbers; the
    unchanged rows of the file are stored clients whose values the store holds (a blank cell
    never erases a stored value), so a chain that reached past the group would pass through
    such a stored holder. Without one, the group is the same either way, and so are its kept
    id (stored clients first, by id; then the file's rows in order) and its merged values.
    """
    if store is None or done.validated is None:
        return False
    merges = done.merges
    targets = set(merges["client_id"])
    members = targets | set(merges["alias_id"])
    rows = done.validated[done.validated["client_id"].isin(list(members))]
    stored = store.get_nodes(Label.CLIENT, sorted(targets))
    phones = {v for v in [*rows["phone"], *stored.get("phone", [])] if isinstance(v, str)}
    idns = {v for v in [*rows["id_number"], *stored.get("id_number", [])]
            if isinstance(v, str)}
    holders = store.clients_touching([*phones, *idns], ["client_id", "phone", "id_number"])
    hold = (holders["phone"].isin(list(phones)) & holders["phone"].notna()) | (
        holders["id_number"].isin(list(idns)) & holders["id_number"].notna())
    return set(holders.loc[hold, "client_id"]) <= targets


def _row_record(table: Table, raw: RawFile, hashes: np.ndarray, unchanged: np.ndarray,
                old_keys: np.ndarray, delta: np.ndarray, done: _Checked, rules: str
                ) -> RowRecord | None:
    """What the store notes for a re-run (:meth:`GraphStore.record_ingested_rows`): the rows
    applied as themselves (accepted, not merged into another row; the unchanged ones), by
    hash, with their keys' hashes, sorted by row hash."""
    if done.keys is None or done.keys.empty:
        self_pos = np.zeros(0, dtype=np.int64)
        self_keys = np.zeros(0, dtype=np.uint64)
    else:
        sub_rows = raw.rows[delta]
        own = np.isin(sub_rows, done.frame["__row"].to_numpy(dtype=np.int64))
        if len(done.merges):
            own &= ~np.isin(sub_rows, done.merges["source_row"].to_numpy(dtype=np.int64))
        derived = _derived_keys(table, raw)
        if derived is not None:
            own &= ~derived[delta]
        self_pos = np.flatnonzero(own)
        ok, self_keys = done.keys.at(self_pos)  # (every accepted row had its key looked at)
        self_pos = self_pos[ok]
    all_row_h = np.concatenate([hashes[unchanged], hashes[delta[self_pos]]])
    all_key_h = np.concatenate([old_keys, self_keys]).astype(np.uint64)
    if not len(all_row_h):
        return None
    order = np.argsort(all_row_h)  # (~2/3 of the time of a stable sort of 300,000 hashes)
    row_h = all_row_h[order]
    if (row_h[1:] == row_h[:-1]).any():  # equal hashes: the first in row order must lead
        order = np.argsort(all_row_h, kind="stable")
        row_h = all_row_h[order]
    key_h = all_key_h[order]
    first = np.ones(len(row_h), dtype=bool)
    first[1:] = row_h[1:] != row_h[:-1]
    return rules, row_h[first], key_h[first]


@dataclass
class _RecordLater:
    """The row record (:func:`_row_record`) of a file checked whole, made when called: the
    embedded store calls it on a worker thread while it rebuilds the indexes
    (:meth:`SQLiteStore.bulk_transaction`), ~0.2 s of 300,000 rows off the clock."""

    table: Table
    raw: RawFile
    encoded: dict[str, pa.DictionaryArray]  # validation's encodings, reused by the hashes
    done: _Checked  # (see :meth:`_Checked.for_record`)
    rules: str

    def __call__(self) -> RowRecord | None:
        n = self.raw.n
        return _row_record(self.table, self.raw, _row_hashes(self.raw, self.table, self.encoded),
                           np.zeros(n, dtype=bool), np.zeros(0, dtype=np.uint64),
                           np.arange(n), self.done, self.rules)


class _StoredCounts(Mapping[str, int]):
    """:meth:`GraphStore.counts`, read when first needed; :meth:`rows` counts one table
    (``counts`` counts every table and prospects: 10 s at 10^6 clients on a busy machine)."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store
        self._counts: dict[str, int] | None = None
        self._rows: dict[str, int] = {}

    def rows(self, table: Table) -> int:
        if table.name not in self._rows:
            self._rows[table.name] = self._store.table_rows(table)
        return self._rows[table.name]

    def _all(self) -> dict[str, int]:
        if self._counts is None:
            self._counts = self._store.counts()
        return self._counts

    def __getitem__(self, key: str) -> int:
        return self._all()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def _stored_rows(table: Table, counts: Mapping[str, int]) -> int:
    if isinstance(counts, _StoredCounts):
        return counts.rows(table)
    if table.label is not None:
        return counts.get(table.label.value, 0)
    if table is RELATIONSHIPS:
        return sum(counts.get(t.value, 0) for t in RelType)
    return counts.get("INTERACTION", 0)


def _comparable(values: pd.Series | np.ndarray) -> np.ndarray:
    """Object array with None for every kind of missing value (NaN, NA, None)."""
    out = np.asarray(pd.Series(values).to_numpy(dtype=object), dtype=object).copy()
    out[pd.isna(out)] = None
    return out


def changed_rows(frame: pd.DataFrame, table: Table, store: GraphStore,
                 stored_counts: Mapping[str, int], min_share: float) -> pd.DataFrame:
    """The rows of ``frame`` that are new or differ from what the store holds.

    Used on re-runs when the file holds at least ``min_share`` of the rows stored for its
    table: the stored table is read once through the :class:`GraphStore` interface and
    compared column by column (missing equals missing; ``5 == 5.0``), so unchanged rows are
    never sent to the store. Smaller files are returned whole: the store's upsert skips
    identical rows itself.
    """
    stored_n = _stored_rows(table, stored_counts)
    if stored_n == 0 or len(frame) < min_share * stored_n:
        return frame
    if table.label is not None:
        stored = store.nodes(table.label)
    elif table is RELATIONSHIPS:
        stored = store.relationships()
    else:
        stored = store.interactions()
    if stored.empty:
        return frame
    key = list(table.key)

    def index(f: pd.DataFrame) -> pd.Index:
        if len(key) == 1:
            return pd.Index(_comparable(f[key[0]]))
        return pd.MultiIndex.from_arrays([_comparable(f[k]) for k in key])

    pos = index(stored).get_indexer(index(frame))
    found = np.flatnonzero(pos >= 0)
    same = np.zeros(len(frame), dtype=bool)
    same[found] = True
    for col in table.column_names:
        if col in key or not len(found):
            continue
        a = _comparable(frame[col])[found]
        b = _comparable(stored[col])[pos[found]]
        a_none = pd.isna(a)
        b_none = pd.isna(b)
        eq = (a_none & b_none) | (~a_none & ~b_none & (a == b))
        same[found] &= eq
    return frame[~same]


def _write_file(store: GraphStore, job: _Prepared, rows: Iterable[pd.DataFrame],
                settings: Settings, progress: Progress | None) -> tuple[int, Exception | None]:
    """Write one file's ``rows`` (its batches) in one transaction: ``(changed, None)`` or
    ``(0, the store's error)``.

    An exception raised by ``progress`` (or a cancel), or by the pipeline delivering the rows,
    rolls the file back and propagates.
    """
    job.t_write = time.perf_counter()
    cols = [*job.table.column_names, "__row"]  # spreadsheet rows, for the store's errors
    total = job.rows_to_write
    changed = 0
    try:
        with _transaction(store, job.table, total, settings) as load:
            done = 0
            for batch in rows:
                changed += store.upsert(job.table, batch[[c for c in cols if c in batch]])
                done += len(batch)
                if progress is not None:
                    job.progress_failed = True
                    progress(job.label, done, total)
                    job.progress_failed = False
            # written: free the rows before the store builds its indexes (and while the next
            # file validates); the last batch is a view of them all
            batch = job.frame = job.frame.iloc[:0]
            # the row note made while SQLite builds the indexes, when it can (see BulkLoad)
            later = isinstance(job.row_record, _RecordLater) and isinstance(load, BulkLoad)
            if later:  # its worker's own malloc arena must not stack on the freed rows
                _give_back_memory(collect=False)
            if len(job.merges):
                added = store.add_aliases(job.merges)
                changed += added
                if added and job.merged_originals:
                    changed += store.append_journal("merged_row", job.merged_originals)
            if (job.stamp is not None and not len(job.rejects)
                    and job.stamp.still(job.path)):
                # committed with the rows or not at all: a re-run may then skip the file
                store.record_ingested_file(job.table, job.stamp.digest, {
                    "rows_read": job.rows_read, "accepted": job.accepted,
                    "merged": job.merged})
            def note(record: RowRecord | None) -> None:  # committed with the rows too
                if record is not None:
                    store.record_ingested_rows(job.table, job.path.name, *record)

            if later:
                assert isinstance(load, BulkLoad) and isinstance(job.row_record, _RecordLater)
                load.before_commit(job.row_record, note)
            else:
                note(job.row_record() if isinstance(job.row_record, _RecordLater)
                     else job.row_record)
        job.row_record = None
        if progress is not None and total == 0:
            job.progress_failed = True
            progress(job.label, 0, 0)
            job.progress_failed = False
    except Exception as exc:  # the store refused the file: it is rolled back
        if job.progress_failed or isinstance(exc, PipelineError):
            raise
        job.t_end = time.perf_counter()
        return 0, exc
    job.t_end = time.perf_counter()
    return changed, None


# -- the two-process pipeline ----------------------------------------------------------------------
class PipelineError(RuntimeError):
    """The pipeline's checking process failed or stopped (the message says how; a Python
    error in it comes with its traceback)."""

    @property
    def summary(self) -> str:
        """One line: the first line of the message and the error's last line."""
        lines = [line for line in str(self).splitlines() if line.strip()]
        return lines[0] if len(lines) < 2 else f"{lines[0]} {lines[-1].strip()}"


def _use_pipeline(inputs: Sequence[tuple[Table, Path]], fresh: bool, settings: Settings
                  ) -> bool:
    """Pipeline a job only when it can give the same result as one file after the other
    without reading the store: a load into an empty store with at most one file per template
    (a second clients file is resolved against the first one's *stored* rows)."""
    limit = settings.ingest.pipeline_min_bytes
    tables = [t.name for t, _ in inputs]
    if not fresh or limit < 0 or len(inputs) < 2 or len(set(tables)) < len(tables):
        return False
    return sum(p.stat().st_size for _, p in inputs) >= limit


def _to_wire(frame: pd.DataFrame, batch_rows: int) -> Iterator[tuple[str, object]]:
    """A prepared frame as messages for the writer: Arrow IPC batches (a memory copy each way,
    ~3x cheaper than pickling a frame of Python strings), or pickled frame slices when a
    column has mixed types Arrow cannot hold.

    Categorical columns (an edge list's ends) go as their categories once (a "categories"
    message) and then as codes: a slice would otherwise carry every category again, and the
    writer's batches share one categories object, which the store maps to node numbers once.
    """
    cats = {c: frame[c].dtype for c in frame.columns
            if isinstance(frame[c].dtype, pd.CategoricalDtype)}
    if cats and len(frame):  # (no batch follows an empty frame: nor may this message)
        # the dtypes themselves: columns sharing one (an edge list's two ends) still share
        # one after unpickling (pickle keeps shared objects shared within a message)
        yield "categories", cats
        frame = frame.assign(**{c: frame[c].cat.codes for c in cats})
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        for batch in _batches(frame, batch_rows):
            yield "frame", batch
        return
    for start in range(0, table.num_rows, max(int(batch_rows), 1)):
        sink = pa.BufferOutputStream()
        part = table.slice(start, batch_rows)
        with pa.ipc.new_stream(sink, part.schema) as writer:  # writes only the slice's bytes
            writer.write_table(part)
        yield "arrow", sink.getvalue()


def _from_wire(kind: str, value: object,
               categories: Mapping[str, pd.CategoricalDtype] | None = None) -> pd.DataFrame:
    """A batch from its message; ``categories``: the file's "categories" message, whose
    columns came as codes."""
    if kind == "arrow":
        frame = pa.ipc.open_stream(value).read_all().to_pandas()
    else:
        assert isinstance(value, pd.DataFrame)
        frame = value
    for c, dtype in (categories or {}).items():
        frame[c] = pd.Categorical.from_codes(frame[c].to_numpy(), dtype=dtype)
    return frame


#: how much lower the checking process's CPU priority is than the writer's (``os.nice``)
_PIPELINE_CHILD_NICENESS = 5


def _give_back_memory(collect: bool = True) -> None:
    """Return freed memory to the system between files, so the next file's peak does not
    stack on the last one's (Arrow's pool and glibc's heap keep freed pages otherwise)."""
    import ctypes
    import ctypes.util
    import gc

    if collect:
        gc.collect()
    pa.default_memory_pool().release_unused()
    libc = ctypes.util.find_library("c")
    if sys.platform.startswith("linux") and libc:
        ctypes.CDLL(libc).malloc_trim(0)


def _die_with_parent(parent: int) -> None:
    """Make this process end when ``parent`` does, even by ``kill -9``: Linux's
    ``PR_SET_PDEATHSIG`` (through ctypes), and a thread watching the parent's pid wherever
    that is not available (or the parent died before it was set)."""
    import ctypes
    import ctypes.util
    import threading

    libc_name = ctypes.util.find_library("c")
    if sys.platform.startswith("linux") and libc_name:
        pr_set_pdeathsig = 1
        with suppress(OSError, AttributeError):
            ctypes.CDLL(libc_name, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the signal was asked for
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="graphcrm-ingest-parent-watch", daemon=True).start()


def _pipeline_child(out_fd: int, parent: int | None = None) -> None:
    """The checking process (``python -c``, started by :class:`_Pipeline`).

    Reads ``(inputs, settings)`` pickled on stdin, prepares every file in order and writes to
    ``out_fd``, pickled: each file's :class:`_Prepared` (or its error :class:`FileReport`),
    then its rows in batches (:func:`_to_wire`). A sender thread pickles and writes them, so the
    next file is checked while the parent writes this one; prepared files wait as compact Arrow
    data.
    """
    import threading
    from queue import SimpleQueue

    if parent is not None:
        _die_with_parent(parent)  # a killed ingest leaves no checker running
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # The writer is the critical path: this process yields the CPU to it and keeps Arrow to
    # one thread, so two cores are not shared by four busy threads.
    os.nice(_PIPELINE_CHILD_NICENESS)
    pa.set_cpu_count(1)
    inputs, settings = pickle.load(sys.stdin.buffer)
    outbox: SimpleQueue[object] = SimpleQueue()
    done = object()

    def send() -> None:
        with open(out_fd, "wb", buffering=1 << 20) as out:
            while (msg := outbox.get()) is not done:
                pickle.dump(msg, out, protocol=pickle.HIGHEST_PROTOCOL)
                out.flush()

    sender = threading.Thread(target=send, name="graphcrm-ingest-send")
    sender.start()
    by_name = {t.name: t for t in TABLES}
    try:
        state = _JobState(KnownIds(None, ask_store=False), {}, clients_written=False)
        for name, path in inputs:
            job = _prepare(by_name[name], Path(path), None, settings, state)
            if isinstance(job, FileReport):
                outbox.put(("report", job))
                continue
            frame, job.frame = job.frame, job.frame.iloc[:0]
            outbox.put(("file", job))
            for message in _to_wire(frame, settings.ingest.batch_rows):
                outbox.put(message)
            del frame, job
            _give_back_memory()
    except BaseException:  # everything reaches the parent, which raises it
        outbox.put(("error", traceback.format_exc()))
    finally:
        outbox.put(done)
        sender.join()


#: the checking process's program: it asks to die with its parent (PR_SET_PDEATHSIG) before
#: anything else, so a parent killed while the child still imports pandas and Arrow (seconds on
#: a busy machine) does not leave it running; :func:`_die_with_parent` then adds the watch
_CHILD_CODE = """\
import ctypes, os, signal
try:
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)
except (AttributeError, OSError):
    pass
if os.getppid() != {parent}:
    os._exit(1)
from graphcrm.ingest.job import _pipeline_child
_pipeline_child({fd}, {parent})
"""


class _Pipeline:
    """Files prepared by a child process while this one writes.

    The child is a plain ``python -c`` process (not :mod:`multiprocessing`, whose ``spawn``
    re-imports the caller's main script and whose ``fork`` is unsafe beside Streamlit's and
    Arrow's threads). The parent takes each file's :class:`_Prepared` with :meth:`next_file`
    and its rows with :meth:`rows`.
    :meth:`close` stops the child (after a store error, on Ctrl-C and at the end).
    """

    def __init__(self, inputs: Sequence[tuple[Table, Path]], settings: Settings) -> None:
        import subprocess

        read_fd, write_fd = os.pipe()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD_CODE.format(parent=os.getpid(), fd=write_fd)],
                stdin=subprocess.PIPE, pass_fds=(write_fd,), env=env)
        finally:
            os.close(write_fd)  # the child holds it: end of file when the child exits
        self._in = open(read_fd, "rb", buffering=1 << 20)  # noqa: SIM115 - closed in close()
        assert self._proc.stdin is not None
        pickle.dump(([(t.name, str(p)) for t, p in inputs], settings), self._proc.stdin)
        self._proc.stdin.close()

    def _get(self) -> tuple[str, object]:
        try:
            kind, value = pickle.load(self._in)
        except (EOFError, pickle.UnpicklingError, OSError, ValueError):  # it died mid-message
            code = self._proc.wait()
            raise PipelineError(f"the second process checking the files stopped "
                                f"(exit code {code})") from None
        if kind == "error":
            raise PipelineError(f"the second process checking the files failed:\n{value}")
        return kind, value

    def next_file(self) -> _Prepared | FileReport:
        return self._get()[1]  # type: ignore[return-value]

    def rows(self, job: _Prepared) -> Iterator[pd.DataFrame]:
        done = 0
        categories: dict[str, pd.CategoricalDtype] = {}
        while done < job.rows_to_write:
            kind, value = self._get()
            if kind == "categories":  # before the file's first batch (see _to_wire)
                categories = value  # type: ignore[assignment]
                continue
            batch = _from_wire(kind, value, categories)
            done += len(batch)
            yield batch

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except Exception:
            self._proc.kill()
            self._proc.wait()
        with suppress(OSError):
            self._in.close()


def check_rejects_path(path: str | Path) -> Path:
    """Make sure the rejects file can be written, before any row is: a folder, a read-only
    file or a folder that cannot be written to is an :class:`IngestError` (one line).

    The file is opened for appending (created and removed again when it did not exist), which
    is the only test that holds for every file system and user.
    """
    p = Path(path)
    if p.is_dir():
        raise IngestError(f"rejects file {p}: is a folder (give a file name, e.g. "
                          f"{p / 'rejects.csv'})")
    existed = p.exists()
    try:
        if not p.parent.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("ab"):
            pass
    except OSError as exc:
        where = "the folder" if not existed else "the file"
        raise IngestError(f"rejects file {p}: cannot write {where} ({exc.strerror or exc}); "
                          "choose another place with --rejects") from None
    if not existed:
        p.unlink(missing_ok=True)
    return p


def write_rejects(rejects: pd.DataFrame, path: str | Path) -> Path:
    """Write the rejects as CSV in UTF-8 with a BOM (so Excel in China opens it correctly).

    A person opens this file: a rejected phone or ID number is masked in the ``value`` column
    and every text cell is neutralised against spreadsheet formulas (:mod:`graphcrm.privacy`).
    """
    p = Path(path)
    out = neutralise_frame(mask_rejects(rejects[REJECT_COLUMNS]))
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(p, index=False, encoding="utf-8-sig")
    return p
