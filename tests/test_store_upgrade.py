"""Stores of schema version 1 (relationship ends as id texts) opened by this code: the next
writable open upgrades them to version 2 (ends as node numbers) without changing the data.

The version-1 file is a real store written by the GraphCRM of that schema
(tests/data/store-v1/README.md); what it held is read with plain ``sqlite3`` before the
upgrade, so the expectations do not come from the code under test.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from graphcrm.ingest.job import ingest_paths
from graphcrm.model import NODE_TABLES, RELATIONSHIPS
from graphcrm.store.base import StoreError
from graphcrm.store.sqlite import SCHEMA_VERSION, SQLiteStore
from graphcrm.synth import generate

V1 = Path(__file__).parent / "data" / "store-v1" / "crm.db"


def _copy(tmp_path: Path) -> Path:
    db = tmp_path / "crm.db"
    shutil.copyfile(V1, db)
    return db


def _plain(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)  # never creates one
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_the_fixture_is_a_version_1_store() -> None:
    assert V1.stat().st_size > 100_000
    assert _plain(V1, "SELECT value FROM meta WHERE key = 'schema_version'") == [("1",)]
    cols = {r[1] for r in _plain(V1, "PRAGMA table_info(relationships)")}
    assert {"src_id", "dst_id"} <= cols


def test_upgrade_keeps_every_row_in_stored_order(tmp_path: Path) -> None:
    db = _copy(tmp_path)
    cols = ", ".join(RELATIONSHIPS.column_names)
    ties = _plain(db, f"SELECT {cols} FROM relationships ORDER BY rowid")
    nodes = set(_plain(db, "SELECT id, label FROM nodes"))
    version = _plain(db, "SELECT value FROM meta WHERE key = 'data_version'")
    people = {t.name: _plain(db, f"SELECT * FROM {t.name} ORDER BY rowid")
              for t in NODE_TABLES.values()}
    assert len(ties) > 300 and len(nodes) > 100

    store = SQLiteStore(db)
    try:
        assert store.meta("schema_version") == str(SCHEMA_VERSION) == "2"
        got = store.relationships()
        assert list(got.columns) == list(RELATIONSHIPS.column_names)
        assert [tuple(None if pd.isna(v) else v for v in row)
                for row in got.itertuples(index=False, name=None)] == ties
        referred = store.relationships(types=["REFERRED"])[["src_id", "dst_id"]]
        at = {c: i for i, c in enumerate(RELATIONSHIPS.column_names)}
        assert list(referred.itertuples(index=False, name=None)) == [
            (t[at["src_id"]], t[at["dst_id"]]) for t in ties if t[at["type"]] == "REFERRED"]
    finally:
        store.close()
    assert set(_plain(db, "SELECT id, label FROM nodes")) == nodes
    assert _plain(db, "SELECT value FROM meta WHERE key = 'data_version'") == version
    for name, rows in people.items():
        assert _plain(db, f"SELECT * FROM {name} ORDER BY rowid") == rows
    stored = {r[1] for r in _plain(db, "PRAGMA table_info(relationships)")}
    assert {"src", "dst"} <= stored and not {"src_id", "dst_id"} & stored
    indexes = {r[0] for r in _plain(db, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "relationships_key" in indexes and "rel_dst" not in indexes
    assert _plain(db, "PRAGMA integrity_check") == [("ok",)]
    assert _plain(db, "PRAGMA foreign_key_check") == []


def test_an_upgraded_store_takes_the_same_files_as_a_no_op(tmp_path: Path) -> None:
    db = _copy(tmp_path)
    generate(tmp_path / "data", 120, 3)  # the files the fixture was loaded from
    store = SQLiteStore(db)
    try:
        before = store.data_version()
        report = ingest_paths([tmp_path / "data"], store)
        assert sum(f.changed for f in report.files) == 0
        assert store.data_version() == before
    finally:
        store.close()


def test_forgetting_a_client_after_the_upgrade_keeps_referrals_under_the_pseudonym(
        tmp_path: Path) -> None:
    db = _copy(tmp_path)
    referrers = _plain(db, "SELECT src_id, COUNT(*) FROM relationships WHERE type = 'REFERRED' "
                           "GROUP BY src_id ORDER BY 2 DESC, 1")
    cid = referrers[0][0]
    n_referred = _plain(db, f"SELECT COUNT(*) FROM relationships WHERE type = 'REFERRED' "
                            f"AND '{cid}' IN (src_id, dst_id)")[0][0]
    ties = _plain(db, f"SELECT COUNT(*) FROM relationships WHERE '{cid}' IN (src_id, dst_id)"
                  )[0][0]
    store = SQLiteStore(db)
    try:
        done = store.forget_client(str(cid), "ERASED-1")
        assert done["relationships.referred_pseudonymised"] == n_referred
        assert done["relationships"] == ties - n_referred
        rel = store.relationships()
        assert not ((rel["src_id"] == cid) | (rel["dst_id"] == cid)).any()
        mine = (rel["src_id"] == "ERASED-1") | (rel["dst_id"] == "ERASED-1")
        assert (mine & (rel["type"] == "REFERRED")).sum() == mine.sum() == n_referred
    finally:
        store.close()
    assert _plain(db, f"SELECT COUNT(*) FROM nodes WHERE id = '{cid}'") == [(0,)]
    assert _plain(db, "PRAGMA foreign_key_check") == []


def test_an_upgrade_that_cannot_finish_changes_nothing(tmp_path: Path) -> None:
    db = _copy(tmp_path)
    con = sqlite3.connect(db)
    con.execute("INSERT INTO relationships (src_id, dst_id, type) "
                "SELECT 'NOBODY', client_id, 'FRIEND_OF' FROM clients LIMIT 1")
    con.commit()
    con.close()
    rows = _plain(db, "SELECT * FROM relationships ORDER BY rowid")
    with pytest.raises(StoreError, match="unknown node"):
        SQLiteStore(db)
    assert _plain(db, "SELECT value FROM meta WHERE key = 'schema_version'") == [("1",)]
    assert _plain(db, "SELECT * FROM relationships ORDER BY rowid") == rows
    assert "rel_dst" in {r[0] for r in _plain(db, "SELECT name FROM sqlite_master")}


def test_a_version_1_store_that_cannot_be_written_says_how_to_upgrade(tmp_path: Path) -> None:
    """The read-only open (a read-only disk: the writable open failed) of a version-1 store.
    Tests run as root here, so the disk cannot be made read-only: the read-only open is
    called directly, as the writable one does when SQLite refuses to write."""
    db = _copy(tmp_path)
    store = SQLiteStore.__new__(SQLiteStore)
    store.path = db
    with pytest.raises(StoreError, match=r"older GraphCRM \(schema 1\).*graphcrm stats"):
        store._open_read_only()
    assert _plain(db, "SELECT value FROM meta WHERE key = 'schema_version'") == [("1",)]


def test_a_few_ties_into_a_large_store_look_their_ends_up_one_by_one(tmp_path: Path) -> None:
    """A re-run's few changed ties: their ends are looked up in SQLite, not by reading every
    node; both ways give the same numbers, and an unknown end is refused either way."""
    from graphcrm.model import CLIENTS

    store = SQLiteStore(tmp_path / "crm.db")
    people = [f"P{i:04d}" for i in range(400)]
    try:
        with store.transaction():
            store.upsert(CLIENTS, pd.DataFrame({c: (people if c == "client_id" else None)
                                                for c in CLIENTS.column_names}))
        ties = pd.DataFrame({c: None for c in RELATIONSHIPS.column_names}, index=range(3))
        ties["src_id"], ties["dst_id"] = ["P0001", "P0002", "P0399"], ["P0390", "P0003", "P0000"]
        ties["type"] = "FRIEND_OF"
        store._nodes = None  # as after another process's commit
        with store.transaction():
            store.upsert(RELATIONSHIPS, ties)
        assert store._nodes is None  # looked up, not read whole
        got = store.relationships()[["src_id", "dst_id"]]
        assert list(got.itertuples(index=False, name=None)) == list(
            zip(ties["src_id"], ties["dst_id"], strict=True))
        assert _plain(tmp_path / "crm.db", "SELECT r.src = s.num FROM relationships r "
                      "JOIN nodes s ON s.id = 'P0001' LIMIT 1") == [(1,)]
        ties.loc[1, "dst_id"] = "NOBODY"
        with pytest.raises(StoreError, match="'NOBODY' is not a stored"), store.transaction():
            store.upsert(RELATIONSHIPS, ties)
        assert store.table_rows(RELATIONSHIPS) == 3
    finally:
        store.close()
