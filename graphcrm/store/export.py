"""The file templates written back out of any store (``graphcrm export --to DIR``).

Kept apart from :mod:`graphcrm.store.cli` so that library code and tests can import it without
loading the command line.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from graphcrm.model import INTERACTIONS, RELATIONSHIPS, TABLES, Table
from graphcrm.privacy import mask_frame, neutralise_frame
from graphcrm.store.base import JOURNAL_KINDS, GraphStore, StoreError, is_neo4j_url

__all__ = ["copy_journals", "export_tables", "is_neo4j_url", "read_table"]


def copy_journals(source: GraphStore, target: GraphStore) -> int:
    """Append to ``target`` the journal records of ``source`` it does not hold yet.

    Journals are append-only, so the target's first records of a kind are the source's first
    ones: only the records past the target's count are copied (a second export copies
    nothing). Each keeps its original time as ``copied_recorded_at``. Returns how many records
    were appended. The settled reward lines travel with the store this way, so a store copied
    to Neo4j never pays a settled line again.
    """
    copied = 0
    for kind in JOURNAL_KINDS:
        src = source.journal(kind)
        have = len(target.journal(kind))
        if len(src) <= have:
            continue
        rows = [{**{k: v for k, v in r.items() if k not in ("seq", "recorded_at")},
                 "copied_recorded_at": r["recorded_at"]} for r in src[have:]]
        with target.transaction():
            copied += target.append_journal(kind, rows)
    return copied

def read_table(store: GraphStore, table: Table) -> pd.DataFrame:
    """One template table read from ``store``: its columns, sorted by its key."""
    if table is RELATIONSHIPS:
        frame = store.relationships()
    elif table is INTERACTIONS:
        frame = store.interactions()
    elif table.label is not None:
        frame = store.nodes(table.label)
    else:  # pragma: no cover - every template is one of the above
        raise StoreError(f"cannot read {table.name}")
    frame = frame[list(table.column_names)]
    return frame.sort_values(list(table.key), kind="stable").reset_index(drop=True)


def _for_csv(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in table.columns:
        if col.kind in ("int", "bool"):  # 1, not 1.0: the validator reads integers
            out[col.name] = pd.to_numeric(out[col.name], errors="coerce").astype("Int64")
        elif col.kind == "float":
            out[col.name] = pd.to_numeric(out[col.name], errors="coerce")
    return out


def export_tables(store: GraphStore, directory: str | Path, *, unmasked: bool = True
                  ) -> dict[str, int]:
    """Write every template table of ``store`` as ``DIR/<table>.csv``.

    Files are UTF-8 with a BOM (Excel in China opens them correctly) with the English template
    headers; ``graphcrm ingest DIR`` reads them back unchanged.

    Values stay exact through the round trip: a text cell a spreadsheet would run as a formula
    (``= + - @``, tab, CR first) is written with one leading apostrophe (OWASP), and
    ``graphcrm ingest`` removes exactly that apostrophe again (graphcrm.privacy); nothing is
    ever evaluated. With ``unmasked=False`` phones and ID numbers are masked (a copy for
    people to read, which does not re-ingest: masked numbers fail validation).

    Parameters
    ----------
    store : GraphStore
        Any store (embedded or Neo4j).
    directory : str or Path
        Created if missing; existing template files in it are replaced.
    unmasked : bool
        Write phones and ID numbers in full (for re-ingest; ``graphcrm export --unmasked``).

    Returns
    -------
    dict
        Rows written per table name.

    Notes
    -----
    Merged identities (aliases) are not part of the templates and are not written.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    for table in TABLES:
        frame = neutralise_frame(_for_csv(table, read_table(store, table)))
        if not unmasked:
            frame = mask_frame(frame)
        frame.to_csv(folder / f"{table.name}.csv", index=False, encoding="utf-8-sig")
        written[table.name] = len(frame)
    return written
