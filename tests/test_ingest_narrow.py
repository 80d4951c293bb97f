"""Edge-list relationships files (issue 15, "narrow files") on real files and a real SQLite store.

The expected ties below come from a plain-Python reading of the rules (first row wins, A–B
and B–A of an undirected tie are one tie, a repeat in the same direction is a reject, unknown
ids and self-ties are rejects), written independently of the vectorised code under test.
"""

from __future__ import annotations

import pickle
import random
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from graphcrm.config import Settings
from graphcrm.ingest.job import ingest_paths
from graphcrm.ingest.validate import LABEL_CODES, KnownIds, duplicated_rows, key_codes
from graphcrm.model import CLIENTS, RELATIONSHIPS, Label
from graphcrm.store.base import StoreError
from graphcrm.store.sqlite import ROWS_PER_STATEMENT, SQLiteStore

PEOPLE = [f"C{i:03d}" for i in range(60)]


def _full(table: object, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the template's other columns blank (the store takes whole rows)."""
    return frame.reindex(columns=list(table.column_names)).astype(object)  # type: ignore[attr-defined]


def _people(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clients.csv").write_text(
        "client_id,name\n" + "".join(f"{c},人{c}\n" for c in PEOPLE), encoding="utf-8")
    return folder


def _edge_rows(seed: int, n: int) -> list[tuple[str, str, str]]:
    """Edge-list rows with reversed repeats, same-direction repeats, unknown ids, self-ties,
    blanks and a directed type (REFERRED keeps its direction)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        a, b = rng.choice(PEOPLE), rng.choice(PEOPLE)
        r = rng.random()
        if r < 0.03:
            a = "X" + a[1:]  # unknown id
        elif r < 0.05:
            b = a  # self-tie
        elif r < 0.06:
            b = ""  # blank
        rows.append((a, b, "REFERRED" if rng.random() < 0.2 else "FRIEND_OF"))
    return rows


def _expected(rows: list[tuple[str, str, str]]) -> tuple[set[tuple[str, str, str]], int, int]:
    """(stored ties, rejected rows, merged reversed repeats), rule by rule: a blank or a
    self-tie is a reject; a row repeating an earlier row's tie in the same direction is a
    duplicate (a reject, whatever its ids); then an unknown id is a reject; then a row whose
    undirected tie is already kept in the other direction is merged into it."""
    known = set(PEOPLE)
    directions: set[tuple[tuple[str, str, str], bool]] = set()
    kept: set[tuple[str, str, str]] = set()
    rejected = merged = 0
    for src, dst, typ in rows:
        if not src or not dst or src == dst:
            rejected += 1
            continue
        turned = typ == "FRIEND_OF" and dst < src
        key = (dst, typ, src) if turned else (src, typ, dst)
        if (key, turned) in directions:
            rejected += 1
            continue
        directions.add((key, turned))
        if src not in known or dst not in known:
            rejected += 1
        elif key in kept:
            merged += 1
        else:
            kept.add(key)
    return kept, rejected, merged


def _write_edges(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("src_id,dst_id,type\n" + "".join(f"{a},{b},{t}\n" for a, b, t in rows),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("bulk", [True, False])
@pytest.mark.parametrize("seed", [1, 2])
def test_edge_list_stores_what_the_rules_say(tmp_path: Path, bulk: bool, seed: int) -> None:
    rows = _edge_rows(seed, 3000)
    ties, rejected, merged = _expected(rows)
    assert merged > 50 and rejected > 100  # the file exercises both
    store = SQLiteStore(tmp_path / "crm.db")
    ingest_paths([_people(tmp_path / "people")], store)
    settings = Settings()
    settings.ingest.progress_min_rows = 0 if bulk else 10**9  # bulk_transaction or not
    settings.ingest.batch_rows = 700
    report = ingest_paths([_write_edges(tmp_path / "e" / "relationships.csv", rows)], store,
                          settings=settings)
    f = report.files[0]
    assert (f.rows_read, f.rejected, f.merged) == (len(rows), rejected, merged)
    stored = store.relationships(columns=["src_id", "type", "dst_id"])
    assert len(stored) == len(ties)
    assert set(stored.itertuples(index=False, name=None)) == ties
    counts = store.counts()
    assert counts["FRIEND_OF"] + counts["REFERRED"] == len(ties)  # stats counts ties
    store.close()


def test_bulk_load_gives_back_the_store_settings_and_indexes(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "crm.db")
    ingest_paths([_people(tmp_path / "people")], store)
    settings = Settings()
    settings.ingest.progress_min_rows = 0
    settings.ingest.bulk_sort_cache_kib = 64
    ingest_paths([_write_edges(tmp_path / "e" / "relationships.csv", _edge_rows(3, 500))],
                 store, settings=settings)
    con = store._conn  # the store's own connection: its settings must be as opened
    assert con.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
    assert con.execute("PRAGMA cache_size").fetchone()[0] == -262_144
    assert con.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    names = {r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'relationships'")}
    assert names == {"relationships_key"}
    plan = " ".join(r[3] for r in con.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM relationships WHERE src = 1"))
    assert "relationships_key" in plan
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()


def test_node_labels_reads_an_id_holding_the_separator(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "crm.db")
    ids = ["C1", "C\x1f2", "C3"]
    with store.transaction():
        store.upsert(CLIENTS, _full(CLIENTS, pd.DataFrame({"client_id": ids,
                                                           "name": ["a", "b", "c"]})))
    got_ids, got_labels = store.node_labels()
    assert sorted(got_ids.to_pylist()) == sorted(ids)  # (an Arrow string array)
    assert got_labels == [Label.CLIENT.value] * 3
    store.close()


@pytest.mark.parametrize("bulk", [True, False])
def test_a_column_with_one_value_is_stored_exactly(tmp_path: Path, bulk: bool) -> None:
    n = 2 * ROWS_PER_STATEMENT + 7  # two full statements and a short one
    store = SQLiteStore(tmp_path / "crm.db")
    people = [f"P{i:04d}" for i in range(n + 1)]
    with store.transaction():
        store.upsert(CLIENTS, _full(CLIENTS, pd.DataFrame({"client_id": people, "name": people})))

    def ties(source: str) -> pd.DataFrame:
        return _full(RELATIONSHIPS, pd.DataFrame({"src_id": people[:-1], "dst_id": people[1:],
                                                  "type": "FRIEND_OF", "source": source}))

    tx = store.bulk_transaction("relationships") if bulk else store.transaction()
    with tx:
        assert store.upsert(RELATIONSHIPS, ties("O'Brien's list; DROP TABLE x")) == n
    with store.transaction():  # the upsert path: the constant replaces every stored value
        assert store.upsert(RELATIONSHIPS, ties("it's new")) == n
    with store.transaction():  # and the same again changes nothing
        assert store.upsert(RELATIONSHIPS, ties("it's new")) == 0
    stored = store.relationships()
    assert len(stored) == n
    assert set(stored["source"]) == {"it's new"} and set(stored["type"]) == {"FRIEND_OF"}
    assert sorted(stored["src_id"]) == people[:-1]
    store.close()


def test_key_codes_equal_pandas_when_the_codes_must_be_narrowed() -> None:
    rng = np.random.default_rng(5)
    n = 70_000  # five columns of ~40,000 distinct values each: their product passes 2^62
    cols: list[object] = []
    for k in range(5):
        values = rng.integers(0, 65_000, n).astype(str).astype(object)
        values[rng.random(n) < 0.01] = None
        cols.append(pa.array(values, type=pa.string()) if k % 2 else values)
    frame = pd.DataFrame({k: np.asarray(c.to_pylist() if isinstance(c, pa.Array) else c,
                                        dtype=object) for k, c in enumerate(cols)})
    frame.iloc[n // 2:n // 2 + 500] = frame.iloc[:500].to_numpy()  # real repeats
    cols = [pa.array(frame[k].to_numpy(), type=pa.string(), from_pandas=True) if k % 2
            else frame[k].to_numpy() for k in range(5)]
    expected = frame.duplicated(keep="first").to_numpy()
    assert expected.sum() >= 500
    assert (duplicated_rows(cols) == expected).all()
    codes = key_codes(cols)
    assert len(np.unique(codes)) == len(frame.drop_duplicates())


def test_lookup_codes_with_repeats_blanks_and_unknown_ids(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "crm.db")
    with store.transaction():
        store.upsert(CLIENTS, _full(CLIENTS, pd.DataFrame({"client_id": ["S1", "S2"],
                                                           "name": ["a", "b"]})))
    known = KnownIds(store, ask_store=True, scan_min_ids=2)
    known.add(np.array(["A1", "A2"], dtype=object), Label.AGENT)
    ids = np.array(["A1", None, "S2", "A1", "nobody", "S1", None, "S2"], dtype=object)
    client, agent = LABEL_CODES["Client"], LABEL_CODES["Agent"]
    want = [agent, -1, client, agent, -1, client, -1, client]
    assert known.lookup_codes(ids).tolist() == want
    assert known.lookup_codes(pa.array(ids, type=pa.string())).tolist() == want
    assert known.lookup_codes(np.array([], dtype=object)).tolist() == []
    store.close()


def test_sqlite_file_of_a_bulk_edge_list_passes_integrity_check(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    store = SQLiteStore(db)
    ingest_paths([_people(tmp_path / "people")], store)
    settings = Settings()
    settings.ingest.progress_min_rows = 0
    settings.ingest.bulk_sort_cache_kib = 16  # runs spilled to temporary files and merged
    ingest_paths([_write_edges(tmp_path / "e" / "relationships.csv", _edge_rows(4, 4000))],
                 store, settings=settings)
    store.close()
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # the key index is what a "ties of x" query reads, in key order
        rows = con.execute("SELECT src, type, dst FROM relationships "
                           "INDEXED BY relationships_key ORDER BY src, type, dst"
                           ).fetchall()
        assert rows == sorted(rows) and len(rows) == len(set(rows))
    finally:
        con.close()


@pytest.mark.parametrize("seed", [5, 6])
def test_key_notes_hash_the_plain_key_values(tmp_path: Path, seed: int,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The re-run notes hash each row's key: the edge list's ends travel as categoricals of
    the file's ids and share the row hashes' encodings, and must hash exactly as the plain
    values do (a note written by an older GraphCRM is compared with them)."""
    import graphcrm.ingest.validate as validate_module
    from graphcrm.ingest.job import _row_hashes
    from graphcrm.ingest.readers import read_file
    from graphcrm.ingest.validate import validate

    rows = _edge_rows(seed, 2000)
    rows += [("", "", "FRIEND_OF"), ("C001", "", "FRIEND_OF")]  # blank ends, both and one
    rows += [("C002", "C003", ""), ("C004", "C005", "REFERRED")]  # a blank type, and after it
    path = _write_edges(tmp_path / "relationships.csv", rows)
    settings = Settings()
    raw = read_file(path, RELATIONSHIPS, settings.ingest)
    known = KnownIds(None, ask_store=False)
    known.add(np.array(PEOPLE, dtype=object), Label.CLIENT)
    encoded: dict[str, pa.DictionaryArray] = {}
    hashes = _row_hashes(raw, RELATIONSHIPS, encoded)
    assert np.array_equal(hashes, _row_hashes(raw, RELATIONSHIPS))
    assert {"src_id", "dst_id"} <= set(encoded)
    shared, alone = (validate(raw.columns, raw.rows, RELATIONSHIPS, file="f", known=known,
                              settings=settings.ingest, aliases={}, encoded=e)
                     for e in (encoded, None))
    # the keys hashed as a frame of plain values (a pandas without the column combiner)
    monkeypatch.setattr(validate_module, "_combine_hashes", None)
    as_frame = validate(raw.columns, raw.rows, RELATIONSHIPS, file="f", known=known,
                        settings=settings.ingest, aliases={}, encoded=encoded)
    pd.testing.assert_frame_equal(shared.frame, alone.frame)
    pd.testing.assert_frame_equal(shared.rejects, alone.rejects)
    # the keys, rule by rule: rows with both ends and no self-tie, an undirected tie turned
    want_pos, want = [], []
    for i, (src, dst, typ) in enumerate(rows):
        if src and dst and src != dst and typ:
            turned = typ == "FRIEND_OF" and dst < src
            want_pos.append(i)
            want.append({"src_id": dst if turned else src, "dst_id": src if turned else dst,
                         "type": typ})
    plain = pd.DataFrame(want, columns=list(RELATIONSHIPS.key), dtype=object)
    expected = pd.util.hash_pandas_object(plain, index=False).to_numpy(dtype=np.uint64)
    for checked in (shared, alone, as_frame):
        assert checked.keys is not None
        assert checked.keys.pos.tolist() == want_pos
        assert checked.keys.hashes.dtype == np.uint64
        assert np.array_equal(checked.keys.hashes, expected)
        # a row's key found by its position; rows without a key (rejected) not found
        probe = np.array([want_pos[0], want_pos[-1], len(rows), *sorted(
            set(range(len(rows))) - set(want_pos))[:3]], dtype=np.int64)
        found, hashes = checked.keys.at(probe)
        assert found.tolist() == [True, True] + [False] * (len(probe) - 2)
        assert hashes.tolist() == [expected[0], expected[-1]]


@pytest.mark.parametrize("bulk", [True, False])
def test_mixed_columns_are_stored_row_by_row(tmp_path: Path, bulk: bool) -> None:
    """The INSERT values are laid out row after row from each column: text with blanks
    (None and NaN), floats with NaN, booleans, over two full statements and a short one."""
    n = 2 * ROWS_PER_STATEMENT + 7
    rng = random.Random(3)
    people = [f"P{i:04d}" for i in range(n + 1)]
    store = SQLiteStore(tmp_path / "crm.db")
    with store.transaction():
        store.upsert(CLIENTS, _full(CLIENTS, pd.DataFrame({"client_id": people, "name": people})))
    source = [rng.choice(["a", "b'", None, float("nan")]) for _ in range(n)]
    confidence = [rng.choice([0.5, 1.0, float("nan")]) for _ in range(n)]
    converted = [rng.choice([True, False]) for _ in range(n)]
    frame = _full(RELATIONSHIPS, pd.DataFrame({
        "src_id": people[:-1], "dst_id": people[1:], "type": "REFERRED", "source": source}))
    frame["confidence"] = pd.Series(confidence, dtype=float)
    frame["converted"] = pd.Series(converted, dtype=bool)
    tx = store.bulk_transaction("relationships") if bulk else store.transaction()
    with tx:
        assert store.upsert(RELATIONSHIPS, frame) == n
    con = sqlite3.connect(tmp_path / "crm.db")
    try:
        got = con.execute("SELECT s.id, d.id, type, source, confidence, converted "
                          "FROM relationships r JOIN nodes s ON s.num = r.src "
                          "JOIN nodes d ON d.num = r.dst ORDER BY r.rowid").fetchall()
    finally:
        con.close()
    want = [(people[i], people[i + 1], "REFERRED",
             source[i] if isinstance(source[i], str) else None,
             None if confidence[i] != confidence[i] else confidence[i], int(converted[i]))
            for i in range(n)]
    assert got == want
    store.close()


@pytest.mark.parametrize("blank", [None, float("nan")])
def test_a_missing_key_value_is_still_refused(tmp_path: Path, blank: object) -> None:
    """Key columns are bound without a scan for missing values: a missing relationship end
    (looked up as a node number) is refused, and nothing of the batch is written."""
    store = SQLiteStore(tmp_path / "crm.db")
    with store.transaction():
        store.upsert(CLIENTS, _full(CLIENTS, pd.DataFrame({"client_id": ["A", "B"],
                                                           "name": ["a", "b"]})))
    frame = _full(RELATIONSHIPS, pd.DataFrame({"src_id": ["A", blank], "dst_id": ["B", "A"],
                                               "type": "REFERRED"}))
    with pytest.raises(StoreError, match="src_id: a missing id"), store.transaction():
        store.upsert(RELATIONSHIPS, frame)
    assert store.table_rows(RELATIONSHIPS) == 0
    store.close()


def test_categorical_ends_cross_the_pipeline_once_and_come_back_equal() -> None:
    """The checking process sends an edge list's categories once, then codes: each batch
    is small, equal to the frame's rows, and every batch shares one categories object (the
    store maps the ids to node numbers once per file)."""
    from graphcrm.ingest.job import _from_wire, _to_wire

    rng = np.random.default_rng(5)
    ids = np.array([f"C{i:06d}" for i in range(5_000)], dtype=object)
    src, dst = rng.integers(0, len(ids), 3_000), rng.integers(0, len(ids), 3_000)
    frame = _full(RELATIONSHIPS, pd.DataFrame({"type": ["FRIEND_OF"] * 3_000}))
    shared = pd.CategoricalDtype(ids)  # as validation makes them: one dtype for both ends
    frame["src_id"] = pd.Categorical.from_codes(src, dtype=shared)
    frame["dst_id"] = pd.Categorical.from_codes(dst, dtype=shared)
    frame["__row"] = np.arange(2, 3_002)
    messages = [pickle.loads(pickle.dumps(m)) for m in _to_wire(frame, 1_000)]  # as sent
    assert [k for k, _ in messages] == ["categories", "arrow", "arrow", "arrow"]
    categories = messages[0][1]
    assert set(categories) == {"src_id", "dst_id"}
    batches = [_from_wire(k, v, categories) for k, v in messages[1:]]
    # a batch of 1,000 codes, not 5,000 ids again
    assert all(len(v.to_pybytes()) < 40_000 for _, v in messages[1:])
    back = pd.concat(batches, ignore_index=True)
    for c in ("src_id", "dst_id"):
        assert back[c].astype(object).tolist() == frame[c].astype(object).tolist()
    # one categories object for both ends in every batch: the store maps the ids once
    assert len({id(b[c].cat.categories) for b in batches for c in ("src_id", "dst_id")}) == 1
    assert back["__row"].tolist() == frame["__row"].tolist()
    assert list(_to_wire(frame.iloc[:0], 1_000)) == []  # nothing for an empty file


def test_the_store_maps_each_categories_object_once(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of an edge list whose two ends have different categories objects (as a file
    sent by an older checking process would): each object's ids are looked up once, not once
    per batch."""
    from graphcrm.store import sqlite as sqlite_store

    calls: list[int] = []
    lookup = sqlite_store._NodeNumbers._lookup

    def counting(self: object, values: np.ndarray) -> np.ndarray:
        calls.append(len(values))
        return lookup(self, values)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite_store._NodeNumbers, "_lookup", counting)
    store = SQLiteStore(tmp_path / "crm.db")
    ingest_paths([_people(tmp_path / "people")], store)
    src_dtype, dst_dtype = pd.CategoricalDtype(PEOPLE), pd.CategoricalDtype(PEOPLE)
    with store.bulk_transaction(RELATIONSHIPS.name):
        for k in range(5):
            ties = _full(RELATIONSHIPS, pd.DataFrame({"type": ["FRIEND_OF"] * 2}))
            ties["src_id"] = pd.Categorical.from_codes([k, k + 10], dtype=src_dtype)
            ties["dst_id"] = pd.Categorical.from_codes([k + 20, k + 30], dtype=dst_dtype)
            store.upsert(RELATIONSHIPS, ties)
    assert calls == [len(PEOPLE), len(PEOPLE)]
    got = store.relationships()
    assert len(got) == 10 and set(got["src_id"]) == {PEOPLE[k] for k in range(15) if k % 10 < 5}
    store.close()


def test_ties_of_a_merged_client_still_reach_the_store_as_one_categorical(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tie naming a merged client's second id is written to the kept client; the file's
    ends (no longer only the file's ids) still reach the store as categoricals of one
    categories object, so the ids are looked up once (at 10^6 a few merged clients had
    turned every batch into a look-up of every row)."""
    from graphcrm.store import sqlite as sqlite_store

    from .test_identity import idn

    calls: list[int] = []
    lookup = sqlite_store._NodeNumbers._lookup

    def counting(self: object, values: np.ndarray) -> np.ndarray:
        calls.append(len(values))
        return lookup(self, values)  # type: ignore[arg-type]

    twin = idn("11010519900307123")
    people = tmp_path / "people"
    people.mkdir()
    (people / "clients.csv").write_text(
        "client_id,name,gender,birth_date,phone,id_number\n"
        + "".join(f"{c},人{c},,,,\n" for c in PEOPLE)
        + f"K1,王芳,F,1990-03-07,13800000001,{twin}\nK2,王 芳,F,1990-03-07,13600000009,{twin}\n",
        encoding="utf-8")
    store = SQLiteStore(tmp_path / "crm.db")
    ingest_paths([people], store)
    assert store.aliases() == {"K2": "K1"}
    monkeypatch.setattr(sqlite_store._NodeNumbers, "_lookup", counting)
    settings = Settings()
    settings.ingest.batch_rows = 20  # several batches
    rows = [(PEOPLE[i], PEOPLE[i + 1], "FRIEND_OF") for i in range(50)] + [
        ("K2", PEOPLE[3], "FRIEND_OF"), (PEOPLE[7], "K2", "REFERRED")]
    ingest_paths([_write_edges(tmp_path / "e" / "relationships.csv", rows)], store,
                 settings=settings)
    assert len(calls) == 1  # one categories object for both ends and every batch
    got = set(store.relationships()[["src_id", "dst_id", "type"]].itertuples(index=False,
                                                                              name=None))
    assert ("C003", "K1", "FRIEND_OF") in got and ("C007", "K1", "REFERRED") in got
    assert not any("K2" in t for t in got)
    store.close()


@pytest.mark.parametrize("bulk", [True, False])
def test_a_row_note_made_while_the_store_writes_serves_the_next_rerun(tmp_path: Path,
                                                                      bulk: bool) -> None:
    """An edge list loaded on its own into a store holding its people gets its row note after
    validation (in a bulk load, on a worker thread while SQLite builds the key index), its
    row hashes from validation's joint encoding of the two ends. They must be the hashes of
    the rows as read, each column encoded alone (what a re-run computes), or the re-run of
    an edited copy would check every row; and it must end as checking every row does."""
    from graphcrm.ingest.job import _row_hashes
    from graphcrm.ingest.readers import read_file

    settings = Settings()
    settings.ingest.progress_min_rows = 0 if bulk else 10**9  # bulk_transaction or not
    messy = _write_edges(tmp_path / "m" / "relationships.csv", _edge_rows(4, 3000))
    store = SQLiteStore(tmp_path / "messy.db")
    ingest_paths([_people(tmp_path / "people")], store)
    ingest_paths([messy], store, settings=settings)
    with sqlite3.connect(store.path) as conn:
        blob = conn.execute("SELECT row_hashes FROM ingested_rows "
                            "WHERE table_name = 'relationships'").fetchone()[0]
    store.close()
    noted = np.frombuffer(blob, dtype="<u8")
    as_read = _row_hashes(read_file(messy, RELATIONSHIPS, settings.ingest), RELATIONSHIPS)
    assert len(noted) > 1000 and np.isin(noted, as_read).all()

    # every pair of people once (no repeat whose first row an edit would change)
    rows = [(a, b, "FRIEND_OF") for i, a in enumerate(PEOPLE) for b in PEOPLE[i + 1:]]
    edges = _write_edges(tmp_path / "e" / "relationships.csv", rows)
    fast, full = SQLiteStore(tmp_path / "fast.db"), SQLiteStore(tmp_path / "full.db")
    for store in (fast, full):
        ingest_paths([_people(tmp_path / "people")], store)
        ingest_paths([edges], store, settings=settings)
    edited = list(rows)
    for i in range(5, len(rows), 170):  # ten ties turn into referrals
        edited[i] = (rows[i][0], rows[i][1], "REFERRED")
    _write_edges(edges, edited)
    fast_report = ingest_paths([edges], fast, settings=settings)
    everything = Settings()
    everything.ingest.progress_min_rows = settings.ingest.progress_min_rows
    everything.ingest.rerun_changed_rows_only = False
    full_report = ingest_paths([edges], full, settings=everything)
    checked = fast_report.files[0].rows_checked
    assert checked == 11  # the edited rows alone
    assert [(f.accepted, f.rejected, f.merged, f.changed) for f in fast_report.files] == [
        (f.accepted, f.rejected, f.merged, f.changed) for f in full_report.files]
    pd.testing.assert_frame_equal(
        fast.relationships().sort_values(["src_id", "type", "dst_id"]).reset_index(drop=True),
        full.relationships().sort_values(["src_id", "type", "dst_id"]).reset_index(drop=True))
    fast.close()
    full.close()


def test_work_handed_to_a_bulk_load_runs_beside_the_index_build_and_commits_with_the_rows(
        tmp_path: Path) -> None:
    """:class:`BulkLoad`: ``compute`` runs on another thread, ``apply`` on the writer's once
    the key index is back, inside the transaction; a failing ``compute`` rolls back every
    row of the load."""
    import threading

    store = SQLiteStore(tmp_path / "crm.db")
    ingest_paths([_people(tmp_path / "people")], store)
    ties = _full(RELATIONSHIPS, pd.DataFrame({"src_id": PEOPLE[:20], "dst_id": PEOPLE[20:40],
                                              "type": "FRIEND_OF"}))
    seen: dict[str, object] = {}

    def compute() -> np.ndarray:
        seen["compute"] = threading.get_ident()
        return np.arange(3, dtype=np.uint64)

    def apply(hashes: np.ndarray) -> None:
        seen["apply"] = threading.get_ident()
        seen["index"] = store._conn.execute(
            "SELECT name FROM sqlite_master WHERE name = 'relationships_key'").fetchone()
        store.record_ingested_rows(RELATIONSHIPS, "f.csv", "r", hashes, hashes)

    with store.bulk_transaction(RELATIONSHIPS.name) as load:
        store.upsert(RELATIONSHIPS, ties)
        load.before_commit(compute, apply)
    assert seen["compute"] != threading.get_ident() == seen["apply"]
    assert seen["index"] == ("relationships_key",)  # rebuilt before ``apply``
    noted = store.ingested_rows(RELATIONSHIPS, "f.csv", "r")
    assert noted is not None and noted[0].tolist() == [0, 1, 2]

    def fail() -> None:
        raise RuntimeError("hashing failed")

    more = ties.assign(type="COLLEAGUE_OF")
    with (pytest.raises(RuntimeError, match="hashing failed"),
          store.bulk_transaction(RELATIONSHIPS.name) as load):
        store.upsert(RELATIONSHIPS, more)
        load.before_commit(fail, apply)
    assert len(store.relationships()) == len(ties)  # the second load left nothing
    store.close()
