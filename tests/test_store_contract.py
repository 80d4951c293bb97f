"""The store contract: the same tests for every back end.

SQLite always runs (a real file). Neo4j runs when ``GRAPHCRM_NEO4J_URI`` is set (credentials
from ``GRAPHCRM_NEO4J_USER`` / ``GRAPHCRM_NEO4J_PASSWORD``), against a live server; each test
starts by deleting GraphCRM's nodes from that database, and refuses to run if it holds any
other node. README: "Contract tests against Neo4j" (``docker run neo4j:5``).

Expected values are written by hand or computed from the sample CSV files with plain pandas,
never read back from a store.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphcrm.config import ENV_NEO4J_URI, Settings, load_settings
from graphcrm.ingest.job import ingest_paths
from graphcrm.model import (
    AGENTS,
    CLIENTS,
    INTERACTIONS,
    ORGANIZATIONS,
    POLICIES,
    RELATIONSHIPS,
    TABLES,
    Label,
    RelType,
)
from graphcrm.store.base import GraphStore, StoreError
from graphcrm.store.export import export_tables, read_table
from graphcrm.store.sqlite import SQLiteStore

from .conftest import SAMPLE_DIR

Factory = Callable[[Path], GraphStore]


def _sqlite(tmp: Path) -> GraphStore:
    return SQLiteStore(tmp / "contract.db")


def _neo4j(tmp: Path) -> GraphStore:
    from graphcrm.store.neo4j import Neo4jStore

    store = Neo4jStore(os.environ[ENV_NEO4J_URI], settings=load_settings().neo4j)
    foreign = store.foreign_nodes()
    if foreign:
        store.close()
        pytest.fail(f"the Neo4j database holds {foreign:,} nodes that are not GraphCRM's: the "
                    "contract tests empty the database, so point GRAPHCRM_NEO4J_URI at a "
                    "throwaway server (docker run neo4j:5)")
    store.clear()
    return store


@pytest.fixture(params=["sqlite", "neo4j"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """A factory of empty stores of one back end (closed after the test)."""
    if request.param == "neo4j" and not os.environ.get(ENV_NEO4J_URI):
        pytest.skip(f"Neo4j contract tests need a live server: set {ENV_NEO4J_URI}")
    opened: list[GraphStore] = []

    def factory(sub: str = "a") -> GraphStore:
        folder = tmp_path / sub
        folder.mkdir(exist_ok=True)
        store = (_sqlite if request.param == "sqlite" else _neo4j)(folder)
        opened.append(store)
        return store

    yield factory  # type: ignore[misc]
    for s in opened:
        s.close()


@pytest.fixture
def store(make_store: Callable[..., GraphStore]) -> GraphStore:
    return make_store()


def _frame(table: object, rows: list[dict[str, object]]) -> pd.DataFrame:
    cols = list(table.column_names)  # type: ignore[attr-defined]
    return pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols)


AGENT_ROWS = [
    {"agent_id": "A1", "name": "王芳", "team": "T1", "region": "华东", "hire_date": "2019-03-01",
     "status": "active", "phone": "13900000001"},
    {"agent_id": "A2", "name": "Li Lei", "team": "T1", "region": "华东",
     "hire_date": "2021-07-15", "status": "active", "supervisor_id": "A1"},
]
ORG_ROWS = [{"org_id": "O1", "name": "华为", "industry": "tech", "city": "深圳"}]
CLIENT_ROWS = [
    {"client_id": "C1", "name": "张伟", "gender": "M", "phone": "13812345678", "city": "上海",
     "age": 41, "status": "client"},
    {"client_id": "C2", "name": "张丽", "gender": "F", "phone": "13812345679", "city": "上海"},
    {"client_id": "C3", "name": "Zhou Min", "gender": "F", "city": "杭州"},
    {"client_id": "C4", "name": "赵强", "phone": "15000000004", "city": "北京"},
]
POLICY_ROWS = [
    {"policy_id": "P1", "holder_id": "C1", "category": "life", "annual_premium": 12000.5,
     "start_date": "2022-01-01", "status": "in_force", "servicing_agent_id": "A1"},
    {"policy_id": "P2", "holder_id": "C2", "category": "medical", "annual_premium": 800.0,
     "start_date": "2020-05-01", "status": "lapsed"},
]
REL_ROWS = [
    {"src_id": "A1", "dst_id": "C1", "type": "SERVES", "start_date": "2022-01-01"},
    {"src_id": "A2", "dst_id": "C4", "type": "SERVES"},
    {"src_id": "C1", "dst_id": "C2", "type": "RELATIVE_OF", "kind": "spouse", "confidence": 1.0},
    {"src_id": "C1", "dst_id": "C3", "type": "REFERRED", "converted": 0,
     "start_date": "2023-02-02"},
    {"src_id": "C3", "dst_id": "O1", "type": "WORKS_AT"},
    {"src_id": "O1", "dst_id": "C4", "type": "BUSINESS_TIE", "kind": "customer"},
]
INTERACTION_ROWS = [
    {"interaction_id": "I1", "agent_id": "A1", "client_id": "C1", "type": "visit",
     "date": "2026-10-01", "rating": 8},
    {"interaction_id": "I2", "agent_id": "A1", "client_id": "C2", "type": "call",
     "date": "2026-10-02"},
]
TABLE_ROWS = [(AGENTS, AGENT_ROWS), (ORGANIZATIONS, ORG_ROWS), (CLIENTS, CLIENT_ROWS),
              (POLICIES, POLICY_ROWS), (RELATIONSHIPS, REL_ROWS),
              (INTERACTIONS, INTERACTION_ROWS)]


def _load(store: GraphStore) -> list[int]:
    changed = []
    with store.transaction():
        for table, rows in TABLE_ROWS:
            changed.append(store.upsert(table, _frame(table, rows)))
    return changed


def _norm(frame: pd.DataFrame, key: list[str]) -> list[dict[str, object]]:
    """Rows as plain dicts (missing = None, whole floats as int) sorted by key, for comparing."""
    out = []
    for rec in frame.to_dict("records"):
        row = {}
        for k, v in rec.items():
            if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
                v = None
            elif isinstance(v, (np.integer, np.floating)):
                v = v.item()
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            row[k] = v
        out.append(row)
    return sorted(out, key=lambda r: tuple(str(r[k]) for k in key))


def _expected(table: object, rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return _norm(_frame(table, rows), list(table.key))  # type: ignore[attr-defined]


# -- writing ------------------------------------------------------------------------------------
def test_upsert_counts_changes_and_a_rerun_changes_nothing(store: GraphStore) -> None:
    assert store.data_version() == 0
    assert _load(store) == [2, 1, 4, 2, 6, 2]
    assert store.data_version() == 1
    assert _load(store) == [0, 0, 0, 0, 0, 0]
    assert store.data_version() == 1  # nothing changed: the version stays
    moved = [dict(CLIENT_ROWS[1], city="南京"), CLIENT_ROWS[2]]
    with store.transaction():
        assert store.upsert(CLIENTS, _frame(CLIENTS, moved)) == 1
        assert store.upsert(RELATIONSHIPS, _frame(RELATIONSHIPS, [
            dict(REL_ROWS[2], confidence=0.8), REL_ROWS[3]])) == 1
    assert store.data_version() == 2
    c2 = store.get_nodes(Label.CLIENT, ["C2"])
    assert c2["city"].tolist() == ["南京"]
    # a value removed from the row is removed from the store (the row replaces the record)
    with store.transaction():
        assert store.upsert(CLIENTS, _frame(CLIENTS, [dict(CLIENT_ROWS[1], phone=None)])) == 1
    assert store.get_nodes(Label.CLIENT, ["C2"])["phone"].isna().all()


def test_writes_need_a_transaction(store: GraphStore) -> None:
    with pytest.raises(StoreError, match=r"inside store\.transaction"):
        store.upsert(AGENTS, _frame(AGENTS, AGENT_ROWS))


# -- reading ------------------------------------------------------------------------------------
def test_nodes_read_back_as_written(store: GraphStore) -> None:
    _load(store)
    for table, rows in TABLE_ROWS:
        if table.label is None:
            continue
        got = store.nodes(table.label)
        assert list(got.columns) == list(table.column_names)
        assert _norm(got, list(table.key)) == _expected(table, rows), table.name
    names = store.nodes(Label.CLIENT, columns=["client_id", "name"])
    assert list(names.columns) == ["client_id", "name"]
    assert sorted(names["name"]) == sorted(r["name"] for r in CLIENT_ROWS)
    with pytest.raises(StoreError, match="unknown columns"):
        store.nodes(Label.CLIENT, columns=["client_id", "nickname"])
    got = store.get_nodes(Label.CLIENT, ["C3", "C1", "C99"])
    assert sorted(got["client_id"]) == ["C1", "C3"]
    assert store.get_nodes(Label.AGENT, []).empty


def test_relationships_and_interactions(store: GraphStore) -> None:
    _load(store)
    rels = store.relationships()
    assert _norm(rels, ["type", "src_id", "dst_id"]) == _norm(
        _frame(RELATIONSHIPS, REL_ROWS), ["type", "src_id", "dst_id"])
    serves = store.relationships(types=["SERVES"], columns=["src_id", "dst_id"])
    assert list(serves.columns) == ["src_id", "dst_id"]
    assert sorted(zip(serves["src_id"], serves["dst_id"], strict=True)) == [("A1", "C1"),
                                                                          ("A2", "C4")]
    of_c1 = store.relationships_of(["C1"])
    assert sorted(zip(of_c1["type"], of_c1["src_id"], of_c1["dst_id"], strict=True)) == [
        ("REFERRED", "C1", "C3"), ("RELATIVE_OF", "C1", "C2"), ("SERVES", "A1", "C1")]
    of_two = store.relationships_of(["C1", "C2", "O1"])  # the C1-C2 tie once
    assert len(of_two) == 5
    assert _norm(store.interactions(), ["interaction_id"]) == _expected(INTERACTIONS,
                                                                        INTERACTION_ROWS)
    only_c2 = store.interactions(client_ids=["C2"], columns=["interaction_id", "type"])
    assert only_c2.to_dict("records") == [{"interaction_id": "I2", "type": "call"}]


def test_labels_of(store: GraphStore) -> None:
    _load(store)
    assert store.labels_of(["A1", "C2", "O1", "P1", "nobody"]) == {
        "A1": Label.AGENT, "C2": Label.CLIENT, "O1": Label.ORGANIZATION}
    assert store.labels_of([]) == {}


def test_aliases(store: GraphStore) -> None:
    _load(store)
    before = store.data_version()
    aliases = pd.DataFrame({"alias_id": ["C1-old", "C2-dup"], "client_id": ["C1", "C2"],
                            "source_file": "clients.csv", "source_row": [7, 9],
                            "reason": "same phone"})
    with store.transaction():
        assert store.add_aliases(aliases) == 2
    with store.transaction():
        assert store.add_aliases(aliases) == 0
    assert store.aliases() == {"C1-old": "C1", "C2-dup": "C2"}
    assert store.counts()["merged_ids"] == 2
    assert store.data_version() == before + 1
    with store.transaction():
        assert store.remove_alias("C1-old") is True
        assert store.remove_alias("nobody") is False
    assert store.aliases() == {"C2-dup": "C2"}
    assert store.data_version() == before + 2


def test_journal_is_append_only_and_ordered(store: GraphStore) -> None:
    before = store.data_version()
    with pytest.raises(StoreError):
        store.append_journal("merge_undo", [{"alias_id": "X"}])
    with store.transaction():
        assert store.append_journal("reward_settled", [{"earner": "C1", "points": 12.5},
                                                       {"earner": "王芳", "points": 0}]) == 2
    with store.transaction():
        assert store.append_journal("merge_undo", [{"alias_id": "X", "note": None}]) == 1
        assert store.append_journal("reward_settled", [{"earner": "C3", "points": 1}]) == 1
    got = store.journal("reward_settled")
    assert [(r["earner"], r["points"]) for r in got] == [("C1", 12.5), ("王芳", 0), ("C3", 1)]
    seqs = [r["seq"] for r in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert all(isinstance(r["recorded_at"], str) for r in got)
    assert [r["alias_id"] for r in store.journal("merge_undo")] == ["X"]
    assert store.journal("nothing") == []
    assert store.data_version() == before + 2


# -- erasure ------------------------------------------------------------------------------------
ERASED = "ERASED-CONTRACT"
#: what must be gone after C1 is erased (name, phone, its merged id, its visit's text)
C1_TEXT = ["张伟", "13812345678", "C1-old", "met at home"]


def _everything(store: GraphStore) -> str:
    """Every row the store hands out through the interface, as one text."""
    parts = [store.nodes(lbl).to_json(orient="records", force_ascii=False) for lbl in Label]
    parts.append(store.relationships().to_json(orient="records", force_ascii=False))
    parts.append(store.interactions().to_json(orient="records", force_ascii=False))
    parts.append(str(store.aliases()))
    parts += [str(store.journal(kind)) for kind in ("merged_row", "merge_undo",
                                                     "reward_settled")]
    return "\n".join(parts)


def _raw_hits(store: GraphStore, needles: list[str]) -> list[str]:
    """Needles found below the interface: the raw bytes of the embedded store's files, or any
    property of any node or relationship of the Neo4j database (Cypher ``find_text``)."""
    if isinstance(store, SQLiteStore):
        data = b"".join(Path(f"{store.path}{ext}").read_bytes() for ext in ("", "-wal")
                        if Path(f"{store.path}{ext}").exists())
        return [n for n in needles if n.encode() in data]
    found = store.find_text(needles)  # type: ignore[attr-defined]
    return [f"{r['kind']} {r['what']} {r['properties']}" for r in found]


def test_forget_leaves_nothing_of_the_person(store: GraphStore) -> None:
    _load(store)
    with store.transaction():
        store.upsert(POLICIES, _frame(POLICIES, [
            {"policy_id": "P3", "holder_id": "C2", "insured_id": "C1", "category": "medical",
             "annual_premium": 500.0, "start_date": "2023-01-01", "status": "in_force"}]))
        store.upsert(RELATIONSHIPS, _frame(RELATIONSHIPS, [
            {"src_id": "C4", "dst_id": "C1", "type": "REFERRED", "start_date": "2021-06-01"}]))
        store.upsert(INTERACTIONS, _frame(INTERACTIONS, [
            {"interaction_id": "I3", "agent_id": "A1", "client_id": "C1", "type": "visit",
             "date": "2026-10-03", "outcome": "met at home"}]))
        store.add_aliases(pd.DataFrame({"alias_id": ["C1-old"], "client_id": ["C1"],
                                        "source_file": "clients.csv", "source_row": [7],
                                        "reason": "same phone"}))
        store.append_journal("reward_settled", [{"line_id": "L1", "earner_id": "C1",
                                                 "source_id": "C3", "points": 12.5},
                                                {"line_id": "L2", "earner_id": "C4",
                                                 "source_id": "C2", "points": 3}])
        store.append_journal("merged_row", [{"alias_id": "C1-old", "client_id": "C1",
                                             "name": "张伟", "phone": "13812345678"}])
    before = store.data_version()
    # the person is really there before (so the checks below can fail)
    assert all(n in _everything(store) for n in C1_TEXT)
    assert sorted(_raw_hits(store, ["13812345678"])) != []

    done = store.forget_client("C1-old", ERASED)  # a merged id names the same person
    assert done["client_id"] == "C1"
    assert store.data_version() > before

    text = _everything(store)
    assert [n for n in C1_TEXT if n in text] == []
    assert re.search(r"(?<![\w-])C1(?![\w-])", text) is None, "the id C1 is still stored"
    assert _raw_hits(store, [*C1_TEXT, '"C1"']) == []
    assert store.get_nodes(Label.CLIENT, ["C1"]).empty
    assert store.relationships_of(["C1"]).empty and store.interactions(["C1"]).empty
    assert store.aliases() == {}
    for needle in ("张伟", "13812345678", "C1-old"):
        assert store.search_people(needle).empty, needle
    # the pseudonym: an id and the erased marker, no personal data
    row = store.get_nodes(Label.CLIENT, [ERASED]).iloc[0].to_dict()
    assert row["name"] == SQLiteStore.ERASED_NAME
    assert {k for k, v in row.items() if v is not None and v == v} == {"client_id", "name"}
    # policies and referral records (reward evidence) moved to it; other ties went
    pol = store.nodes(Label.POLICY).set_index("policy_id")
    assert pol.loc["P1", "holder_id"] == ERASED and pol.loc["P3", "insured_id"] == ERASED
    assert pol.loc["P3", "holder_id"] == "C2" and pol.loc["P2", "holder_id"] == "C2"
    rels = store.relationships()
    ties = set(zip(rels["src_id"], rels["dst_id"], rels["type"], strict=True))
    assert {(ERASED, "C3", "REFERRED"), ("C4", ERASED, "REFERRED")} <= ties
    assert not any(ERASED in (s, d) and t != "REFERRED" for s, d, t in ties), ties
    kept = rels.loc[(rels["src_id"] == ERASED) & (rels["dst_id"] == "C3")].iloc[0]
    assert kept["start_date"] == "2023-02-02"  # the referral's date, for its reward rule
    # settled lines keep their points under the pseudonym; the merged-row copy is gone
    settled = {r["line_id"]: r for r in store.journal("reward_settled")}
    assert settled["L1"]["earner_id"] == ERASED and settled["L1"]["points"] == 12.5
    assert settled["L2"]["earner_id"] == "C4"
    assert store.journal("merged_row") == []
    # the other people are untouched
    assert set(store.nodes(Label.CLIENT)["client_id"]) == {"C2", "C3", "C4", ERASED}
    assert list(store.interactions()["interaction_id"]) == ["I2"]
    with pytest.raises(StoreError, match="unknown client id 'C1'"):
        store.forget_client("C1", ERASED)


def test_search_people(store: GraphStore) -> None:
    _load(store)

    def found(text: str) -> set[tuple[str, str]]:
        res = store.search_people(text)
        assert list(res.columns) == ["id", "label", "name", "phone", "city"]
        return set(zip(res["id"], res["label"], strict=True))

    assert found("张") == {("C1", "Client"), ("C2", "Client")}
    assert found("1381234567") == {("C1", "Client"), ("C2", "Client")}
    assert found(" li lei ") == {("A2", "Agent")}  # trimmed, case-insensitive
    assert found("c4") == {("C4", "Client")}
    assert found("13900000001") == {("A1", "Agent")}
    assert found("nobody") == set()
    assert len(store.search_people("C", limit=2)) == 2
    row = store.search_people("赵强").iloc[0].to_dict()
    assert row == {"id": "C4", "label": "Client", "name": "赵强", "phone": "15000000004",
                   "city": "北京"}


def test_counts(store: GraphStore) -> None:
    empty = store.counts()
    assert set(empty.values()) == {0}
    _load(store)
    expected = {"Agent": 2, "Organization": 1, "Client": 4, "Policy": 2,
                # C1 holds an in-force policy; C2's is lapsed; C3, C4 hold none
                "Prospect": 3,
                "SERVES": 2, "RELATIVE_OF": 1, "COLLEAGUE_OF": 0, "WORKS_AT": 1,
                "FRIEND_OF": 0, "REFERRED": 1, "BUSINESS_TIE": 1,
                "INTERACTION": 2, "merged_ids": 0}
    assert store.counts() == expected
    assert set(expected) == {lbl.value for lbl in Label} | {t.value for t in RelType} | {
        "Prospect", "INTERACTION", "merged_ids"}


# -- the ingest job and the export round trip ---------------------------------------------------
def _sample_expectations() -> dict[str, int]:
    """Counts of the sample computed from its CSV files with plain pandas."""
    read = {t.name: pd.read_csv(SAMPLE_DIR / f"{t.name}.csv", dtype=str) for t in TABLES}
    rels = read["relationships"]
    in_force = read["policies"].loc[read["policies"]["status"] == "in_force", "holder_id"]
    out = {"Agent": read["agents"]["agent_id"].nunique(),
           "Organization": read["organizations"]["org_id"].nunique(),
           "Client": read["clients"]["client_id"].nunique(),
           "Policy": read["policies"]["policy_id"].nunique(),
           "Prospect": int((~read["clients"]["client_id"].isin(set(in_force))).sum()),
           "INTERACTION": len(read["interactions"]), "merged_ids": 0}
    for t in RelType:
        out[t.value] = len(rels[rels["type"] == t.value]
                               .drop_duplicates(["type", "src_id", "dst_id"]))
    return out


def test_ingesting_the_sample_gives_its_counts_and_a_rerun_is_a_no_op(
    store: GraphStore,
) -> None:
    settings = Settings()
    report = ingest_paths([SAMPLE_DIR], store, settings=settings)
    assert report.rejected == 0 and not report.errors
    expected = _sample_expectations()
    assert store.counts() == expected
    by_file = {Path(f.path).name: f.changed for f in report.files}
    assert by_file["clients.csv"] == expected["Client"]
    version = store.data_version()
    assert version > 0
    again = ingest_paths([SAMPLE_DIR], store, settings=settings)
    assert [f.changed for f in again.files] == [0] * len(again.files)
    assert store.data_version() == version
    assert store.counts() == expected


def test_export_round_trip(make_store: Callable[..., GraphStore], tmp_path: Path) -> None:
    source = make_store("source")
    ingest_paths([SAMPLE_DIR], source, settings=Settings())
    written = export_tables(source, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"{t.name}.csv" for t in TABLES)
    copy = SQLiteStore(tmp_path / "copy.db")
    try:
        report = ingest_paths([tmp_path / "out"], copy, settings=Settings())
        assert report.rejected == 0 and not report.errors
        for table in TABLES:
            a, b = read_table(source, table), read_table(copy, table)
            assert len(a) == written[table.name]
            assert _norm(a, list(table.key)) == _norm(b, list(table.key)), table.name
        # and the copy equals the original files (read independently with pandas)
        clients = pd.read_csv(SAMPLE_DIR / "clients.csv", dtype=str)
        got = read_table(copy, CLIENTS)
        assert got["client_id"].tolist() == sorted(clients["client_id"])
    finally:
        copy.close()


# -- Neo4j-only reads (run with a live server) --------------------------------------------------
def test_neo4j_extra_reads(store: GraphStore) -> None:
    from graphcrm.store.neo4j import Neo4jStore

    if not isinstance(store, Neo4jStore):
        pytest.skip("agent_book / neighbourhood / warm_path_candidates are Neo4j reads")
    _load(store)
    book = store.agent_book("A1")
    assert book[["client_id", "policies", "premium"]].to_dict("records") == [
        {"client_id": "C1", "policies": 1, "premium": 12000.5}]
    near = store.neighbourhood("C2")  # C2-C1, then C1-A1, C1-C3
    assert sorted(zip(near["src_id"], near["dst_id"], strict=True)) == [
        ("A1", "C1"), ("C1", "C2"), ("C1", "C3")]
    cand = store.warm_path_candidates("A1", "O1")
    pairs = set(zip(cand["src_id"], cand["dst_id"], strict=True))
    assert {("A1", "C1"), ("C1", "C3"), ("C3", "O1")} <= pairs


def test_export_command_writes_the_templates(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from graphcrm.cli import main

    db = tmp_path / "crm.db"
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", str(SAMPLE_DIR), "--store", str(db)]).exit_code == 0
    res = runner.invoke(main, ["export", "--store", str(db), "--to", str(tmp_path / "out"),
                               "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["tables"] == {t.name: len(pd.read_csv(SAMPLE_DIR / f"{t.name}.csv"))
                             for t in TABLES}
    head = (tmp_path / "out" / "relationships.csv").read_bytes()[:40]
    assert head.startswith(b"\xef\xbb\xbfsrc_id,dst_id,type,kind")  # UTF-8 BOM, template order
    missing = runner.invoke(main, ["export", "--store", str(tmp_path / "none.db"), "--to",
                                   str(tmp_path / "x")])
    assert missing.exit_code == 1 and missing.output.startswith("error: no store at")
