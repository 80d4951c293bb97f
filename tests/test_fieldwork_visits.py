"""The three-visit plan: due dates, attempts counted, the week's list, the roll-up, recording."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from graphcrm.cli import main
from graphcrm.config import Settings
from graphcrm.fieldwork import visits as vis
from graphcrm.store.sqlite import SQLiteStore
from graphcrm.workspace import load_graph, read_snapshot

from .fieldwork_fixtures import build_branch


def test_due_dates_follow_the_plan_across_month_ends() -> None:
    s = Settings()
    d = date.fromisoformat
    assert vis.plan_dues(d("2026-01-16"), [None, None], s) == [
        d("2026-01-31"), d("2026-02-28"), d("2026-03-28")]
    # visit 2 counts from the day visit 1 happened, visit 3 from visit 2
    assert vis.plan_dues(d("2026-01-16"), [d("2026-01-31"), d("2026-03-31")], s) == [
        d("2026-01-31"), d("2026-02-28"), d("2026-04-30")]
    assert vis.plan_dues(d("2027-12-20"), [None, None], s)[:2] == [d("2028-01-04"),
                                                                  d("2028-02-04")]


def _records() -> tuple[pd.DataFrame, pd.DataFrame]:
    assigned = pd.DataFrame({"agent_id": ["A1", "A1", "A2"], "client_id": ["C1", "C2", "C3"],
                             "assigned": ["2026-12-01", "2026-12-20", "2027-01-10"]})
    rows = [
        ("I1", "A1", "C1", "call", "2026-12-02", "no_answer", None),
        ("I2", "A1", "C1", "call", "2026-12-05", "declined", None),
        ("I3", "A1", "C1", "visit", "2026-12-10", "done", 8),
        ("I4", "A1", "C1", "message", "2026-12-20", "no_answer", None),
        ("I5", "A1", "C1", "purchase", "2026-12-21", None, None),     # not an attempt
        ("I6", "A2", "C1", "visit", "2026-12-22", "done", 9),         # another agent
        ("I7", "A1", "C1", "call", "2026-11-30", "done", None),       # before the assignment
        ("I8", "A1", "C1", "call", "2027-02-01", "done", None),       # after as_of
        ("I9", "A1", "C2", "call", "2027-01-02", "done", 5),           # a call is not a visit
    ]
    inter = pd.DataFrame(rows, columns=["interaction_id", "agent_id", "client_id", "type",
                                        "date", "outcome", "rating"])
    return assigned, inter


def test_attempts_are_counted_per_visit_and_late_visits_are_overdue() -> None:
    assigned, inter = _records()
    st = vis.visit_status(assigned, inter, Settings(), date(2027, 1, 15))
    got = st[["client_id", "visit", "due", "done", "attempts", "required", "status"]]
    assert got.values.tolist() == [
        ["C1", 1, "2026-12-16", "2026-12-10", 3, 4, "done"],
        ["C1", 2, "2027-01-10", None, 1, 3, "overdue"],
        ["C1", 3, "2027-02-10", None, 0, 3, "planned"],
        ["C2", 1, "2027-01-04", None, 1, 4, "overdue"],
        ["C2", 2, "2027-02-04", None, 0, 3, "planned"],
        ["C2", 3, "2027-03-04", None, 0, 3, "planned"],
        ["C3", 1, "2027-01-25", None, 0, 4, "due"],
        ["C3", 2, "2027-02-25", None, 0, 3, "planned"],
        ["C3", 3, "2027-03-25", None, 0, 3, "planned"],
    ]
    assert st["rating"].tolist()[:4] == [8.0, None, None, 5.0]


def test_the_week_lists_overdue_first_and_the_manager_rollup_adds_up() -> None:
    assigned, inter = _records()
    st = vis.visit_status(assigned, inter, Settings(), date(2027, 1, 15))
    wk = vis.due_in_week(st, "2027-W02")  # 2027-01-11 .. 01-17
    assert wk[["client_id", "visit", "status"]].values.tolist() == [
        ["C2", 1, "overdue"], ["C1", 2, "overdue"]]
    assert vis.due_in_week(st, "2026-W50")[["client_id", "visit", "status"]
                                           ].values.tolist() == [["C1", 1, "done"]]
    roll = vis.rollup(st, pd.DataFrame({"agent_id": ["A1", "A2"], "team": ["T1", "T1"]}))
    a = roll["agents"].set_index("agent_id")
    assert a.loc["A1", ["clients", "visits", "done", "overdue", "open", "attempts",
                        "required", "rating"]].tolist() == [2, 6, 1, 2, 3, 5, 20, 6.5]
    assert a.loc["A2", ["attempts", "required", "rating"]].tolist() == [0, 10, None]
    t = roll["teams"].set_index("team")
    assert t.loc["T1", ["clients", "visits", "done", "overdue", "attempts", "required"]
                 ].tolist() == [3, 9, 1, 2, 5, 30]
    assert t.loc["T1", "attempt_rate"] == pytest.approx(5 / 30)


def test_week_must_be_iso() -> None:
    assert vis.iso_week("2026-W53") == (date(2026, 12, 28), date(2027, 1, 3))
    with pytest.raises(ValueError, match="YYYY-Www"):
        vis.iso_week("2026-49")
    with pytest.raises(ValueError, match="no ISO week"):
        vis.iso_week("2027-W53")


@pytest.fixture
def branch(tmp_path: Path) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "crm.db")
    build_branch(store)
    yield store
    store.close()


@pytest.mark.parametrize(("args", "message"), [
    (["--type", "dance"], "type: 'dance' is not an interaction type"),
    (["--outcome", "great"], "outcome: 'great' is not one of done"),
    (["--date", "2026-02-30"], "date: '2026-02-30' is not a date"),
    (["--rating", "11"], "rating: 11 is outside -10..10"),
    (["--rating", "good"], "rating: 'good' is not an integer"),
    (["--agent", "ZZ"], "agent: 'ZZ' is not an agent"),
    (["--client", "A1"], "client: 'A1' is not a client"),
])
def test_a_bad_value_is_one_line_and_writes_nothing(branch: SQLiteStore, args: list[str],
                                                    message: str) -> None:
    base = {"--agent": "A2", "--client": "K1", "--type": "visit", "--outcome": "done",
            "--date": "2026-12-05"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    v, n = branch.data_version(), branch.counts()["INTERACTION"]
    r = CliRunner().invoke(main, ["visits", "log", *sum(base.items(), ()),
                                  "--store", str(branch.path)])
    assert r.exit_code == 1
    assert message in r.output and len(r.output.strip().splitlines()) == 1
    assert branch.data_version() == v and branch.counts()["INTERACTION"] == n


def test_a_record_is_stored_once_updates_trust_and_stales_the_snapshot(
        branch: SQLiteStore, tmp_path: Path) -> None:
    ag = load_graph(branch, Settings())  # saves the snapshot beside the store
    assert read_snapshot(branch, Settings()) is not None
    args = ["visits", "log", "--agent", "A2", "--client", "K1", "--type", "定期拜访",
            "--outcome", "完成", "--date", "2026/12/05", "--rating", "7", "--note",
            "=talked about her son's school", "--store", str(branch.path), "--json"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["written"] == 1
    assert out["interaction"]["type"] == "periodic_visit"
    assert out["interaction"]["outcome"] == "done" and out["interaction"]["date"] == "2026-12-05"
    assert read_snapshot(branch, Settings()) is None  # stale: the data moved on
    r2 = CliRunner().invoke(main, args)
    assert json.loads(r2.output)["written"] == 0
    stored = branch.interactions(["K1"])
    assert len(stored) == 1 and stored["note"].tolist() == ["=talked about her son's school"]
    ag2 = load_graph(branch, Settings())
    t = ag2._cache["trust"].set_index(["agent_id", "client_id"])
    assert t.loc[("A2", "K1"), "last_contact"] == "2026-12-05"
    assert t.loc[("A2", "K1"), "level"] == "perceived"
    assert ("A2", "K1") not in set(zip(ag.interactions["agent_id"], ag.interactions["client_id"],
                                       strict=True))


def test_the_same_row_loaded_by_ingest_is_the_same_record(branch: SQLiteStore,
                                                          tmp_path: Path) -> None:
    # a past date: ingest rejects interactions dated after today (plausibility, docs/templates.md)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "interactions.csv").write_text(
        "agent_id,client_id,type,date,outcome\nA2,K1,visit,2026-11-05,done\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["ingest", str(folder), "--store", str(branch.path)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["visits", "log", "--agent", "A2", "--client", "K1", "--type",
                                  "visit", "--outcome", "done", "--date", "2026-11-05",
                                  "--store", str(branch.path), "--json"])
    assert json.loads(r.output)["written"] == 0
    assert branch.counts()["INTERACTION"] == 1


def test_visits_due_cli_lists_the_week_and_rolls_up(branch: SQLiteStore) -> None:
    db = str(branch.path)
    for day, typ, outcome in (("2026-12-02", "call", "no_answer"),
                              ("2026-12-03", "visit", "done")):
        r = CliRunner().invoke(main, ["visits", "log", "--agent", "A2", "--client", "K1",
                                      "--type", typ, "--outcome", outcome, "--date", day,
                                      "--store", db])
        assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["visits", "due", "--week", "2026-W49", "--date", "2026-12-04",
                                  "--store", db, "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert [(v["client_id"], v["visit"], v["status"], v["attempts"]) for v in data["visits"]
            ] == [("K1", 1, "done", 2)]
    assert data["agents"][0]["agent_id"] == "A2" and data["agents"][0]["done"] == 1
    assert data["teams"][0]["team"] == "T1"
    r = CliRunner().invoke(main, ["visits", "due", "--week", "2026-49", "--store", db])
    assert r.exit_code == 1 and "YYYY-Www" in r.output
