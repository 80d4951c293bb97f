"""Orphan clients: who is one, the proposal's rules, applying it once, the notices."""

from __future__ import annotations

import dataclasses
import io
import itertools
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from graphcrm.config import Settings
from graphcrm.fieldwork import orphans as orph
from graphcrm.graph import build_graph
from graphcrm.model import TABLES_BY_NAME
from graphcrm.privacy import neutralise_frame
from graphcrm.store.sqlite import SQLiteStore

from .fieldwork_fixtures import build_branch


def _settings(cap: int = 2) -> Settings:
    s = Settings()
    return dataclasses.replace(s, orphans=dataclasses.replace(s.orphans, cap_per_agent_month=cap))


@pytest.fixture
def branch(tmp_path: Path) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "crm.db")
    build_branch(store)
    yield store
    store.close()


def test_orphans_are_in_force_clients_of_departed_agents_or_of_none(branch: SQLiteStore) -> None:
    ag = build_graph(branch, _settings())
    o = orph.find_orphans(ag, date(2026, 12, 1))
    assert o["client_id"].tolist() == ["NA1", *[f"O{i}" for i in range(1, 9)], "W1"]
    row = o.set_index("client_id").loc["O3"]
    assert row["departed_agent"] == "D1" and row["supervisor_id"] == "S1"
    assert row["policies"] == 1 and row["premium"] == 1200.0
    assert row["orphaned_since"] == "2026-10-01" and row["days_orphaned"] == 61
    na = o.set_index("client_id").loc["NA1"]
    assert na["departed_agent"] is None and na["orphaned_since"] is None
    # K1 (prospect, no policy) and the active agents' clients are not orphans
    assert orph.find_orphans(ag, date(2026, 12, 1), branch="nope").empty


def test_proposal_follows_team_first_year_cap_region_warmth_nearest(branch: SQLiteStore) -> None:
    ag = build_graph(branch, _settings(cap=2))
    p = orph.propose(ag, "2026-12").set_index("client_id")
    got = {c: (p.at[c, "agent_id"], p.at[c, "rule"]) for c in p.index}
    assert got == {
        "NA1": (None, "no_room"),          # no team, no region
        "O1": ("A1", "team"),               # first-year agent of the supervisor's team first
        "O2": ("A1", "team"),               # ... up to the cap of 2
        "O3": ("A2", "team"),               # A2 already received K1 this month: 1 left
        "O4": ("R1", "region"),             # team full, deadline (2026-10-31) passed: region
        "O5": ("R2", "region"),             # R2 knows O5 (spouse's colleague) despite 3 clients
        "O6": ("R1", "region"),             # stranger: the lighter book
        "O7": ("R2", "region"),
        "O8": ("N1", "nearest_region"),     # 华东 full: 华中 is the nearest region
        "W1": (None, "waiting_for_team"),   # D2 left 2026-11-20: the team has until 12-20
    }
    assert p.at["O1", "first_year"] is True and p.at["O3", "first_year"] is False
    assert p.at["O3", "received_this_month"] == 1 and p.at["O1", "received_this_month"] == 0
    assert p.at["O5", "hops"] == 3
    assert p.at["O5", "warmth"] == pytest.approx(0.95 * 0.45 * 0.50)
    assert p.at["O5", "connection"] == (
        "name O5 -[RELATIVE_OF:spouse]- name X -[COLLEAGUE_OF]- name Y -[SERVES:none]- agent R2")
    assert "warmest connection (3 ties" in p.at["O5", "reason"]
    assert p.at["O6", "connection"] is None and "no existing connection" in p.at["O6", "reason"]
    assert "2026-12-20" in p.at["W1", "reason"]
    assert p.at["O1", "reason"].startswith("supervisor's team; first-year agent")


def test_a_bigger_cap_keeps_everything_in_the_team(branch: SQLiteStore) -> None:
    ag = build_graph(branch, _settings(cap=6))
    p = orph.propose(ag, "2026-12").set_index("client_id")
    # the first-year agent takes up to the cap before the experienced one
    assert p.loc[[f"O{i}" for i in range(1, 9)], "agent_id"].tolist() == (
        ["A1"] * 6 + ["A2"] * 2)
    assert p.at["W1", "agent_id"] == "A2"


def test_the_cap_counts_the_month_not_other_months(branch: SQLiteStore) -> None:
    ag = build_graph(branch, _settings(cap=2))
    p = orph.propose(ag, "2027-01").set_index("client_id")
    # in January A2's December orphan does not count: A2 takes two
    assert (p["agent_id"] == "A2").sum() == 2


