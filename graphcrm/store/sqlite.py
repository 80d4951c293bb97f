"""The embedded graph store: one SQLite file (WAL mode, foreign keys on).

A ``nodes`` table holds every agent, client and organization id with its label and a number
(``num``); a relationship names its two ends by those numbers (``src``, ``dst``), so an end is
a real foreign key whatever its label, and an edge list stores and indexes integers instead of
repeating id texts (schema 2; a schema-1 store is upgraded by its next writable open). The
store's readers and writers speak ids: the numbers never leave this module. Upserts skip rows
identical to what is stored (``WHERE (cols) IS NOT (excluded cols)``), which is what makes
re-running an ingest a no-op: no change, and the data version stays where it was.

Bulk loads (docs/benchmarks-ingest.md): a table's key is a ``UNIQUE`` index (``<table>_key``)
rather than a ``PRIMARY KEY`` clause, so :meth:`SQLiteStore.bulk_transaction` can drop every
index of an empty table, append the rows in file order with plain ``INSERT``, and build the
indexes once at the end (SQLite sorts in C; measured faster than sorting in pandas or
``WITHOUT ROWID``). Stores created before this layout (``PRIMARY KEY`` tables) work unchanged.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from glob import escape as glob_escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphcrm.model import (
    CLIENTS,
    INTERACTIONS,
    NODE_TABLES,
    POLICIES,
    RELATIONSHIPS,
    TABLES,
    Label,
    RelType,
    Table,
)
from graphcrm.store.base import (
    ERASED_NAME,
    BulkLoad,
    GraphStore,
    StoreError,
    erase_in_journal,
)

#: 2: ``nodes`` numbers every node (``num``) and ``relationships`` names its two ends by those
#: numbers (``src``, ``dst``) instead of repeating the id texts; a store of version 1 is
#: upgraded by its next writable open (:meth:`SQLiteStore._upgrade_v1`)
SCHEMA_VERSION = 2
#: rows bound per INSERT statement (fewer when SQLite's bound-variable limit is lower)
ROWS_PER_STATEMENT = 200

#: the page cache of every connection: 256 MiB (a negative size is in KiB)
_CACHE_SIZE = -262_144

_SQL_TYPES = {"int": "INTEGER", "float": "REAL", "bool": "INTEGER"}

# Foreign keys other than the node id itself (column -> referenced table(column)).
_FOREIGN_KEYS: dict[str, dict[str, str]] = {
    "agents": {"supervisor_id": "nodes(id)"},
    "policies": {
        "holder_id": "clients(client_id)",
        "insured_id": "clients(client_id)",
        "writing_agent_id": "agents(agent_id)",
        "servicing_agent_id": "agents(agent_id)",
    },
    "relationships": {"src": "nodes(num)", "dst": "nodes(num)"},
    "interactions": {"agent_id": "agents(agent_id)", "client_id": "clients(client_id)"},
}

#: a batch of relationships whose distinct ends number fewer than the stored nodes divided by
#: this looks them up in SQLite (a temporary table and an indexed search per id, estimated at
#: several times the cost per node of reading them all: a re-run's few changed ties in a
#: store of 10^6 people then skip the ~1.5-2 s of reading every node)
_NODE_SCAN_RATIO = 8

#: columns stored under another name and type: a relationship's ends are node numbers
#: (``nodes.num``), not id texts: its rows and key index hold integers (cheaper to bind,
#: sort and write than the texts; docs/benchmarks-ingest.md), and each id is stored once, in
#: ``nodes``
_NODE_NUMBER_COLUMNS: dict[str, dict[str, str]] = {
    "relationships": {"src_id": "src", "dst_id": "dst"}}

#: the key index of each table; relationships lead with src so it also serves "ties of x"
_KEY_ORDER: dict[str, tuple[str, ...]] = {"relationships": ("src_id", "type", "dst_id")}


def _stored(table: Table, column: str) -> str:
    """The name ``column`` of ``table`` is stored under."""
    return _NODE_NUMBER_COLUMNS.get(table.name, {}).get(column, column)


def _key_index(table: Table) -> str:
    cols = [_stored(table, c) for c in _KEY_ORDER.get(table.name, table.key)]
    return f"CREATE UNIQUE INDEX IF NOT EXISTS {table.name}_key ON {table.name}({', '.join(cols)})"


#: secondary indexes, only those a query uses: every one costs a sort per bulk load (~0.1-0.4 s
#: per 10^5 rows). Phone, ID number and name are not indexed: identity resolution reads the
#: clients table whole, and search_people's ``LIKE '%text%'`` cannot use an index. Nor is a
#: relationship's far end (``dst_id``): no page or command asks "ties into x" of the store (the
#: analysis graph answers it), only an erasure, which scans once (docs/benchmarks-ingest.md).
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS int_client ON interactions(client_id)",
    "CREATE INDEX IF NOT EXISTS pol_holder ON policies(holder_id)",
)

#: indexes older stores have and this layout drops (they cost every load and serve no query)
_OBSOLETE_INDEXES = ("rel_dst",)


_INDEX_NAMES = tuple(re.search(r"EXISTS (\w+)", ddl).group(1)  # type: ignore[union-attr]
                     for ddl in _INDEXES)


def _table_ddl(table: Table, name: str | None = None) -> str:
    fks = _FOREIGN_KEYS.get(table.name, {})
    numbers = _NODE_NUMBER_COLUMNS.get(table.name, {})
    cols = []
    for c in table.columns:
        stored = numbers.get(c.name, c.name)
        sql_type = "INTEGER" if c.name in numbers else _SQL_TYPES.get(c.kind, "TEXT")
        not_null = " NOT NULL" if c.name in table.key else ""
        ref = ""
        if table.label is not None and c.name == table.key[0] and table.label != Label.POLICY:
            ref = " REFERENCES nodes(id)"
        elif stored in fks:
            ref = f" REFERENCES {fks[stored]}"
        cols.append(f"{stored} {sql_type}{not_null}{ref}")
    return (f"CREATE TABLE IF NOT EXISTS {name or table.name} (\n  " + ",\n  ".join(cols)
            + "\n)")


_BASE_DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # ``num``: the node's number, how relationships name it (kept by VACUUM: INTEGER PRIMARY KEY)
    "CREATE TABLE IF NOT EXISTS nodes (num INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
    "label TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS aliases (
  alias_id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL REFERENCES clients(client_id),
  source_file TEXT, source_row INTEGER, reason TEXT)""",
    """CREATE TABLE IF NOT EXISTS journal (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL, recorded_at TEXT NOT NULL, payload TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS journal_kind ON journal (kind, seq)",
    # files applied by the ingest job: a re-run skips a file whose bytes were applied and
    # whose table has not changed since (``version`` >= the table's ``changed:`` meta entry)
    """CREATE TABLE IF NOT EXISTS ingested_files (
  table_name TEXT NOT NULL, digest TEXT NOT NULL, rows_read INTEGER NOT NULL,
  accepted INTEGER NOT NULL, merged INTEGER NOT NULL, version INTEGER,
  PRIMARY KEY (table_name, digest))""",
    # the rows of the file last applied under a name: a re-run of that file, changed, reads
    # only the rows not among them (valid while its table has not changed since, as above)
    """CREATE TABLE IF NOT EXISTS ingested_rows (
  table_name TEXT NOT NULL, file_name TEXT NOT NULL, rules TEXT NOT NULL,
  row_hashes BLOB NOT NULL, key_hashes BLOB NOT NULL, version INTEGER,
  PRIMARY KEY (table_name, file_name))""",
)
_BASE_NAMES = tuple(re.search(r"EXISTS (\w+)", ddl).group(1)  # type: ignore[union-attr]
                    for ddl in _BASE_DDL)


def _column_values(series: pd.Series, nullable: bool = True) -> list[Any] | np.ndarray:
    """A column as Python values with None for missing (sqlite3 binds these directly).

    ``nullable=False``: a text column that cannot hold a missing value (a key column: the
    ingest job validated it, and the table says ``NOT NULL``) is not scanned for one (an edge
    list's two id columns: one pass less over 600,000 scattered strings)."""
    if series.dtype == object and not nullable:
        return series.to_numpy(dtype=object)
    if series.dtype == object:
        mask = pd.isna(series).to_numpy()
        if not mask.any():
            return series.tolist()
        arr = series.to_numpy(dtype=object, copy=True)
        arr[mask] = None
        return arr.tolist()
    if pd.api.types.is_bool_dtype(series):
        return [int(v) for v in series.tolist()]
    mask = series.isna().to_numpy()
    values = series.tolist()
    if mask.any():
        for i in np.flatnonzero(mask):
            values[i] = None
    if pd.api.types.is_float_dtype(series) or pd.api.types.is_integer_dtype(series):
        return values
    return [None if v is None else str(v) for v in values]


def _constant_columns(rows: pd.DataFrame, cols: Sequence[str]) -> dict[str, str]:
    """Text columns holding one value in every row of ``rows``, as SQL string literals (an
    edge list's ``type``: one less value bound per row)."""
    out: dict[str, str] = {}
    for c in cols:
        series = rows[c]
        if series.dtype != object:
            continue
        first = series.iat[0]
        if type(first) is not str or "\x00" in first or len(first) > 200:
            continue
        values = series.to_numpy()
        try:  # a few rows first: an id column differs at once, without a pass over all
            same = (bool((values[:8] == first).all()) and bool((values[-8:] == first).all())
                    and bool((values == first).all()))
        except (TypeError, ValueError):  # pd.NA and the like cannot say
            same = False
        if same:
            out[c] = "'" + first.replace("'", "''") + "'"
    return out


def _read_only_error(exc: sqlite3.OperationalError) -> bool:
    """SQLite's ways of saying the file or its folder cannot be written."""
    text = str(exc).lower()
    return any(w in text for w in ("readonly", "read-only", "unable to open", "disk i/o"))


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def _busy_message(path: Path, exc: sqlite3.OperationalError) -> str:
    return (f"{path}: the store is busy: another process is writing to it ({exc}); "
            "try again when it has finished")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def remove_stale_temp_files(path: Path) -> list[Path]:
    """Remove the temporary files a killed process left beside the store file.

    Files written beside the store go through ``<store file><suffix>.<pid>.tmp`` and are
    renamed into place (the analysis-graph snapshot does this); a process killed in between
    leaves its temporary file. Those whose process no longer runs are removed.
    """
    removed: list[Path] = []
    try:
        candidates = list(path.parent.glob(f"{glob_escape(path.name)}*.tmp"))
    except OSError:
        return removed
    for tmp in candidates:
        parts = tmp.name.rsplit(".", 2)
        if len(parts) != 3 or not parts[1].isdigit() or _pid_alive(int(parts[1])):
            continue
        try:
            tmp.unlink()
            removed.append(tmp)
        except OSError:
            pass  # not ours to remove (read-only folder): harmless
    return removed


@dataclass
class _NodeNumbers:
    """Every stored node's id and number (``nodes.num``), as read at one ``PRAGMA
    data_version`` (which moves when another connection commits).

    Relationship ends are stored as these numbers: writing maps ids to numbers with Arrow's
    hash lookup (a categorical column: its categories only, kept for its next batches),
    reading maps numbers back with a NumPy take, each id one shared Python string."""

    ids: pa.Array  # string, one per node, grouped by label
    nums: np.ndarray  # int64, the number of each of ``ids``
    version: int
    labels: list[str]  # the label of each of ``ids``
    _by_num: np.ndarray | None = None
    #: the numbers of recent categories, by categories object (an edge list's two ends
    #: share one; each entry keeps its categories alive, so an id() is never reused)
    _mapped: dict[int, tuple[pd.Index, np.ndarray]] = field(default_factory=dict)

    def numbers(self, values: pd.Series) -> np.ndarray:
        """The number of each value (int64), -1 for a missing value or an id that is no node."""
        if isinstance(values.dtype, pd.CategoricalDtype):
            cats = values.cat.categories
            if id(cats) not in self._mapped:
                if len(self._mapped) >= 4:
                    self._mapped.clear()
                self._mapped[id(cats)] = (cats, self._lookup(cats.to_numpy(dtype=object)))
            codes = values.cat.codes.to_numpy()
            return np.where(codes >= 0, self._mapped[id(cats)][1][codes], -1)
        return self._lookup(values.to_numpy(dtype=object))

    def _lookup(self, values: np.ndarray) -> np.ndarray:
        try:
            arr = pa.array(values, type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # a non-text id: no node has it
            arr = pa.array([v if isinstance(v, str) else None for v in values], type=pa.string())
        where = pc.index_in(arr, value_set=self.ids).fill_null(-1)
        pos = where.to_numpy(zero_copy_only=False).astype(np.int64)
        return np.where(pos >= 0, self.nums[pos], -1)

    def ids_of(self, nums: np.ndarray) -> np.ndarray:
        """The id of each number (an object array of ``str``)."""
        if self._by_num is None:
            by_num = np.empty(int(self.nums.max(initial=0)) + 1, dtype=object)
            by_num[self.nums] = self.ids.to_numpy(zero_copy_only=False)
            self._by_num = by_num
        return self._by_num[np.asarray(nums, dtype=np.int64)]


class SQLiteStore(GraphStore):
    """The embedded store in one SQLite file.

    Parameters
    ----------
    path : str
        The database file; created with its folder when ``create`` is true.
    create : bool
        Create the file and schema if missing; otherwise a missing file is a :class:`StoreError`.
    busy_timeout : float
        How long a write waits for another process's write to finish before it fails with
        "the store is busy". Reading never waits: an open only takes a write lock when it
        has to create the schema, and WAL readers do not block on a writer.
    """

    def __init__(self, path: str | Path, *, create: bool = True,
                 busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        #: opened read-only (the file or its folder cannot be written: a read-only disk)
        self.read_only = False
        if not self.path.exists():
            if not create:
                raise StoreError(f"no store at {self.path} (run `graphcrm ingest` first)")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._configure()
            self._ensure_schema()
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                raise StoreError(_busy_message(self.path, exc)) from exc
            if create or not _read_only_error(exc):
                raise StoreError(f"{self.path}: not a GraphCRM store ({exc})") from exc
            with suppress(sqlite3.Error):
                self._conn.close()
            self._open_read_only()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a GraphCRM store ({exc})") from exc
        remove_stale_temp_files(self.path)
        self._lock = threading.RLock()
        self._in_tx = False
        self._changes = 0
        self._changed_tables: set[str] = set()  # in this transaction; "*" for every table
        self._bulk_empty: str | None = None  # table being bulk-loaded from empty
        #: every node's id and number (:meth:`_node_numbers`): dropped when this store
        #: writes nodes or rolls back; another process's commit moves ``PRAGMA data_version``
        self._nodes: _NodeNumbers | None = None
        self._max_variables = self._conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)

    def _configure(self) -> None:
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(f"PRAGMA cache_size={_CACHE_SIZE}")
        self._conn.execute("PRAGMA temp_store=MEMORY")

    def _open_read_only(self) -> None:
        """Open a store that cannot be written (a read-only disk or folder): ``mode=ro``, and
        ``immutable=1`` where SQLite cannot even make its WAL index beside the file."""
        last: sqlite3.Error | None = None
        for flags in ("mode=ro", "mode=ro&immutable=1"):
            conn: sqlite3.Connection | None = None
            try:
                conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?{flags}", uri=True,
                                       timeout=30.0, isolation_level=None,
                                       check_same_thread=False)
                self._conn = conn
                self._configure()
                version = self._meta("schema_version")
            except sqlite3.Error as exc:
                last = exc
                if conn is not None:
                    with suppress(sqlite3.Error):
                        conn.close()
                continue
            if version == "1":
                raise StoreError(
                    f"{self.path}: made by an older GraphCRM (schema 1) and cannot be written "
                    "here, so it cannot be upgraded: open it once where it can be written "
                    "(any graphcrm command, e.g. `graphcrm stats`), then copy it back")
            if version != str(SCHEMA_VERSION):
                raise StoreError(
                    f"{self.path}: schema version {version}, this GraphCRM reads {SCHEMA_VERSION}"
                )
            self.read_only = True
            return
        raise StoreError(f"{self.path}: not a GraphCRM store ({last})")

    def set_meta(self, key: str, value: str) -> None:
        """Record a property of the store (e.g. that the demo made it); not data: the data
        version does not move."""
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def meta(self, key: str) -> str | None:
        """A property recorded with :meth:`set_meta` (None when absent)."""
        with self._lock:
            return self._meta(key)

    # -- schema --------------------------------------------------------------------------
    def _schema_ready(self) -> bool:
        """The schema is all there (read without any lock: a reader never waits for a writer)."""
        names = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master")}
        need = set(_BASE_NAMES) | {t.name for t in TABLES} | set(_INDEX_NAMES)
        if not (need <= names and self._meta("schema_version") is not None):
            return False
        if names & set(_OBSOLETE_INDEXES):  # dropped under the write lock below
            return False
        if self._meta("schema_version") == "1":  # upgraded under the write lock below
            return False
        # a column added to a template later (relationships.approved_by) makes an older
        # store not ready, so the locked path below adds it
        for table in TABLES:
            have = {r[1] for r in self._conn.execute(f"PRAGMA table_info({table.name})")}
            if any(_stored(table, c.name) not in have for c in table.columns):
                return False
        return True

    def _ensure_schema(self) -> None:
        if self._schema_ready():  # every open but the first: no write lock, no waiting
            version = self._meta("schema_version")
            if version != str(SCHEMA_VERSION):
                raise StoreError(f"{self.path}: schema version {version}, this GraphCRM reads "
                                 f"{SCHEMA_VERSION}")
            return
        cur = self._conn.cursor()
        # off for the upgrade's table swap (only effective outside a transaction)
        cur.execute("PRAGMA foreign_keys=OFF")
        cur.execute("BEGIN IMMEDIATE")
        try:
            has_meta = cur.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
            if has_meta and self._meta("schema_version") == "1":
                self._upgrade_v1(cur)
            for ddl in _BASE_DDL:
                cur.execute(ddl)
            existing = {r[0] for r in cur.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            for table in TABLES:
                if table.name not in existing:  # older stores keep their PRIMARY KEY tables
                    cur.execute(_table_ddl(table))
                    cur.execute(_key_index(table))
                    continue
                # a column added to a template later (interactions.note) joins older stores
                have = {r[1] for r in cur.execute(f"PRAGMA table_info({table.name})")}
                for c in table.columns:
                    if _stored(table, c.name) not in have:
                        sql_type = _SQL_TYPES.get(c.kind, "TEXT")
                        cur.execute(f"ALTER TABLE {table.name} ADD COLUMN {c.name} {sql_type}")
            for ddl in _INDEXES:
                cur.execute(ddl)
            for name in _OBSOLETE_INDEXES:
                cur.execute(f"DROP INDEX IF EXISTS {name}")
            cur.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?), ('data_version', '0'),"
                " ('created', ?), ('store_id', ?)",
                (str(SCHEMA_VERSION), time.strftime("%Y-%m-%dT%H:%M:%S"), uuid.uuid4().hex),
            )
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        finally:
            cur.execute("PRAGMA foreign_keys=ON")
        version = self._meta("schema_version")
        if version != str(SCHEMA_VERSION):
            raise StoreError(
                f"{self.path}: schema version {version}, this GraphCRM reads {SCHEMA_VERSION}"
            )

    def _upgrade_v1(self, cur: sqlite3.Cursor) -> None:
        """Schema 1 -> 2, inside the caller's write transaction (foreign keys off): number the
        nodes, and rewrite ``relationships`` with its ends as those numbers, in stored order
        (so "the later row wins" rules read the same). The data version does not move: the
        data is the same, and an analysis snapshot of it stays valid."""
        cur.execute("CREATE TABLE nodes_v2 (num INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
                    "label TEXT NOT NULL)")
        cur.execute("INSERT INTO nodes_v2 (id, label) SELECT id, label FROM nodes")
        have = {r[1] for r in cur.execute("PRAGMA table_info(relationships)")}
        cur.execute(_table_ddl(RELATIONSHIPS, "relationships_v2"))
        kept = [c for c in RELATIONSHIPS.column_names
                if c not in ("src_id", "dst_id") and c in have]
        cur.execute(
            f"INSERT INTO relationships_v2 (src, dst, {', '.join(kept)}) "
            f"SELECT s.num, d.num, {', '.join('r.' + c for c in kept)} FROM relationships r "
            "CROSS JOIN nodes_v2 s ON s.id = r.src_id CROSS JOIN nodes_v2 d ON d.id = r.dst_id "
            "ORDER BY r.rowid")
        moved = cur.execute("SELECT COUNT(*) FROM relationships_v2").fetchone()[0]
        stored = cur.execute("SELECT COUNT(*) FROM relationships").fetchone()[0]
        if moved != stored:  # a tie whose end is not a node: the foreign key says impossible
            raise StoreError(f"{self.path}: cannot upgrade the store: {stored - moved} "
                             "relationships name an unknown node (run an integrity check)")
        for old in ("relationships", "nodes"):
            cur.execute(f"DROP TABLE {old}")
            cur.execute(f"ALTER TABLE {old}_v2 RENAME TO {old}")
        cur.execute(_key_index(RELATIONSHIPS))
        cur.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                    (str(SCHEMA_VERSION),))

    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    # -- writing -------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._in_tx:
                raise StoreError("nested transactions are not supported")
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if _busy(exc):
                    raise StoreError(_busy_message(self.path, exc)) from exc
                raise
            self._in_tx, self._changes = True, 0
            self._changed_tables = set()
            try:
                yield
                if self._changes:
                    self._conn.execute(
                        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                        "WHERE key = 'data_version'"
                    )
                    # which tables this version changed: an ingested-file note older than
                    # its table's change no longer lets a re-run skip the file
                    self._conn.executemany(
                        "INSERT INTO meta SELECT ?, value FROM meta WHERE key = 'data_version' "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        [(f"changed:{t}",) for t in sorted(self._changed_tables)])
                    self._conn.execute(
                        "INSERT INTO meta VALUES ('updated', ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        (time.strftime("%Y-%m-%dT%H:%M:%S"),),
                    )
                for notes in ("ingested_files", "ingested_rows"):
                    self._conn.execute(
                        f"UPDATE {notes} SET version = (SELECT CAST(value AS INTEGER) "
                        "FROM meta WHERE key = 'data_version') WHERE version IS NULL")
                self._conn.execute("COMMIT")
            except BaseException:
                self._nodes = None  # it may hold nodes this transaction added
                self._conn.execute("ROLLBACK")
                raise
            finally:
                self._in_tx = False

    @contextmanager
    def bulk_transaction(self, table_name: str, sort_cache_kib: int = 2_000
                         ) -> Iterator[BulkLoad]:
        """A :meth:`transaction` for a large load into one table (used by the ingest job).

        Foreign keys are not enforced inside it (the ingest job has checked every reference
        itself). When ``table_name`` starts empty, every index of it (the key index too) is
        dropped, :meth:`upsert` appends rows with a plain ``INSERT`` and defers the ``nodes``
        entries, and the indexes are rebuilt before the commit: one sort each instead of a
        random B-tree insert per row. A duplicate key then fails the ``CREATE UNIQUE INDEX``
        and the whole file is rolled back, as any failure is, indexes included.

        The index builds run with a page cache of ``sort_cache_kib`` KiB and temporary files
        on disk (``temp_store=FILE`` for the whole bulk transaction: it can only change
        outside one): SQLite then sorts in cache-sized runs and merges them, half the CPU
        time of one sort in the store's 256 MiB cache with in-memory temporary storage, and
        less memory (setting ``ingest.bulk_sort_cache_kib``; docs/benchmarks-ingest.md).

        It yields a :class:`BulkLoad`: work handed to it runs while the indexes are rebuilt.
        """
        if table_name not in {t.name for t in TABLES}:
            raise StoreError(f"unknown table {table_name}")
        with self._lock:
            self._conn.execute("PRAGMA foreign_keys=OFF")  # only effective outside a transaction
            self._conn.execute("PRAGMA temp_store=FILE")  # likewise (see above)
            try:
                with self.transaction():
                    empty = self._conn.execute(
                        f"SELECT NOT EXISTS (SELECT 1 FROM {table_name})"
                    ).fetchone()[0]
                    indexes = self._conn.execute(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                        "AND tbl_name = ? AND sql IS NOT NULL", (table_name,)
                    ).fetchall() if empty else []
                    for name, _sql in indexes:
                        self._conn.execute(f"DROP INDEX {name}")
                    self._bulk_empty = table_name if empty else None
                    load = BulkLoad()
                    yield load
                    self._bulk_empty = None
                    with load.overlapped():
                        if indexes:
                            self._conn.execute(
                                f"PRAGMA cache_size=-{max(int(sort_cache_kib), 1)}")
                            try:
                                for _name, sql in indexes:
                                    self._conn.execute(sql)
                            finally:
                                self._conn.execute(f"PRAGMA cache_size={_CACHE_SIZE}")
                    if empty:
                        self._add_nodes_from(table_name)
            finally:
                self._bulk_empty = None
                self._conn.execute("PRAGMA foreign_keys=ON")
                self._conn.execute("PRAGMA temp_store=MEMORY")

    def _add_nodes_from(self, table_name: str) -> None:
        """``nodes`` entries for every id of a node table, in one statement."""
        table = next(t for t in TABLES if t.name == table_name)
        if table.label is None or table.label == Label.POLICY:
            return
        self._nodes = None
        self._conn.execute(
            f"INSERT INTO nodes (id, label) SELECT {table.key[0]}, ? FROM {table.name} "
            "WHERE true ON CONFLICT(id) DO NOTHING", (table.label.value,))

    def _require_tx(self) -> None:
        if not self._in_tx:
            raise StoreError("writes must happen inside store.transaction()")

    def upsert(self, table: Table, rows: pd.DataFrame) -> int:
        self._require_tx()
        if rows.empty:
            return 0
        cols = self._template_columns(table, rows)
        bulk = self._bulk_empty == table.name
        if table.label is not None and table.label != Label.POLICY and not bulk:
            node_ids = rows[table.key[0]].tolist()
            self._nodes = None  # numbers may be added
            self._conn.executemany(
                "INSERT INTO nodes (id, label) VALUES (?, ?) ON CONFLICT(id) DO NOTHING",
                zip(node_ids, [table.label.value] * len(node_ids), strict=True),
            )
        numbers = {c: self._node_numbers(table, c, rows[c])
                   for c in _NODE_NUMBER_COLUMNS.get(table.name, {})}
        before = self._conn.total_changes
        non_key = [c for c in cols if c not in table.key]
        # a column blank in every row of the batch is written as a NULL literal, not bound
        # per row: an edge list fills 3 of the 8 relationship columns (binding is the cost)
        blank = {c for c in non_key if pd.isna(rows[c].iat[0]) and rows[c].isna().all()}

        def new(c: str) -> str:
            return "NULL" if c in blank else f"excluded.{c}"

        conflict = f" ON CONFLICT({', '.join(_stored(table, c) for c in table.key)}) DO "
        if bulk:  # an empty table without indexes: nothing to conflict with (see bulk_transaction)
            conflict = ""
        elif non_key:
            conflict += (
                "UPDATE SET " + ", ".join(f"{c} = {new(c)}" for c in non_key)
                + f" WHERE ({', '.join(f'{table.name}.{c}' for c in non_key)}) IS NOT "
                + f"({', '.join(new(c) for c in non_key)})"
            )
        else:
            conflict += "NOTHING"
        bound = [c for c in cols if c not in blank]
        literal = _constant_columns(rows, bound) if len(rows) >= ROWS_PER_STATEMENT else {}
        if len(literal) == len(bound):  # keep one bound column (the row count comes from it)
            literal.pop(bound[0], None)
        bound = [c for c in bound if c not in literal]
        values = [numbers[c] if c in numbers else _column_values(rows[c], c not in table.key)
                  for c in bound]
        self._insert_rows(table.name, [_stored(table, c) for c in bound], values, conflict,
                          literal)
        changed = self._conn.total_changes - before
        self._changes += changed
        if changed:
            self._changed_tables.add(table.name)
        return changed

    def _current_nodes(self) -> tuple[_NodeNumbers | None, int]:
        """The node read kept from before when still current (no node written by this store,
        no commit by another connection since), and ``PRAGMA data_version`` now."""
        version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        current = self._nodes is not None and self._nodes.version == version
        return (self._nodes if current else None), version

    def _node_table(self) -> _NodeNumbers:
        """Every node's id, number and label, read again when a node may have changed since
        (this store wrote one, or another connection committed).

        Each label's ids and numbers come as two texts joined by SQLite and split by Python
        (a third of the time of a row per id); a label whose ids hold the separator is read
        row by row."""
        with self._lock:
            kept, version = self._current_nodes()
            if kept is not None:
                return kept
            ids: list[pa.Array] = []
            labels: list[str] = []
            nums: list[np.ndarray] = []
            for label, count, joined_nums, joined in self._conn.execute(
                    "SELECT label, COUNT(*), group_concat(num), group_concat(id, char(31)) "
                    "FROM nodes GROUP BY label").fetchall():
                # split by Arrow and NumPy: no Python string per id (a third of the time)
                part = pc.split_pattern(pa.array([joined or ""], type=pa.large_string()),
                                        "\x1f").flatten().cast(pa.string())
                if len(part) != count:  # an id holds the separator
                    rows = self._conn.execute(
                        "SELECT num, id FROM nodes WHERE label = ?", (label,)).fetchall()
                    part = pa.array([r[1] for r in rows], type=pa.string())
                    joined_nums = ",".join(str(r[0]) for r in rows)
                ids.append(part)
                labels += [label] * len(part)
                nums.append(np.fromstring(joined_nums, dtype=np.int64, sep=","))
            self._nodes = _NodeNumbers(
                pa.concat_arrays(ids) if ids else pa.array([], type=pa.string()),
                np.concatenate(nums) if nums else np.zeros(0, dtype=np.int64), version,
                labels)
            return self._nodes

    def _node_numbers(self, table: Table, column: str, ids: pd.Series) -> list[int]:
        """The node numbers (``nodes.num``) of the ids in ``column``, as a list of ints; an id
        that is no node is refused as the foreign key would refuse it (the ingest job has
        checked every end already).

        From every node's number when read already (and current); otherwise a batch with few
        distinct ids for the store's size (a re-run's changed ties) looks them up in SQLite,
        a larger one reads every node once (:data:`_NODE_SCAN_RATIO`)."""
        with self._lock:
            nodes, _version = self._current_nodes()
            if nodes is None:
                # a categorical's categories are its file's ids (this batch may be one of
                # many): the file decides; a bulk load reads every node at once
                if isinstance(ids.dtype, pd.CategoricalDtype):
                    distinct = ids.cat.categories.to_numpy(dtype=object)
                else:
                    distinct = pd.unique(ids.dropna().to_numpy(dtype=object))
                stored = self._conn.execute("SELECT MAX(num) FROM nodes").fetchone()[0] or 0
                if (self._bulk_empty != table.name
                        and len(distinct) * _NODE_SCAN_RATIO < stored):
                    found = self._in_ids("SELECT num, id FROM nodes WHERE id IN "
                                         "(SELECT id FROM _ids)", distinct.tolist())
                    nodes = _NodeNumbers(pa.array(found["id"].tolist(), type=pa.string()),
                                         found["num"].to_numpy(dtype=np.int64), -1, [])
                else:
                    nodes = self._node_table()
        pos = nodes.numbers(ids)
        if (pos < 0).any():
            bad = ids.iloc[int(np.flatnonzero(pos < 0)[0])]
            if pd.isna(bad):
                raise StoreError(f"{table.name}.{column}: a missing id "
                                 "(NOT NULL constraint failed)")
            raise StoreError(f"{table.name}.{column}: {bad!r} is not a stored agent, client or "
                             "organization (FOREIGN KEY constraint failed)")
        return pos.tolist()

    def _insert_rows(self, name: str, cols: list[str],
                     columns: Sequence[list[Any] | np.ndarray],
                     conflict: str, literal: dict[str, str] | None = None) -> None:
        """``INSERT`` with many rows per statement (``VALUES (...), (...), ...``).

        Binding ``ROWS_PER_STATEMENT`` rows per statement instead of one row per
        ``executemany`` step roughly halves the time per row in CPython's sqlite3
        (docs/benchmarks-ingest.md). ``literal``: columns with one value in every row, written
        into the statement as SQL literals instead of bound per row. The values are laid out
        row after row in one NumPy object array (a strided copy per column: a quarter of the
        time of zipping Python tuples at 300,000 rows).
        """
        literal = literal or {}
        n = len(columns[0]) if columns else 0
        width = len(cols)
        per = max(1, min(ROWS_PER_STATEMENT, self._max_variables // max(width, 1)))
        head = f"INSERT INTO {name} ({', '.join([*cols, *literal])}) VALUES "
        one = "(" + ", ".join(["?"] * width + list(literal.values())) + ")"
        if any(len(c) != n for c in columns):
            raise ValueError("columns of different lengths")
        laid = np.empty(n * width, dtype=object)
        for j, col in enumerate(columns):
            if not isinstance(col, np.ndarray):
                values = np.empty(n, dtype=object)
                values[:] = col  # element by element: a tuple value stays one value
                col = values
            laid[j::width] = col
        flat = laid.tolist()
        full = (n // per) * per
        if full:
            sql = head + ", ".join([one] * per) + conflict
            step = per * width
            cur = self._conn.cursor()
            for start in range(0, full * width, step):
                cur.execute(sql, flat[start:start + step])
        if n > full:
            self._conn.execute(head + ", ".join([one] * (n - full)) + conflict,
                               flat[full * width:])

    def add_aliases(self, aliases: pd.DataFrame) -> int:
        self._require_tx()
        if aliases.empty:
            return 0
        cols = ["alias_id", "client_id", "source_file", "source_row", "reason"]
        before = self._conn.total_changes
        self._conn.executemany(
            "INSERT INTO aliases VALUES (?, ?, ?, ?, ?) ON CONFLICT(alias_id) DO NOTHING",
            zip(*(_column_values(aliases[c]) for c in cols), strict=True),
        )
        added = self._conn.total_changes - before
        self._changes += added
        if added:
            self._changed_tables.add(CLIENTS.name)  # identity resolution reads the aliases
        return added

    def remove_alias(self, alias_id: str) -> bool:
        self._require_tx()
        cur = self._conn.execute("DELETE FROM aliases WHERE alias_id = ?", (alias_id,))
        self._changes += cur.rowcount
        if cur.rowcount:
            # rows that named the alias were written to the kept client: a re-ingest of their
            # files must read them again to move them (the undo's remedy), so every table
            # whose rows name clients counts as changed
            self._changed_tables.update(
                t.name for t in (CLIENTS, POLICIES, RELATIONSHIPS, INTERACTIONS))
        return cur.rowcount > 0

    def record_ingested_file(self, table: Table, digest: str, info: dict[str, int]) -> None:
        self._require_tx()
        self._conn.execute(
            "INSERT OR REPLACE INTO ingested_files VALUES (?, ?, ?, ?, ?, NULL)",
            (table.name, digest, int(info["rows_read"]), int(info["accepted"]),
             int(info["merged"])))

    def ingested_file(self, table: Table, digest: str) -> dict[str, int] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT f.rows_read, f.accepted, f.merged FROM ingested_files f WHERE "
                "f.table_name = ? AND f.digest = ? AND f.version IS NOT NULL AND f.version >= "
                "(SELECT COALESCE(MAX(CAST(value AS INTEGER)), 0) FROM meta "
                " WHERE key IN ('changed:' || f.table_name, 'changed:*'))",
                (table.name, digest)).fetchone()
        if row is None:
            return None
        return {"rows_read": row[0], "accepted": row[1], "merged": row[2]}

    def record_ingested_rows(self, table: Table, file_name: str, rules: str,
                             row_hashes: np.ndarray, key_hashes: np.ndarray) -> None:
        self._require_tx()
        self._conn.execute(
            "INSERT OR REPLACE INTO ingested_rows VALUES (?, ?, ?, ?, ?, NULL)",
            (table.name, file_name, rules,
             np.ascontiguousarray(row_hashes, dtype="<u8").tobytes(),
             np.ascontiguousarray(key_hashes, dtype="<u8").tobytes()))

    def ingested_rows(self, table: Table, file_name: str, rules: str
                      ) -> tuple[np.ndarray, np.ndarray] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT f.row_hashes, f.key_hashes FROM ingested_rows f WHERE "
                "f.table_name = ? AND f.file_name = ? AND f.rules = ? AND f.version IS NOT NULL"
                " AND f.version >= (SELECT COALESCE(MAX(CAST(value AS INTEGER)), 0) FROM meta"
                " WHERE key IN ('changed:' || f.table_name, 'changed:*'))",
                (table.name, file_name, rules)).fetchone()
        if row is None:
            return None
        rows = np.frombuffer(row[0], dtype="<u8").astype(np.uint64)
        keys = np.frombuffer(row[1], dtype="<u8").astype(np.uint64)
        if len(rows) != len(keys):
            return None
        return rows, keys

    def append_journal(self, kind: str, records: Sequence[dict[str, object]]) -> int:
        self._require_tx()
        at = time.strftime("%Y-%m-%dT%H:%M:%S")
        self._conn.executemany(
            "INSERT INTO journal (kind, recorded_at, payload) VALUES (?, ?, ?)",
            ((kind, at, json.dumps(r, ensure_ascii=False, default=str)) for r in records))
        self._changes += len(records)
        return len(records)

    def journal(self, kind: str) -> list[dict[str, object]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, recorded_at, payload FROM journal WHERE kind = ? ORDER BY seq",
                (kind,)).fetchall()
        return [{**json.loads(p), "seq": q, "recorded_at": at} for q, at, p in rows]

    # -- reading -------------------------------------------------------------------------
    def _frame(self, sql: str, params: Sequence[Any] = (), columns: Sequence[str] | None = None
               ) -> pd.DataFrame:
        with self._lock:
            cur = self._conn.execute(sql, params)
            names = [d[0] for d in cur.description]
            data = cur.fetchall()
        frame = pd.DataFrame.from_records(data, columns=names)
        return frame if columns is None else frame[list(columns)]

    @contextmanager
    def _ids_table(self, ids: Iterable[str]) -> Iterator[None]:
        """The temporary table ``_ids`` holding ``ids`` (emptied afterwards)."""
        id_list = list(dict.fromkeys(ids))
        with self._lock:
            self._conn.execute("CREATE TEMP TABLE IF NOT EXISTS _ids (id TEXT PRIMARY KEY)")
            self._conn.execute("DELETE FROM _ids")
            self._conn.executemany("INSERT OR IGNORE INTO _ids VALUES (?)", ((i,) for i in id_list))
            try:
                yield
            finally:
                self._conn.execute("DELETE FROM _ids")

    def _in_ids(self, sql: str, ids: Iterable[str], columns: Sequence[str] | None = None
                ) -> pd.DataFrame:
        """Run ``sql`` (which selects ``... WHERE x IN (SELECT id FROM _ids)``) for many ids."""
        with self._ids_table(ids):
            return self._frame(sql, (), columns)

    @staticmethod
    def _select(table: Table, columns: Sequence[str] | None) -> str:
        cols = list(columns) if columns else list(table.column_names)
        bad = set(cols) - set(table.column_names)
        if bad:
            raise StoreError(f"{table.name}: unknown columns {sorted(bad)}")
        return ", ".join(cols)

    def aliases(self) -> dict[str, str]:
        with self._lock:
            return dict(self._conn.execute("SELECT alias_id, client_id FROM aliases").fetchall())

    def labels_of(self, ids: Iterable[str]) -> dict[str, Label]:
        frame = self._in_ids("SELECT id, label FROM nodes WHERE id IN (SELECT id FROM _ids)", ids)
        return {i: Label(lbl) for i, lbl in zip(frame["id"], frame["label"], strict=True)}

    def node_labels(self) -> tuple[pa.Array, list[str]] | None:
        """Every node id (an Arrow string array) and its label, grouped by label (read with
        the node numbers: the ingest job's reference check and its relationship writes share
        one read)."""
        nodes = self._node_table()
        return nodes.ids, list(nodes.labels)

    def nodes(self, label: Label, columns: Sequence[str] | None = None) -> pd.DataFrame:
        table = NODE_TABLES[label]
        return self._frame(f"SELECT {self._select(table, columns)} FROM {table.name}")

    def get_nodes(self, label: Label, ids: Iterable[str]) -> pd.DataFrame:
        table = NODE_TABLES[label]
        return self._in_ids(
            f"SELECT * FROM {table.name} WHERE {table.key[0]} IN (SELECT id FROM _ids)", ids
        )

    def table_rows(self, table: Table) -> int:
        if table.name not in {t.name for t in TABLES}:
            raise StoreError(f"unknown table {table.name}")
        with self._lock:
            return int(self._conn.execute(f"SELECT COUNT(*) FROM {table.name}").fetchone()[0])

    def clients_touching(self, values: Iterable[str], columns: Sequence[str]) -> pd.DataFrame:
        # one scan of clients in SQLite (phone and ID number have no index), not a read of all
        return self._in_ids(
            f"SELECT {self._select(CLIENTS, columns)} FROM clients WHERE client_id IN "
            "(SELECT id FROM _ids) OR phone IN (SELECT id FROM _ids) OR id_number IN "
            "(SELECT id FROM _ids)", (v for v in values if isinstance(v, str)))

    def _relationship_frame(self, where: str = "", params: Sequence[Any] = (),
                            columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Relationship rows (``SELECT ... FROM relationships r {where}``) with each end's
        number turned back into its id, nodes and rows read in one snapshot."""
        cols = list(columns) if columns else list(RELATIONSHIPS.column_names)
        self._select(RELATIONSHIPS, cols)  # refuses unknown columns
        numbers = _NODE_NUMBER_COLUMNS["relationships"]
        sql = (f"SELECT {', '.join('r.' + numbers.get(c, c) for c in cols)} "
               f"FROM relationships r {where}")
        with self._lock:
            snapshot = not self._in_tx  # a write transaction is one already
            if snapshot:
                self._conn.execute("BEGIN")
            try:
                frame = self._frame(sql, params)
                nodes = self._node_table() if len(frame) else None
            finally:
                if snapshot:
                    self._conn.execute("COMMIT")
        frame.columns = cols
        for c in numbers:
            if c in frame.columns:
                frame[c] = (nodes.ids_of(frame[c].to_numpy(dtype=np.int64))
                            if nodes is not None else frame[c].astype(object))
        return frame

    def relationships(
        self, types: Sequence[str] | None = None, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        if types:
            return self._relationship_frame(
                f"WHERE r.type IN ({', '.join('?' * len(types))})", list(types), columns)
        return self._relationship_frame(columns=columns)

    def relationships_of(self, ids: Iterable[str]) -> pd.DataFrame:
        nums = "(SELECT num FROM nodes WHERE id IN (SELECT id FROM _ids))"
        with self._ids_table(ids):
            return self._relationship_frame(
                f"WHERE r.src IN {nums} OR r.dst IN {nums} ORDER BY r.rowid")

    def interactions(
        self, client_ids: Iterable[str] | None = None, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        select = self._select(INTERACTIONS, columns)
        if client_ids is None:
            return self._frame(f"SELECT {select} FROM interactions")
        return self._in_ids(
            f"SELECT {select} FROM interactions WHERE client_id IN (SELECT id FROM _ids)",
            client_ids,
        )

    def search_people(self, text: str, limit: int = 20) -> pd.DataFrame:
        pattern = f"%{text.strip()}%"
        return self._frame(
            "SELECT client_id AS id, 'Client' AS label, name, phone, city FROM clients "
            "WHERE client_id LIKE ?1 OR name LIKE ?1 OR phone LIKE ?1 "
            "UNION ALL SELECT agent_id, 'Agent', name, phone, region FROM agents "
            "WHERE agent_id LIKE ?1 OR name LIKE ?1 OR phone LIKE ?1 LIMIT ?2",
            (pattern, limit),
        )

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        with self._lock:
            for label, table in NODE_TABLES.items():
                out[label.value] = self._conn.execute(
                    f"SELECT COUNT(*) FROM {table.name}"
                ).fetchone()[0]
            out["Prospect"] = self._conn.execute(
                "SELECT COUNT(*) FROM clients c WHERE NOT EXISTS (SELECT 1 FROM policies p "
                "WHERE p.holder_id = c.client_id AND p.status = 'in_force')"
            ).fetchone()[0]
            by_type = dict(self._conn.execute(
                "SELECT type, COUNT(*) FROM relationships GROUP BY type"
            ).fetchall())
            for rel in RelType:
                out[rel.value] = int(by_type.get(rel.value, 0))
            out["INTERACTION"] = self._conn.execute(
                "SELECT COUNT(*) FROM interactions"
            ).fetchone()[0]
            out["merged_ids"] = self._conn.execute("SELECT COUNT(*) FROM aliases").fetchone()[0]
        return out

    def data_version(self) -> int:
        with self._lock:
            return int(self._meta("data_version") or 0)

    def fingerprint(self) -> str:
        """A random id given at creation, the data version and the time of the last change (a
        file deleted and re-created is a different store even at the same data version)."""
        with self._lock:
            return "/".join(str(self._meta(k)) for k in ("store_id", "data_version", "updated"))

    # -- erasure -------------------------------------------------------------------------
    ERASED_NAME = ERASED_NAME

    def forget_client(self, client_id: str, pseudonym: str) -> dict[str, int]:
        with self._lock:
            resolved = self._conn.execute(
                "SELECT client_id FROM aliases WHERE alias_id = ?", (client_id,)).fetchone()
            cid = resolved[0] if resolved else client_id
            if not self._conn.execute("SELECT 1 FROM clients WHERE client_id = ?",
                                      (cid,)).fetchone():
                raise StoreError(f"unknown client id '{client_id}': no such client in "
                                 f"{self.location}")
            self._conn.execute("PRAGMA secure_delete=ON")
            done: dict[str, int] = {}
            ids = [cid] + [r[0] for r in self._conn.execute(
                "SELECT alias_id FROM aliases WHERE client_id = ?", (cid,)).fetchall()]
            with self.transaction():
                ex = self._conn.execute
                done.update(self._forget_in_journal(ids, pseudonym))
                others = [c for c in CLIENTS.column_names if c not in ("client_id", "name")]
                self._nodes = None
                ex("INSERT INTO nodes (id, label) VALUES (?, 'Client') "
                   "ON CONFLICT(id) DO NOTHING", (pseudonym,))
                cnum, pnum = (ex("SELECT num FROM nodes WHERE id = ?", (i,)).fetchone()[0]
                              for i in (cid, pseudonym))
                ex(f"INSERT INTO clients (client_id, name, {', '.join(others)}) "
                   f"VALUES (?, ?, {', '.join('NULL' for _ in others)}) "
                   "ON CONFLICT(client_id) DO NOTHING", (pseudonym, self.ERASED_NAME))
                for col in ("holder_id", "insured_id"):
                    done[f"policies.{col}"] = ex(
                        f"UPDATE policies SET {col} = ? WHERE {col} = ?",
                        (pseudonym, cid)).rowcount
                # referral records are reward evidence: kept, under the pseudonym
                moved = 0
                for end, other in (("src", "dst"), ("dst", "src")):
                    moved += ex(
                        f"UPDATE OR IGNORE relationships SET {end} = ? WHERE {end} = ? AND "
                        f"type = 'REFERRED' AND {other} <> ?", (pnum, cnum, cnum)).rowcount
                done["relationships.referred_pseudonymised"] = moved
                done["relationships"] = ex(
                    "DELETE FROM relationships WHERE src = ? OR dst = ?",
                    (cnum, cnum)).rowcount
                done["interactions"] = ex("DELETE FROM interactions WHERE client_id = ?",
                                          (cid,)).rowcount
                done["aliases"] = ex("DELETE FROM aliases WHERE client_id = ? OR alias_id = ?",
                                     (cid, cid)).rowcount
                done["clients"] = ex("DELETE FROM clients WHERE client_id = ?",
                                     (cid,)).rowcount
                ex("DELETE FROM nodes WHERE id = ?", (cid,))
                self._changes += 1
                self._changed_tables.add("*")
            done["client_id"] = cid  # type: ignore[assignment]
            self.scrub()
        return done

    def _forget_in_journal(self, ids: list[str], pseudonym: str) -> dict[str, int]:
        """Journal records that name one of ``ids`` (:func:`erase_in_journal`)."""
        rows = self._conn.execute("SELECT seq, kind, payload FROM journal").fetchall()
        rewrite, delete = erase_in_journal(rows, ids, pseudonym)
        self._conn.executemany("UPDATE journal SET payload = ? WHERE seq = ?",
                               [(payload, seq) for seq, payload in rewrite])
        self._conn.executemany("DELETE FROM journal WHERE seq = ?", [(seq,) for seq in delete])
        return {"journal.pseudonymised": len(rewrite), "journal.deleted": len(delete)}

    def scrub(self) -> None:
        """Leave no copy of deleted rows in the files: rebuild the database (VACUUM: free
        pages and stale cells from earlier updates go), then checkpoint and truncate the WAL."""
        with self._lock:
            self._conn.execute("PRAGMA secure_delete=ON")
            self._conn.execute("VACUUM")
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with suppress(sqlite3.Error):
            self._conn.close()
