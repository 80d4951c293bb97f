"""The shared graph store on a Neo4j 5 server, through the official ``neo4j`` driver over Bolt.

Every statement is a named, parameterised Cypher text in ``cypher/*.cypher`` (loaded by
:func:`load_statements`); this module never builds Cypher from strings. Node keys are stored as
``id`` (``agents.agent_id`` -> ``(:Agent {id})``); agents, clients and organizations also carry
the label ``:Entity`` whose ``id`` is unique across the three (see ``cypher/schema.cypher``).

Writes go in batches of ``settings.neo4j.batch_rows`` rows (``UNWIND $rows AS row MERGE ...``),
each batch one managed transaction (``session.execute_write``). A batch that fails with a
retryable error (server unreachable, leader switch, transient error) is tried again, up to
``max_retries`` attempts with a doubling back-off; a batch that keeps failing raises a
:class:`BatchFailedError` naming the table, the row range and what was committed before it,
and the store refuses further writes, so the ingest job stops there.

Unlike the embedded store, one ingest file is *not* one transaction here: batches commit one by
one. Re-running is what makes it whole: every write is a ``MERGE`` on the ids that skips
records identical to what is stored (docs/neo4j.md).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graphcrm.config import (
    ENV_NEO4J_DATABASE,
    ENV_NEO4J_PASSWORD,
    ENV_NEO4J_USER,
    ConfigError,
    Neo4jSettings,
    load_settings,
)
from graphcrm.model import (
    INTERACTIONS,
    NODE_TABLES,
    RELATIONSHIPS,
    TABLES_BY_NAME,
    Label,
    PolicyStatus,
    RelType,
    Table,
)
from graphcrm.store.base import ERASED_NAME, GraphStore, StoreError, erase_in_journal

__all__ = [
    "CYPHER_DIR",
    "BatchFailedError",
    "Neo4jStore",
    "Statement",
    "batches",
    "describe_neo4j_error",
    "load_statements",
    "parse_statements",
]

#: The folder of the named Cypher statements (the project's ``cypher/``).
CYPHER_DIR = Path(__file__).resolve().parents[2] / "cypher"

SCHEMA_VERSION = 1

#: Relationship types of the domain graph (relationships(), counts()); HOLDS, BY_AGENT,
#: WITH_CLIENT, ALIAS_OF and TIE are the back end's own.
REL_TYPES: tuple[str, ...] = tuple(t.value for t in RelType)

_NODE_STATEMENT = {Label.AGENT: "agents", Label.CLIENT: "clients",
                   Label.ORGANIZATION: "organizations", Label.POLICY: "policies"}
_ENTITY_LABELS = (Label.AGENT.value, Label.CLIENT.value, Label.ORGANIZATION.value)
#: every label the back end writes
GRAPHCRM_LABELS: tuple[str, ...] = (*(lbl.value for lbl in Label), "Entity", "Interaction",
                                    "Alias", "GraphCRMMeta", "Journal")
#: reference columns that become relationships (HOLDS, BY_AGENT, WITH_CLIENT): a batch naming
#: an id that is not stored is refused. Other references (supervisor_id, the policy's agents
#: and insured) are properties, checked by the ingest validation like in the embedded store.
_TIED_REFS: dict[str, tuple[str, ...]] = {
    "policies": ("holder_id",), "interactions": ("agent_id", "client_id"),
}


# -- statements ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Statement:
    """One named Cypher statement from ``cypher/*.cypher``.

    ``params`` are the parameters its ``// params:`` header declares (the lint check declares
    exactly these, so a misspelt ``$name`` is an error); ``line`` is where its header is.
    """

    name: str
    text: str
    params: tuple[str, ...]
    file: str
    line: int


_NAME = re.compile(r"^//\s*name:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")
_PARAMS = re.compile(r"^//\s*params:\s*(.*)$")


def parse_statements(text: str, file: str = "<text>") -> list[Statement]:
    """Split a ``.cypher`` file into named statements.

    A statement starts at a ``// name: NAME`` line, may declare ``// params: a, b`` on the
    following comment lines, and runs to the next ``// name:`` line. Comment lines right after
    the header are documentation; text before the first header is the file's preamble.

    Parameters
    ----------
    text : str
        The file's content.
    file : str
        The file name, for messages.

    Returns
    -------
    list of Statement

    Raises
    ------
    StoreError
        A statement without text, or a name used twice in the file.

    Examples
    --------
    >>> [s.name for s in parse_statements("// name: one\\nRETURN 1\\n// name: two\\nRETURN 2")]
    ['one', 'two']
    """
    out: list[Statement] = []
    current: dict[str, Any] | None = None

    def finish() -> None:
        if current is None:
            return
        body = "\n".join(current["body"]).strip()
        if not body:
            raise StoreError(f"{file}:{current['line']}: statement {current['name']} has no text")
        out.append(Statement(current["name"], body, tuple(current["params"]), file,
                             current["line"]))

    for lineno, line in enumerate(text.splitlines(), start=1):
        m = _NAME.match(line.strip())
        if m:
            finish()
            current = {"name": m.group(1), "params": [], "body": [], "line": lineno,
                       "header": True}
            continue
        if current is None:
            continue
        stripped = line.strip()
        if current["header"] and stripped.startswith("//"):
            p = _PARAMS.match(stripped)
            if p:
                current["params"].extend(x.strip() for x in p.group(1).split(",") if x.strip())
            continue
        current["header"] = False
        current["body"].append(line.rstrip())
    finish()
    names = [s.name for s in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise StoreError(f"{file}: statement names used twice: {', '.join(dup)}")
    return out


def load_statements(directory: str | Path | None = None) -> dict[str, Statement]:
    """Every named statement of every ``*.cypher`` file in ``directory`` (default ``cypher/``).

    Raises
    ------
    StoreError
        The folder is missing, or two statements share a name.
    """
    folder = Path(directory) if directory is not None else CYPHER_DIR
    files = sorted(folder.glob("*.cypher")) if folder.is_dir() else []
    if not files:
        raise StoreError(f"no Cypher statements found in {folder} (the project's cypher/ folder)")
    out: dict[str, Statement] = {}
    for f in files:
        for st in parse_statements(f.read_text(encoding="utf-8"), f.name):
            if st.name in out:
                raise StoreError(f"statement {st.name} is in both {out[st.name].file} and {f.name}")
            out[st.name] = st
    return out


# -- errors -------------------------------------------------------------------------------------
class BatchFailedError(StoreError):
    """A batch that kept failing after every retry; the message names rows and what committed."""


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "********") if secret else text


def _public_uri(uri: str) -> str:
    """The URI without any ``user:password@`` part."""
    return re.sub(r"^([a-z0-9+]+://)[^@/]*@", r"\1", uri)


def describe_neo4j_error(exc: BaseException, uri: str, settings: Neo4jSettings) -> str:
    """One line for the user that says what went wrong with the Neo4j server and what to do.

    Unreachable server, refused credentials, a database that does not exist, a server without
    GDS, anything else with its Neo4j code. The password never appears in the text.

    Parameters
    ----------
    exc : BaseException
        A driver exception (``neo4j.exceptions``) or ``OSError``.
    uri : str
        The server address the store was opened with.
    settings : Neo4jSettings
        Gives the user name and database (and the password, to redact it).

    Returns
    -------
    str
    """
    from neo4j.exceptions import (
        AuthError,
        ClientError,
        ConfigurationError,
        Neo4jError,
        ServiceUnavailable,
        SessionExpired,
    )

    where = _public_uri(uri)
    if isinstance(exc, Neo4jError):  # a server's answer: status code and message
        code, detail = exc.code or "", str(exc.message or exc)
    else:  # the driver's own errors (the GQL attributes of these are a preview: not used)
        code, detail = "", str(exc.args[0]) if exc.args else type(exc).__name__
    detail = " ".join(detail.split())
    if isinstance(exc, AuthError) or code.startswith("Neo.ClientError.Security.Unauthorized"):
        if not settings.password:
            msg = (f"Neo4j at {where} requires a password for user '{settings.user}': set "
                   f"{ENV_NEO4J_PASSWORD} (or neo4j.password in the config file)")
        else:
            msg = (f"Neo4j at {where} refused user '{settings.user}': wrong user name or password "
                   f"(set {ENV_NEO4J_USER} / {ENV_NEO4J_PASSWORD})")
    elif code == "Neo.ClientError.Database.DatabaseNotFound":
        msg = (f"Neo4j at {where} has no database '{settings.database}' (create it, or set "
               f"{ENV_NEO4J_DATABASE} / neo4j.database)")
    elif code == "Neo.ClientError.Procedure.ProcedureNotFound" and "gds." in detail:
        msg = (f"Neo4j at {where} has no Graph Data Science library (GDS): install the plugin "
               f"or set neo4j.use_gds = false ({detail})")
    elif isinstance(exc, (ServiceUnavailable, SessionExpired, OSError)):
        reason = re.search(r"\(reason ([^)]*)\)", detail)
        why = reason.group(1) if reason else detail
        msg = f"cannot reach Neo4j at {where}: {why or type(exc).__name__}"
    elif isinstance(exc, (ConfigurationError, ValueError)):
        msg = f"cannot use Neo4j address {where}: {detail}"
    elif isinstance(exc, (Neo4jError, ClientError)):
        msg = f"Neo4j at {where}: {code}: {detail}" if code else f"Neo4j at {where}: {detail}"
    else:
        msg = f"Neo4j at {where}: {type(exc).__name__}: {detail}"
    return _redact(msg, settings.password)


def _retryable(exc: BaseException) -> bool:
    from neo4j.exceptions import DriverError, IncompleteCommit, Neo4jError, SessionExpired

    if isinstance(exc, (IncompleteCommit, SessionExpired, OSError)):
        return True  # MERGE makes repeating a batch whose commit went unconfirmed safe
    if isinstance(exc, (DriverError, Neo4jError)):
        return bool(exc.is_retryable())
    return False


# -- rows ---------------------------------------------------------------------------------------
def batches(n_rows: int, size: int) -> list[tuple[int, int]]:
    """The ``[start, stop)`` row ranges of ``n_rows`` rows split into batches of ``size``.

    Examples
    --------
    >>> batches(12, 5)
    [(0, 5), (5, 10), (10, 12)]
    """
    size = max(int(size), 1)
    return [(start, min(start + size, n_rows)) for start in range(0, n_rows, size)]


def _column_values(series: pd.Series) -> list[Any]:
    """A column as values the driver can send (Python scalars), None for missing
    (None, NaN, pd.NA)."""
    values = series.to_numpy(dtype=object, na_value=None).tolist()
    if series.dtype != object:  # numeric and extension dtypes may hand out NumPy scalars
        values = [v.item() if isinstance(v, np.generic) else v for v in values]
    return values


def _maps(frame: pd.DataFrame, columns: Sequence[str], rename: dict[str, str] | None = None
          ) -> list[dict[str, Any]]:
    """Rows as property maps without the missing values (Neo4j stores no nulls)."""
    rename = rename or {}
    names = [rename.get(c, c) for c in columns]
    cols = [_column_values(frame[c]) for c in columns]
    return [{k: v for k, v in zip(names, values, strict=True) if v is not None}
            for values in zip(*cols, strict=True)]


def _frame(records: list[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """Property maps -> a table with exactly ``columns`` (missing properties as None), built
    the way the embedded store builds its frames, so both back ends give the same dtypes."""
    data = [tuple(r.get(c) for c in columns) for r in records]
    return pd.DataFrame.from_records(data, columns=list(columns))


# -- the store ----------------------------------------------------------------------------------
class Neo4jStore(GraphStore):
    """The graph store on a Neo4j 5 server (5.23 or later; GDS 2.x for the scaling path).

    Parameters
    ----------
    uri : str
        ``neo4j://``, ``neo4j+s://``, ``bolt://`` or ``bolt+s://`` address.
    settings : Neo4jSettings, optional
        User, password, database, batch size, retries, timeouts; default from
        :func:`graphcrm.config.load_settings` (``GRAPHCRM_NEO4J_*`` and ``GRAPHCRM_CONFIG``).
    statements : dict, optional
        The named statements (default :func:`load_statements`).
    verify : bool
        Connect and read the data version now, so an unreachable server, refused credentials or
        a missing database are a one-line :class:`StoreError` here rather than later.

    Notes
    -----
    The password is never part of any message; the URI is shown without a ``user:pass@`` part.
    """

    def __init__(self, uri: str, *, settings: Neo4jSettings | None = None,
                 statements: dict[str, Statement] | None = None, verify: bool = True
                 ) -> None:
        import neo4j

        if settings is None:
            try:
                settings = load_settings().neo4j
            except ConfigError as exc:
                raise StoreError(str(exc)) from None
        self.settings = settings
        self.uri = uri
        self.location = _public_uri(uri)
        self.database = self.settings.database or None
        self.statements = statements if statements is not None else load_statements()
        auth = (self.settings.user, self.settings.password) if self.settings.password else None
        try:
            self._driver = neo4j.GraphDatabase.driver(
                uri, auth=auth, user_agent="graphcrm",
                connection_timeout=float(self.settings.connect_timeout_seconds),
                # also bounds the Bolt handshake of a server that accepts and never answers
                connection_acquisition_timeout=float(self.settings.connect_timeout_seconds),
                # one attempt per managed transaction: the batch retries are ours (max_retries)
                max_transaction_retry_time=0.0,
            )
        except Exception as exc:  # bad scheme, bad port, unsupported option
            raise StoreError(describe_neo4j_error(exc, uri, self.settings)) from None
        self._lock = threading.RLock()
        self._in_tx = False
        self._changes = 0
        self._schema_done = False
        self._failed: str | None = None
        #: what earlier units of work committed, e.g. "agents: 14 rows"
        self.committed: list[str] = []
        self._tx_table: str | None = None
        self._tx_rows = 0
        #: batches committed in this unit of work: (table, first, last position, spreadsheet
        #: rows of the batch or None)
        self._tx_done: list[tuple[str, int, int, tuple[int, int] | None]] = []
        if verify:
            try:
                self._driver.verify_connectivity()
                self.data_version()
            except StoreError:
                self.close()
                raise
            except Exception as exc:
                self.close()
                raise StoreError(describe_neo4j_error(exc, uri, self.settings)) from None

    # -- running statements ----------------------------------------------------------------
    def _statement(self, name: str) -> str:
        try:
            return self.statements[name].text
        except KeyError:
            raise StoreError(f"no Cypher statement named {name} in cypher/") from None

    def _read(self, name: str, *, on_writer: bool = False, **params: Any
              ) -> list[dict[str, Any]]:
        """Run a named read statement; its records as dicts. ``on_writer`` routes it to the
        cluster member that takes writes (where a GDS graph projected by a write lives)."""
        import neo4j

        routing = neo4j.RoutingControl.WRITE if on_writer else neo4j.RoutingControl.READ
        try:
            result = self._driver.execute_query(
                self._statement(name), params, database_=self.database, routing_=routing,
            )
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(describe_neo4j_error(exc, self.uri, self.settings)) from None
        return [r.data() for r in result.records]

    def _write_once(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Run a named write statement as one managed transaction, with the batch retries."""
        try:
            return self._with_retries(  # type: ignore[no-any-return]
                lambda: self._execute_write(self._statement(name), params), what=name)
        except _GaveUpError as exc:
            raise StoreError(f"{name} failed {exc.attempts} times ({exc.reason})") from None

    def _execute_write(self, text: str, params: dict[str, Any],
                       check_ids: list[str] | None = None) -> list[dict[str, Any]]:
        missing_text = self._statement("missing_entities") if check_ids else ""

        def work(tx: Any) -> list[dict[str, Any]]:
            if check_ids:
                rec = tx.run(missing_text, ids=check_ids).single()
                missing = list(rec["missing"]) if rec is not None else []
                if missing:
                    raise _MissingIdsError(missing)
            return [r.data() for r in tx.run(text, params)]

        with self._driver.session(
            database=self.database,
            bookmark_manager=self._driver.execute_query_bookmark_manager,
        ) as session:
            return session.execute_write(work)  # type: ignore[no-any-return]

    def _with_retries(self, call: Callable[[], Any], what: str) -> Any:
        attempts = max(int(self.settings.max_retries), 1)
        for attempt in range(1, attempts + 1):
            try:
                return call()
            except (_MissingIdsError, _UnknownClientError):
                raise
            except Exception as exc:
                if not _retryable(exc):
                    raise StoreError(describe_neo4j_error(exc, self.uri, self.settings)) from None
                if attempt == attempts:
                    raise _GaveUpError(attempts, describe_neo4j_error(exc, self.uri,
                                                                     self.settings)) from None
                time.sleep(float(self.settings.retry_backoff_seconds) * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    # -- schema ----------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Create every constraint and index of ``cypher/schema.cypher`` (idempotent)."""
        if self._schema_done:
            return
        for name, st in self.statements.items():
            if st.file == "schema.cypher":
                self._write_once(name)
        self._schema_done = True

    # -- writing -------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A unit of work: the batches written inside it commit one by one (see module notes);
        on exit, if anything changed, the data version moves on (also after a failure, since
        the batches before it are committed)."""
        with self._lock:
            if self._in_tx:
                raise StoreError("nested transactions are not supported")
            if self._failed:
                raise StoreError(f"not written: the job stopped at an earlier failure "
                                 f"({self._failed})")
            self.ensure_schema()
            self._in_tx, self._changes = True, 0
            self._tx_table, self._tx_rows, self._tx_done = None, 0, []
            failed = True
            try:
                yield
                failed = False
            finally:
                self._in_tx = False
                if self._tx_done:
                    rows = sum(b - a + 1 for _, a, b, _sheet in self._tx_done)
                    self.committed.append(f"{self._tx_table}: {rows:,} rows")
                if self._changes:
                    try:
                        self._write_once(
                            "bump_data_version", updated=time.strftime("%Y-%m-%dT%H:%M:%S"),
                            schema_version=SCHEMA_VERSION,
                        )
                    except StoreError:
                        if not failed:
                            raise  # else keep the error that stopped the unit of work

    def _require_tx(self) -> None:
        if not self._in_tx:
            raise StoreError("writes must happen inside store.transaction()")

    def _committed_text(self) -> str:
        parts = list(self.committed)
        if self._tx_done:
            table = self._tx_done[0][0]
            sheets = [sheet for *_, sheet in self._tx_done]
            if all(sheet is not None for sheet in sheets):
                low = min(sheet[0] for sheet in sheets if sheet is not None)
                high = max(sheet[1] for sheet in sheets if sheet is not None)
                parts.append(f"{table}: spreadsheet rows {low:,}–{high:,}")
            else:
                first, last = self._tx_done[0][1], self._tx_done[-1][2]
                parts.append(f"{table}: rows {first:,}–{last:,}")
        return "; ".join(parts) if parts else "nothing"

    def _write_batches(self, table: str, statement: str, rows: list[dict[str, Any]],
                       refs: Callable[[list[dict[str, Any]]], list[str]] | None,
                       sheet_rows: Sequence[int] | None = None) -> int:
        """Write ``rows`` in batches of ``settings.batch_rows``; the number of changed records.

        A batch that keeps failing raises :class:`BatchFailedError` (and the store refuses
        further writes); a batch naming ids that are not stored raises :class:`StoreError`.
        """
        self._require_tx()
        text = self._statement(statement)
        if self._tx_table is None:
            self._tx_table = table
        changed = 0
        for start, stop in batches(len(rows), self.settings.batch_rows):
            chunk = rows[start:stop]
            first, last = self._tx_rows + start + 1, self._tx_rows + stop
            sheet: tuple[int, int] | None = None
            if sheet_rows is not None and len(sheet_rows) == len(rows):
                sheet = (int(min(sheet_rows[start:stop])), int(max(sheet_rows[start:stop])))
                span = f"spreadsheet rows {sheet[0]:,}–{sheet[1]:,}"
            else:
                span = f"rows {first:,}–{last:,} of those written"
            ids = refs(chunk) if refs is not None else None
            try:
                records = self._with_retries(
                    lambda chunk=chunk, ids=ids: self._execute_write(text, {"rows": chunk}, ids),
                    what=statement)
            except _MissingIdsError as exc:
                shown = ", ".join(exc.ids[:5]) + (" ..." if len(exc.ids) > 5 else "")
                raise StoreError(f"{table}: {span} name ids that are not in the store: "
                                 f"{shown}") from None
            except _GaveUpError as exc:
                self._failed = f"{table}: {span}"
                raise BatchFailedError(
                    f"{table}: {span} failed {exc.attempts} times ({exc.reason}); committed "
                    f"before it: {self._committed_text()}; nothing after it was written "
                    f"(re-running the job is safe: MERGE skips what is stored)") from None
            n = int(records[0]["changed"]) if records else 0
            changed += n
            self._changes += n
            self._tx_done.append((table, first, last, sheet))
        self._tx_rows += len(rows)
        return changed

    def upsert(self, table: Table, rows: pd.DataFrame) -> int:
        self._require_tx()
        if rows.empty:
            return 0
        cols = self._template_columns(table, rows)
        sheet = rows["__row"].tolist() if "__row" in rows.columns else None
        if table is RELATIONSHIPS:
            return self._upsert_relationships(rows, sheet)
        key = table.key[0]
        maps = _maps(rows, cols, {key: "id"})
        refs: Callable[[list[dict[str, Any]]], list[str]] | None = None
        ref_cols = _TIED_REFS.get(table.name, ())
        if ref_cols:
            def refs(chunk: list[dict[str, Any]], ref_cols: tuple[str, ...] = ref_cols
                     ) -> list[str]:
                return sorted({r[c] for r in chunk for c in ref_cols if c in r})
        if table is INTERACTIONS:
            statement = "upsert_interactions"
        elif table.label is not None:
            statement = f"upsert_{_NODE_STATEMENT[table.label]}"
        else:
            raise StoreError(f"unknown table {table.name}")
        return self._write_batches(table.name, statement, maps, refs, sheet)

    def _upsert_relationships(self, rows: pd.DataFrame, sheet: list[Any] | None) -> int:
        props = [c for c in RELATIONSHIPS.column_names if c not in RELATIONSHIPS.key]
        changed = 0
        types = rows["type"].astype(str)
        unknown = sorted(set(types) - set(REL_TYPES))
        if unknown:
            raise StoreError(f"relationships: unknown types {unknown}")
        for rel_type in REL_TYPES:
            mask = (types == rel_type).to_numpy()
            if not mask.any():
                continue
            part = rows[mask]
            maps = [{"src_id": s, "dst_id": d, "props": p} for s, d, p in zip(
                part["src_id"].tolist(), part["dst_id"].tolist(), _maps(part, props),
                strict=True)]
            part_sheet = [sheet[i] for i in np.flatnonzero(mask)] if sheet else None
            changed += self._write_batches(
                "relationships", f"upsert_rel_{rel_type}", maps,
                lambda chunk: sorted({r["src_id"] for r in chunk} | {r["dst_id"] for r in chunk}),
                part_sheet)
        return changed

    def add_aliases(self, aliases: pd.DataFrame) -> int:
        self._require_tx()
        if aliases.empty:
            return 0
        cols = ["alias_id", "client_id", "source_file", "source_row", "reason"]
        maps = _maps(aliases, cols, {"alias_id": "id"})
        return self._write_batches("aliases", "add_aliases", maps,
                                   lambda chunk: sorted({r["client_id"] for r in chunk}))

    def remove_alias(self, alias_id: str) -> bool:
        self._require_tx()
        recs = self._write_once("remove_alias", alias_id=alias_id)
        n = int(recs[0]["changed"]) if recs else 0
        self._changes += n
        return n > 0

    def append_journal(self, kind: str, records: Sequence[dict[str, object]]) -> int:
        self._require_tx()
        if not records:
            return 0
        payloads = [json.dumps(r, ensure_ascii=False, default=str) for r in records]
        self._write_once("append_journal", kind=kind, payloads=payloads,
                         recorded_at=time.strftime("%Y-%m-%dT%H:%M:%S"))
        self._changes += len(records)
        return len(records)

    def journal(self, kind: str) -> list[dict[str, object]]:
        return [{**json.loads(r["payload"]), "seq": r["seq"], "recorded_at": r["recorded_at"]}
                for r in self._read("journal", kind=kind)]

    # -- reading -------------------------------------------------------------------------
    @staticmethod
    def _columns(table: Table, columns: Sequence[str] | None) -> list[str]:
        cols = list(columns) if columns else list(table.column_names)
        bad = set(cols) - set(table.column_names)
        if bad:
            raise StoreError(f"{table.name}: unknown columns {sorted(bad)}")
        return cols

    @staticmethod
    def _node_maps(records: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
        out = []
        for r in records:
            p = dict(r["p"])
            p[key] = p.pop("id", None)
            out.append(p)
        return out

    def aliases(self) -> dict[str, str]:
        return {r["alias_id"]: r["client_id"] for r in self._read("aliases")}

    def labels_of(self, ids: Iterable[str]) -> dict[str, Label]:
        id_list = list(dict.fromkeys(ids))
        if not id_list:
            return {}
        recs = self._read("labels_of", ids=id_list, labels=list(_ENTITY_LABELS))
        return {r["id"]: Label(r["label"]) for r in recs if r["label"]}

    def nodes(self, label: Label, columns: Sequence[str] | None = None) -> pd.DataFrame:
        table = NODE_TABLES[label]
        cols = self._columns(table, columns)
        recs = self._read(f"nodes_{_NODE_STATEMENT[label]}")
        return _frame(self._node_maps(recs, table.key[0]), cols)

    def get_nodes(self, label: Label, ids: Iterable[str]) -> pd.DataFrame:
        table = NODE_TABLES[label]
        recs = self._read(f"get_{_NODE_STATEMENT[label]}", ids=list(dict.fromkeys(ids)))
        return _frame(self._node_maps(recs, table.key[0]), table.column_names)

    @staticmethod
    def _rel_frame(records: list[dict[str, Any]], columns: Sequence[str] | None = None
                   ) -> pd.DataFrame:
        maps = [{**r["p"], "src_id": r["src_id"], "dst_id": r["dst_id"], "type": r["type"]}
                for r in records]
        return _frame(maps, list(columns) if columns else list(RELATIONSHIPS.column_names))

    def relationships(
        self, types: Sequence[str] | None = None, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        cols = self._columns(RELATIONSHIPS, columns)
        recs = self._read("relationships", types=list(types) if types else list(REL_TYPES))
        return self._rel_frame(recs, cols)

    def relationships_of(self, ids: Iterable[str]) -> pd.DataFrame:
        recs = self._read("relationships_of", ids=list(dict.fromkeys(ids)),
                          types=list(REL_TYPES))
        return self._rel_frame(recs)

    def interactions(
        self, client_ids: Iterable[str] | None = None, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        cols = self._columns(INTERACTIONS, columns)
        if client_ids is None:
            recs = self._read("interactions")
        else:
            recs = self._read("interactions_of", ids=list(dict.fromkeys(client_ids)))
        return _frame(self._node_maps(recs, "interaction_id"), cols)

    def search_people(self, text: str, limit: int = 20) -> pd.DataFrame:
        recs = self._read("search_people", text=text.strip().lower(), limit=int(limit))
        return _frame(recs, ["id", "label", "name", "phone", "city"])

    def counts(self) -> dict[str, int]:
        recs = self._read("counts", in_force=PolicyStatus.IN_FORCE.value)
        row = recs[0] if recs else {}
        keys = [lbl.value for lbl in NODE_TABLES] + ["Prospect", *REL_TYPES,
                                                      "INTERACTION", "merged_ids"]
        return {k: int(row.get(k) or 0) for k in keys}

    def data_version(self) -> int:
        recs = self._read("data_version")
        return int(recs[0]["data_version"] or 0) if recs else 0

    # -- reads beyond the interface (the app and the scaling path) --------------------------
    def agent_book(self, agent_id: str) -> pd.DataFrame:
        """The clients an agent SERVES: client_id, name, phone, city, policies, premium."""
        recs = self._read("agent_book", agent_id=agent_id)
        return _frame(recs, ["client_id", "name", "phone", "city", "policies", "premium"])

    def neighbourhood(self, person_id: str) -> pd.DataFrame:
        """Every tie within two hops of one person (relationship columns)."""
        return self._rel_frame(self._read("neighbourhood_2hop", person_id=person_id,
                                          types=list(REL_TYPES)))

    def warm_path_candidates(self, agent_id: str, target_id: str) -> pd.DataFrame:
        """The ties a warm-path search of at most four hops from agent to target can use."""
        return self._rel_frame(self._read("warm_path_candidates", agent_id=agent_id,
                                          target_id=target_id, types=list(REL_TYPES)))

    # -- erasure (docs/privacy.md) -----------------------------------------------------------
    ERASED_NAME = ERASED_NAME

    def forget_client(self, client_id: str, pseudonym: str) -> dict[str, int]:
        """Erase a client in ONE write transaction (``cypher/erasure.cypher``): the same rules
        as the embedded store. What stays in the server's files (transaction logs, backups,
        freed store records until reused) is the operator's part: docs/neo4j.md "Erasure"."""
        names = ["forget_resolve", "forget_journal_naming", "forget_journal_rewrite",
                 "forget_journal_delete", "forget_pseudonym", "forget_policies_holder",
                 "forget_policies_insured", "forget_referrals_out", "forget_referrals_in",
                 "forget_interactions", "forget_aliases", "forget_client_node"]
        text = {n: self._statement(n) for n in names}

        def one(tx: Any, statement: str, /, **params: Any) -> dict[str, Any]:
            rec = tx.run(text[statement], params).single()
            return rec.data() if rec is not None else {}

        def work(tx: Any) -> dict[str, int]:
            found = one(tx, "forget_resolve", id=client_id)
            if not found.get("found"):
                raise _UnknownClientError(client_id)
            cid = str(found["client_id"])
            ids = [cid, *[str(a) for a in found.get("aliases") or []]]
            journal = [(r["id"], r["kind"], r["payload"])
                       for r in tx.run(text["forget_journal_naming"], ids=ids)]
            rewrite, delete = erase_in_journal(journal, ids, pseudonym)
            done: dict[str, Any] = {
                "journal.pseudonymised": int(one(tx, "forget_journal_rewrite", rows=[
                    {"id": key, "payload": payload} for key, payload in rewrite]
                    ).get("changed") or 0),
                "journal.deleted": int(one(tx, "forget_journal_delete", ids=delete
                                           ).get("changed") or 0),
            }
            one(tx, "forget_pseudonym", pseudonym=pseudonym, name=self.ERASED_NAME)
            moved = {"client_id": cid, "pseudonym": pseudonym}
            done["policies.holder_id"] = int(one(tx, "forget_policies_holder", **moved
                                                 ).get("changed") or 0)
            done["policies.insured_id"] = int(one(tx, "forget_policies_insured", **moved
                                                  ).get("changed") or 0)
            done["relationships.referred_pseudonymised"] = sum(
                int(one(tx, st, **moved).get("changed") or 0)
                for st in ("forget_referrals_out", "forget_referrals_in"))
            done["interactions"] = int(one(tx, "forget_interactions", client_id=cid
                                           ).get("changed") or 0)
            done["aliases"] = int(one(tx, "forget_aliases", client_id=cid).get("changed") or 0)
            gone = one(tx, "forget_client_node", client_id=cid)
            done["relationships"] = int(gone.get("relationships") or 0)
            done["clients"] = int(gone.get("clients") or 0)
            done["client_id"] = cid
            return done

        def run() -> dict[str, int]:
            with self._driver.session(
                database=self.database,
                bookmark_manager=self._driver.execute_query_bookmark_manager,
            ) as session:
                return session.execute_write(work)  # type: ignore[no-any-return]

        with self.transaction():
            try:
                done = self._with_retries(run, what="forget")
            except _UnknownClientError:
                raise StoreError(f"unknown client id '{client_id}': no such client in "
                                 f"{self.location}") from None
            except _GaveUpError as exc:
                raise StoreError(f"forget failed {exc.attempts} times ({exc.reason}); nothing "
                                 "was erased (one transaction): run it again") from None
            self._changes += 1
        if self.settings.use_gds:  # the in-memory projection holds the erased node
            with suppress(StoreError):
                self._write_once("gds_drop", graph_name=self.settings.gds_graph_name)
        return done

    def find_text(self, needles: Sequence[str]) -> list[dict[str, Any]]:
        """Every node or relationship with a property containing one of ``needles``: kind
        (node / relationship), labels or type, and which properties (never their values)."""
        return self._read("find_text", needles=[str(n) for n in needles if str(n)])

    # -- housekeeping ------------------------------------------------------------------------
    def foreign_nodes(self) -> int:
        """How many nodes in the database carry none of GraphCRM's labels."""
        recs = self._read("foreign_nodes", labels=list(GRAPHCRM_LABELS))
        return int(recs[0]["n"]) if recs else 0

    def clear(self, batch: int = 10_000) -> int:
        """Delete every GraphCRM node and its ties (other nodes are left alone); how many."""
        total = 0
        while True:
            recs = self._write_once("delete_graphcrm_nodes", labels=list(GRAPHCRM_LABELS),
                                    limit=int(batch))
            deleted = int(recs[0]["deleted"]) if recs else 0
            total += deleted
            if deleted == 0:
                return total

    # -- GDS (docs/scaling.md) ---------------------------------------------------------------
    def gds_load_ties(self, edges: pd.DataFrame, version: int) -> int:
        """Write the analysis graph's collapsed ties (columns u, v, strength, distance) as
        ``(:Entity)-[:TIE]->(:Entity)`` and drop ties of other versions; project the GDS graph.

        Returns the number of ties written.
        """
        rows = _maps(edges, ["u", "v", "strength", "distance"])
        written = 0
        for start, stop in batches(len(rows), self.settings.batch_rows):
            recs = self._write_once("gds_write_ties", rows=rows[start:stop], version=version)
            written += int(recs[0]["written"]) if recs else 0
        self._write_once("gds_drop_stale_ties", version=version)
        name = self.settings.gds_graph_name
        self._write_once("gds_drop", graph_name=name)
        self._write_once("gds_project", graph_name=name)
        return written

    def gds_pagerank(self, alpha: float, tol: float, max_iter: int) -> pd.Series:
        """Weighted PageRank of the projected graph, by node id (sums to 1)."""
        recs = self._read("gds_pagerank_stream", on_writer=True,
                          graph_name=self.settings.gds_graph_name, alpha=float(alpha),
                          tol=float(tol), max_iter=int(max_iter))
        return pd.Series({r["id"]: float(r["score"]) for r in recs}, name="pagerank",
                         dtype=float)

    def gds_dijkstra(self, source_id: str, target_id: str) -> tuple[float, list[str]]:
        """Connection distance and path between two people in the projected graph
        (``(inf, [])`` when they are not connected)."""
        recs = self._read("gds_dijkstra_stream", on_writer=True,
                          graph_name=self.settings.gds_graph_name, source_id=source_id,
                          target_id=target_id)
        if not recs:
            return math.inf, []
        return float(recs[0]["totalCost"]), list(recs[0]["path"])

    def close(self) -> None:
        with suppress(Exception):
            self._driver.close()


class _MissingIdsError(Exception):
    def __init__(self, ids: list[str]) -> None:
        super().__init__(", ".join(ids))
        self.ids = ids


class _UnknownClientError(Exception):
    pass


class _GaveUpError(Exception):
    def __init__(self, attempts: int, reason: str) -> None:
        super().__init__(reason)
        self.attempts = attempts
        self.reason = reason


#: statement names the store uses per template table (for the coverage check in the tests)
UPSERT_STATEMENTS: dict[str, tuple[str, ...]] = {
    **{NODE_TABLES[lbl].name: (f"upsert_{name}",) for lbl, name in _NODE_STATEMENT.items()},
    INTERACTIONS.name: ("upsert_interactions",),
    RELATIONSHIPS.name: tuple(f"upsert_rel_{t}" for t in REL_TYPES),
}
assert set(UPSERT_STATEMENTS) == set(TABLES_BY_NAME)