def test_apply_writes_serves_ties_keeps_history_and_reapplying_changes_nothing(
        branch: SQLiteStore) -> None:
    s = _settings(cap=2)
    ag = build_graph(branch, s)
    p = orph.propose(ag, "2026-12", date(2026, 12, 3))
    ties = orph.assignment_ties(p, "2026-12", date(2026, 12, 3), "S1")
    assert len(ties) == 8
    with branch.transaction():
        assert branch.upsert(TABLES_BY_NAME["relationships"], ties) == 8
    v = branch.data_version()
    serves = branch.relationships(["SERVES"])
    o4 = serves.loc[serves["dst_id"] == "O4"].set_index("src_id")
    assert o4.at["R1", "start_date"] == "2026-12-03"
    assert o4.at["R1", "source"] == "orphans:2026-12;from:D1;rule:region"
    assert o4.at["R1", "approved_by"] == "S1"  # a field of its own, not inside source
    assert pd.isna(o4.at["D1", "approved_by"])
    assert o4.at["D1", "start_date"] == "2020-01-01"  # the history stays
    ag2 = build_graph(branch, s)
    assert ag2.serving_agent("O4") == "R1"
    again = orph.propose(ag2, "2026-12", date(2026, 12, 3))
    assert again["agent_id"].notna().sum() == 0  # everyone with room already got theirs
    with branch.transaction():
        assert branch.upsert(TABLES_BY_NAME["relationships"],
                             orph.assignment_ties(again, "2026-12", date(2026, 12, 3), "S1")) == 0
        branch.upsert(TABLES_BY_NAME["relationships"], ties)  # the same approval twice
    assert branch.data_version() == v
    a = orph.assignments(branch.relationships(["SERVES"]), "2026-12")
    assert a.loc[a["client_id"] == "O8", ["agent_id", "approved_by", "from_agent", "rule"]
                 ].iloc[0].tolist() == ["N1", "S1", "D1", "nearest_region"]
    assert len(a) == 9  # K1 from before, and the eight


def test_assignments_written_before_the_approver_field_are_still_read(branch: SQLiteStore
                                                                      ) -> None:
    """A store from before ``approved_by`` kept the approver inside ``source``."""
    old = pd.DataFrame({"src_id": ["R1"], "dst_id": ["O4"], "type": ["SERVES"], "kind": [None],
                        "start_date": ["2026-11-02"],
                        "source": ["orphans:2026-11;approved:S9;from:D1;rule:region"],
                        "confidence": [1.0], "converted": [None], "approved_by": [None]})
    with branch.transaction():
        branch.upsert(TABLES_BY_NAME["relationships"], old)
    a = orph.assignments(branch.relationships(["SERVES"]), "2026-11")
    assert a[["client_id", "agent_id", "approved_by", "from_agent"]].iloc[0].tolist() == [
        "O4", "R1", "S9", "D1"]


def test_notices_name_the_new_agent_and_list_the_orphans() -> None:
    assigned = pd.DataFrame({"client_id": ["C2", "C1"], "agent_id": ["A1", "A1"],
                             "assigned": ["2026-12-31", "2026-12-31"]})
    clients = pd.DataFrame({"client_id": ["C1", "C2"], "name": ["王芳", "=cmd|x"],
                            "phone": ["13900000001", None]})
    agents = pd.DataFrame({"agent_id": ["A1"], "name": ["李四"], "phone": ["13800000000"]})
    n = orph.notices(assigned, clients, agents, month="2026-12", language="zh",
                     client_template="{client}: {agent} {agent_phone}",
                     agent_template="{agent} {month} {count}: {clients} by {due}",
                     first_visit_days=15)
    assert n["message"].tolist() == [
        "王芳: 李四 13800000000", "=cmd|x: 李四 13800000000",
        "李四 2026-12 2: 王芳 (C1), =cmd|x (C2) by 2027-01-15",
    ]
    assert n["recipient"].tolist() == ["client", "client", "agent"]
    # one neutraliser for every CSV (graphcrm.privacy): a formula gets its apostrophe, a phone
    # number written +86... stays a number the SMS gateway can dial
    safe = neutralise_frame(n.assign(phone=["+8613900000001", "-1", "@x"]))
    assert safe["message"].tolist()[1] == "'=cmd|x: 李四 13800000000"
    assert safe["phone"].tolist() == ["+8613900000001", "-1", "'@x"]
    tabbed = neutralise_frame(pd.DataFrame({"a": ["\tx", "\ry", "ok", "a=b"]}))
    assert tabbed["a"].tolist() == ["'\tx", "'\ry", "ok", "a=b"]


