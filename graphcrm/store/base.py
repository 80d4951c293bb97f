"""The graph store interface: what every back end (SQLite, Neo4j) implements.

It speaks the domain (node labels, relationship types, interactions, identity aliases), never
SQL or Cypher, so ingest, metrics and the app work unchanged on either back end. Tables are
exchanged as pandas DataFrames whose columns are the template columns in :mod:`graphcrm.model`.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from graphcrm.model import Label, RelType, Table

#: the journals GraphCRM keeps (append-only): merged rows, undone merges, settled reward lines
JOURNAL_KINDS: tuple[str, ...] = ("merged_row", "merge_undo", "reward_settled")


class StoreError(RuntimeError):
    """A store that cannot be opened or used; the message is one line for the user."""


#: the name of a pseudonymised client row (no personal data), on every back end
ERASED_NAME = "已删除 erased"


def erase_in_journal(records: Iterable[tuple[object, str, str]], ids: Sequence[str],
                     pseudonym: str) -> tuple[list[tuple[object, str]], list[object]]:
    """What erasing ``ids`` does to journal records ``(key, kind, payload JSON)``.

    Settled reward lines (``reward_settled``) are reward evidence: they are kept, with every
    occurrence of an id (as a whole word) replaced by ``pseudonym``, so they keep their points.
    Any other record naming an id (merged-row copies, merge undos: personal data) is deleted.
    The same rule on every back end; the journal is append-only for every other purpose.

    Returns
    -------
    (rewrite, delete)
        ``[(key, new payload)]`` and ``[key]``.
    """
    if not ids:
        return [], []
    pattern = re.compile("|".join(rf"(?<![\w]){re.escape(i)}(?![\w])" for i in ids))

    def names(value: object) -> bool:
        if isinstance(value, str):
            return pattern.search(value) is not None
        if isinstance(value, dict):
            return any(names(k) or names(v) for k, v in value.items())
        if isinstance(value, list):
            return any(names(v) for v in value)
        return False

    def replace(value: object) -> object:
        if isinstance(value, str):
            return pattern.sub(pseudonym, value)
        if isinstance(value, dict):
            return {replace(k): replace(v) for k, v in value.items()}
        if isinstance(value, list):
            return [replace(v) for v in value]
        return value

    rewrite: list[tuple[object, str]] = []
    delete: list[object] = []
    for key, kind, payload in records:
        data = json.loads(payload)
        if not names(data):
            continue
        if kind == "reward_settled":
            rewrite.append((key, json.dumps(replace(data), ensure_ascii=False)))
        else:
            delete.append(key)
    return rewrite, delete


class BulkLoad:
    """What the writer of a bulk transaction (the embedded store's ``bulk_transaction``) can
    hand over: work to do while the store rebuilds its indexes.

    SQLite releases the GIL while it sorts an index (seconds at 10^6 rows), so Python work
    the commit needs but the rows do not (the ingest job's notes for a re-run) runs then on
    a worker thread instead of before or after it.
    """

    def __init__(self) -> None:
        self._work: list[tuple[Callable[[], Any], Callable[[Any], None]]] = []

    def before_commit(self, compute: Callable[[], Any], apply: Callable[[Any], None]) -> None:
        """Run ``compute()`` on a worker thread while the indexes are rebuilt, then
        ``apply(its result)`` in the transaction, before the commit (both in turn when there
        is no index to rebuild). ``compute`` must not touch the store; an exception from
        either rolls the transaction back."""
        self._work.append((compute, apply))

    @contextmanager
    def overlapped(self) -> Iterator[None]:
        """For the store: every ``compute`` runs on a worker thread during the block, then
        every ``apply``."""
        if not self._work:
            yield
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="graphcrm-bulk") as pool:
            futures = [pool.submit(compute) for compute, _apply in self._work]
            yield
            results = [f.result() for f in futures]  # (a failed block waits for them too)
        for (_compute, apply), result in zip(self._work, results, strict=True):
            apply(result)


class GraphStore(ABC):
    """A graph of agents, clients, organizations and policies, their ties and interactions."""

    #: where the store lives (a file path or a URL), for messages
    location: str

    # -- writing -------------------------------------------------------------------------
    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One unit of work: everything written inside commits together or not at all.

        On a successful exit that changed anything, the data version moves on.
        """

    @abstractmethod
    def upsert(self, table: Table, rows: pd.DataFrame) -> int:
        """Insert or update ``rows`` (columns = ``table.column_names``) keyed by ``table.key``.

        An optional ``__row`` column (the ingest job passes it) holds each row's spreadsheet row
        number, for error messages; it is not stored.

        Returns the number of records that were inserted or actually changed; rows identical
        to what is stored change nothing. Must be called inside :meth:`transaction`.
        """

    @abstractmethod
    def add_aliases(self, aliases: pd.DataFrame) -> int:
        """Record merged identities.

        ``aliases`` has columns ``alias_id`` (the id a source row used), ``client_id`` (the
        client it was merged into), ``source_file``, ``source_row`` and ``reason``. Returns how
        many aliases were new.
        """

    @abstractmethod
    def remove_alias(self, alias_id: str) -> bool:
        """Forget one merged identity (an undone merge); True if it was recorded."""

    @abstractmethod
    def append_journal(self, kind: str, records: Sequence[dict[str, object]]) -> int:
        """Append ``records`` (JSON-serialisable dicts) to the append-only journal ``kind``.

        The journal keeps what must never be rewritten: the original rows of merged
        identities (``merged_row``), undone merges (``merge_undo``) and settled reward
        ledger lines (``reward_settled``). Each record is stored with its sequence number and
        the time it was recorded. Must be called inside :meth:`transaction`. Returns how many
        records were appended.
        """

    # -- reading -------------------------------------------------------------------------
    @abstractmethod
    def journal(self, kind: str) -> list[dict[str, object]]:
        """Every record of journal ``kind`` in the order appended, each with ``seq`` and
        ``recorded_at`` added."""

    @abstractmethod
    def aliases(self) -> dict[str, str]:
        """Every merged id mapped to the client id it resolves to."""

    @abstractmethod
    def labels_of(self, ids: Iterable[str]) -> dict[str, Label]:
        """The label of each of ``ids`` that exists as an agent, client or organization."""

    @abstractmethod
    def nodes(self, label: Label, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """All nodes of one label as a table (``columns`` to read fewer)."""

    @abstractmethod
    def get_nodes(self, label: Label, ids: Iterable[str]) -> pd.DataFrame:
        """The nodes of one label with the given ids."""

    @abstractmethod
    def relationships(
        self, types: Sequence[str] | None = None, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """All relationships, or those of the given types."""

    @abstractmethod
    def relationships_of(self, ids: Iterable[str]) -> pd.DataFrame:
        """Every relationship that touches one of ``ids`` (either end)."""

    @abstractmethod
    def interactions(
        self, client_ids: Iterable[str] | None = None, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """All interactions, or those with the given clients."""

    @abstractmethod
    def search_people(self, text: str, limit: int = 20) -> pd.DataFrame:
        """Clients and agents whose id, name or phone contains ``text`` (case-insensitive).

        Columns: ``id``, ``label``, ``name``, ``phone``, ``city``.
        """

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Counts of every node label, relationship type, interactions and aliases."""

    @abstractmethod
    def data_version(self) -> int:
        """A number that moves on with every ingest that changed something."""

    def forget_client(self, client_id: str, pseudonym: str) -> dict[str, int]:
        """Erase a client's personal data and ties (``graphcrm forget``; docs/privacy.md).

        The client row, its interactions, its merged ids and every tie other than REFERRED are
        deleted; its policies and REFERRED ties move to ``pseudonym``, a client row with no
        personal data, so settled reward lines keep their points. Afterwards no copy of the
        deleted data may remain in the store's files. Returns rows changed per table.
        """
        raise StoreError(f"{self.location}: erasure is not available for this back end yet")

    def node_labels(self) -> tuple[Sequence[str] | pa.Array, list[str]] | None:
        """Every node id, each once (a list or an Arrow string array), with its label value,
        in one read (the ingest job's reference check uses it when a file names many ids); None
        when the back end has no cheap way (the job then asks :meth:`labels_of` about the
        ids it needs)."""
        return None

    def record_ingested_file(self, table: Table, digest: str, info: dict[str, int]) -> None:  # noqa: B027
        """Inside the transaction that writes a file: note that the file whose content hash
        is ``digest`` has been applied to ``table`` (``info``: its rows read, accepted and
        merged). It commits or rolls back with the file's rows. Back ends that do not keep
        such notes ignore it, and every re-run then reads every file (still a no-op)."""

    def ingested_file(self, table: Table, digest: str) -> dict[str, int] | None:
        """The note :meth:`record_ingested_file` left for ``digest``, but only while nothing
        has changed ``table`` (or the aliases, for clients) since: re-applying the file could
        then change nothing, so the ingest job may skip it. None otherwise."""
        return None

    def table_rows(self, table: Table) -> int:
        """How many rows ``table`` holds (relationships: ties of every type)."""
        counts = self.counts()
        if table.label is not None:
            return int(counts.get(table.label.value, 0))
        if table.name == "relationships":
            return sum(int(counts.get(t.value, 0)) for t in RelType)
        return int(counts.get("INTERACTION", 0))

    def clients_touching(self, values: Iterable[str], columns: Sequence[str]) -> pd.DataFrame:
        """Stored clients (``columns``) whose ``client_id``, ``phone`` or ``id_number`` is one
        of ``values``, and possibly others: the caller filters (identity resolution of a few
        rows need not read every client). The default reads every client."""
        return self.nodes(Label.CLIENT, columns)

    def record_ingested_rows(self, table: Table, file_name: str, rules: str,  # noqa: B027
                             row_hashes: np.ndarray, key_hashes: np.ndarray) -> None:
        """Inside the transaction that writes a file: note which of its rows are applied as
        they are (``row_hashes``, uint64 per row of the file's text, sorted) and each such
        row's key (``key_hashes``, aligned), under the file's name and the ``rules`` that
        checked them; it replaces the note of that name and commits or rolls back with the
        rows. A re-run of a changed file of that name then checks only the other rows (see
        :meth:`ingested_rows`). Back ends that keep no such notes ignore it."""

    def ingested_rows(self, table: Table, file_name: str, rules: str
                      ) -> tuple[np.ndarray, np.ndarray] | None:
        """``(row_hashes, key_hashes)`` noted by :meth:`record_ingested_rows` for this file
        name and rules, but only while nothing has changed ``table`` since (else None)."""
        return None

    @staticmethod
    def _template_columns(table: Table, rows: pd.DataFrame) -> list[str]:
        """The table's template columns, after checking ``rows`` has every one of them."""
        cols = list(table.column_names)
        missing = [c for c in cols if c not in rows.columns]
        if missing:
            raise StoreError(f"{table.name}: missing columns {missing}")
        return cols

    def fingerprint(self) -> str:
        """What identifies this store's current content: it changes whenever the data changes,
        and differs between two stores that happen to share a data version. Caches of derived
        data (the analysis graph snapshot) are keyed by it."""
        return f"{self.location}#{self.data_version()}"

    def close(self) -> None:  # noqa: B027 - optional for back ends without resources
        """Release connections."""

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


NEO4J_SCHEMES = frozenset({"neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc"})


def is_neo4j_url(target: str) -> bool:
    """True for ``neo4j://``, ``neo4j+s://``, ``bolt://`` ... addresses."""
    return "://" in target and target.split("://", 1)[0].lower() in NEO4J_SCHEMES