def test_month_must_be_yyyy_mm() -> None:
    assert orph.month_bounds("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    with pytest.raises(ValueError, match="YYYY-MM"):
        orph.month_bounds("2024-13")


def test_cli_proposes_applies_once_and_writes_safe_notices(branch: SQLiteStore,
                                                           tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from graphcrm.cli import main

    cfg = tmp_path / "cap.toml"
    cfg.write_text("[orphans]\ncap_per_agent_month = 2\n", encoding="utf-8")
    with branch.transaction():  # a client name that is a spreadsheet formula
        from .graph_fixtures import put
        put(branch, "clients", [{"client_id": "O1", "name": "=HYPERLINK(1)",
                                 "region": "华东", "phone": "13900000000"}])
    db = str(branch.path)
    base = ["--store", db, "--config", str(cfg)]
    r = CliRunner().invoke(main, ["orphans", "--json", "--date", "2026-12-01", *base])
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.output)["orphans"]) == 10
    # T pinned: by default it is today within the month (the visit-by date is T + 15 days)
    assign = ["orphans", "assign", "--month", "2026-12", "--date", "2026-12-01"]
    r = CliRunner().invoke(main, [*assign, "--json", *base])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["applied"] is False and data["written"] == 0
    assert sum(p["agent_id"] is not None for p in data["proposal"]) == 8
    v = branch.data_version()
    notes = tmp_path / "n.csv"
    r = CliRunner().invoke(main, [*assign, "--apply", "--approver", "S1", "--notices",
                                  str(notes), "--lang", "en", "--json", *base])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["written"] == 8 and branch.data_version() == v + 1
    csv = pd.read_csv(notes, dtype=str, encoding="utf-8-sig")
    assert (csv["recipient"] == "client").sum() == 9  # K1 from before and the eight
    o1 = csv.loc[csv["recipient_id"] == "O1"].iloc[0]
    assert o1["name"] == "'=HYPERLINK(1)" and o1["message"].startswith("Dear =HYPERLINK(1)")
    assert "agent A1" in o1["message"]
    # the gateway's file keeps the phone; the same notices as the app offers them are masked
    assert o1["phone"] == "13900000000"
    from graphcrm.app.common import csv_bytes
    shown = pd.read_csv(io.BytesIO(csv_bytes(csv)), dtype=str, encoding="utf-8-sig")
    assert shown.loc[shown["recipient_id"] == "O1", "phone"].iloc[0] == "139****0000"
    assert not shown["phone"].dropna().str.fullmatch(r"\d{11}").any()
    a1 = csv.loc[csv["recipient_id"] == "A1"].iloc[0]["message"]
    assert "received 2 orphan clients" in a1 and "2026-12-16" in a1
    r = CliRunner().invoke(main, [*assign, "--apply", "--approver", "S1", "--notices",
                                  str(notes), *base])
    assert r.exit_code == 0 and branch.data_version() == v + 1  # re-apply: nothing changes
    r = CliRunner().invoke(main, ["orphans", "assign", "--month", "2026-13", *base])
    assert r.exit_code == 1 and "YYYY-MM" in r.output
    r = CliRunner().invoke(main, [*assign, "--apply", *base])
    assert r.exit_code == 1 and "--approver" in r.output


def test_warmest_connections_match_a_plain_networkx_search(tmp_path: Path) -> None:
    """On the sample: every (orphan, agent) distance equals the best of all simple paths of at
    most three ties that pass through clients and organizations only (NetworkX, brute force)."""
    from tests.test_app import build_sample_store

    s = SQLiteStore(build_sample_store(tmp_path / "s.db"), create=False)
    try:
        ag = build_graph(s, Settings())
    finally:
        s.close()
    g = ag.G
    agents = set(ag.agents.index)
    active = sorted(ag.agents.index[ag.agents["status"] == "active"])
    orphans = orph.find_orphans(ag, date(2026, 12, 1))["client_id"].tolist()[:25]
    full = orph.agent_connections(ag, orphans, active, 3)
    got = {(c, a): d for c, a, d in zip(full["client_id"], full["agent_id"], full["distance"],
                                        strict=True)}
    # the proposal's form (path rows, tuples built on demand) holds the same paths
    lean, ids = orph.agent_connections(ag, orphans, active, 3, path_tuples=False)
    assert [tuple(x for x in ids[r] if x is not None) for r in lean["path"]] == \
        list(full["path"])
    for (c, a), p in zip(zip(full["client_id"], full["agent_id"], strict=True), full["path"],
                         strict=True):  # each path is a real chain of ties
        chain = [c, *p, a]
        assert all(g.has_edge(x, y) for x, y in itertools.pairwise(chain))
    expected: dict[tuple[str, str], float] = {}
    for c in orphans:
        # all simple paths of <= 2 ties through non-agents, then one tie to an active agent
        best = {c: 0.0}
        frontier = {(c,): 0.0}
        for _ in range(2):
            nxt = {}
            for path, d in frontier.items():
                for y in g.neighbors(path[-1]):
                    if y in agents or y in path:
                        continue
                    nd = d + g[path[-1]][y]["distance"]
                    nxt[(*path, y)] = nd
                    best[y] = min(best.get(y, float("inf")), nd)
            frontier = nxt
        for x, d in best.items():
            for a in g.neighbors(x):
                if a in agents and a in active:
                    key = (c, a)
                    expected[key] = min(expected.get(key, float("inf")),
                                        d + g[x][a]["distance"])
    assert set(got) == set(expected) and len(expected) > 20
    for key, d in expected.items():
        assert got[key] == pytest.approx(d), key
