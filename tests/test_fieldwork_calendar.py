"""The weekly visit calendar: quadrant order, events, orphan visits, carry-over, .ics."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from icalendar import Calendar

from graphcrm.cli import main
from graphcrm.config import Settings
from graphcrm.fieldwork import calendar as cal
from graphcrm.fieldwork.visits import PURPOSES
from graphcrm.graph import build_graph
from graphcrm.store.sqlite import SQLiteStore

from .graph_fixtures import put


def _book(store: SQLiteStore) -> None:
    """Agent AG's book. Ability = asset band; trust is high only where AG services the policy
    (behavioural evidence) or had a private talk. Premiums: seven clients of 10,000 (A except
    the last by id, P2, which is B), O1 20 and Z1 10 (C).

    P1, P2 pamper (I) · C1, C2 (华东), C3 (华南) cultivate (II) · D1 develop (III, 华东) ·
    M1 maintain (IV) · O1 an orphan AG took over · Z1 class C.
    """
    with store.transaction():
        put(store, "agents", [
            {"agent_id": "AG", "name": "王经理", "team": "T", "hire_date": "2020-01-01",
             "status": "active", "region": "华东"},
        ])
        spec = {"P1": ("high", "AG", 10000), "P2": ("high", "AG", 10000),
                "C1": ("high", None, 10000), "C2": ("high", None, 10000),
                "C3": ("high", None, 10000), "D1": ("low", None, 10000),
                "M1": ("low", "AG", 10000), "O1": ("low", "AG", 20), "Z1": ("low", None, 10)}
        put(store, "clients", [
            {"client_id": c, "name": f"客户{c}", "asset_band": band,
             "region": "华南" if c == "C3" else "华东"}
            for c, (band, _, _) in spec.items()
        ])
        put(store, "policies", [
            {"policy_id": f"P-{c}", "holder_id": c, "category": "medical",
             "annual_premium": prem, "start_date": "2025-01-01", "status": "in_force",
             "servicing_agent_id": agent}
            for c, (_, agent, prem) in spec.items()
        ])
        put(store, "relationships", [{"src_id": "AG", "dst_id": c, "type": "SERVES",
                                      "start_date": "2025-01-01"} for c in spec])
        put(store, "interactions", [  # last week (2026-W48): AG met C1 and P1 only
            {"interaction_id": "I1", "agent_id": "AG", "client_id": "C1", "type": "call",
             "date": "2026-11-25"},
            {"interaction_id": "I2", "agent_id": "AG", "client_id": "P1",
             "type": "private_talk", "date": "2026-11-24"},
        ])


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    s = SQLiteStore(tmp_path / "crm.db")
    _book(s)
    yield s
    s.close()


EVENTS = pd.DataFrame({"date": ["2026-12-04"], "name": ["客户答谢会"], "region": ["华东"]})
DUE = pd.DataFrame({"client_id": ["O1"], "visit": [1], "due": ["2026-12-02"],
                    "status": ["due"], "attempts": [1], "required": [4],
                    "purpose": [PURPOSES[0]]})


def test_the_week_follows_the_material(store: SQLiteStore) -> None:
    ag = build_graph(store, Settings())
    plan = cal.week_plan(ag, "AG", "2026-W49", events=EVENTS, due=DUE)
    got = plan[["day", "start", "kind", "client_id", "quadrant"]].values.tolist()
    assert got == [
        ["2026-11-30", "09:30", "visit", "C2", "II"],      # missed last week: first
        ["2026-11-30", "11:00", "visit", "C3", "II"],      # missed last week
        ["2026-11-30", "14:00", "visit", "O1", "IV"],      # orphan visit 1 due Wednesday
        ["2026-11-30", "15:30", "visit", "C1", "II"],      # quadrant II: 华东's day (Monday)
        ["2026-12-01", "11:00", "visit", "P1", "I"],       # quadrant I A: its fixed time
        ["2026-12-02", "09:30", "visit", "D1", "III"],     # two days before the event
        ["2026-12-02", "17:00", "contact", "M1", "IV"],    # quadrant IV: its contact day
    ]  # P2 (pamper but class B) and Z1 (class C) are not planned
    r = plan.set_index("client_id")
    assert r.at["C2", "reason"] == ("carried over: missed on 2026-11-23 "
                                    "(quadrant II: region 华东 day)")
    assert r.at["O1", "reason"] == "orphan visit 1 due 2026-12-02 (1/4 attempts)"
    assert r.at["O1", "experience"] == PURPOSES[0]
    assert r.at["D1", "reason"] == "quadrant III A: before event 客户答谢会 on 2026-12-04"
    assert r.at["P1", "highlight"] is True and r.at["C1", "highlight"] is False
    assert r.at["P1", "experience"] == "life_service, tailor_made (key)"
    assert r.at["C1", "experience"] == "general_event (key)"
    assert r.at["M1", "end"] == "17:05"
    m1_day = int(hashlib.sha1(b"M1").hexdigest()[:8], 16) % 5  # fixed per client, documented
    assert datetime.fromisoformat(r.at["M1", "day"]).weekday() == m1_day


def test_quadrant_one_keeps_its_fixed_time_every_week(store: SQLiteStore) -> None:
    ag = build_graph(store, Settings())
    h = int(hashlib.sha1(b"P1").hexdigest()[:8], 16)
    times = Settings().calendar.visit_times
    for week in ("2026-W49", "2027-W10"):
        p = cal.week_plan(ag, "AG", week).set_index("client_id")
        weekday = datetime.fromisoformat(p.at["P1", "day"]).weekday()
        assert (weekday, p.at["P1", "start"]) == (h % 5, times[(h // 5) % 4])


def test_without_an_event_quadrant_three_waits_and_full_weeks_say_so(
        store: SQLiteStore) -> None:
    ag = build_graph(store, Settings())
    assert "D1" not in set(cal.week_plan(ag, "AG", "2026-W49")["client_id"])
    s = Settings()
    s.calendar.workdays, s.calendar.visit_times = 1, ("09:00",)
    ag1 = build_graph(store, s)
    p = cal.week_plan(ag1, "AG", "2026-W49", carry_over=False)
    planned = p.loc[p["planned"].astype(bool) & (p["kind"] == "visit"), "client_id"].tolist()
    assert planned == ["P1"]  # one slot: quadrant I first
    assert set(p.loc[~p["planned"].astype(bool), "client_id"]) == {"C1", "C2", "C3"}


def test_ics_parses_back_to_the_same_events(store: SQLiteStore, tmp_path: Path) -> None:
    ag = build_graph(store, Settings())
    plan = cal.week_plan(ag, "AG", "2026-W49", events=EVENTS, due=DUE)
    parsed = Calendar.from_ical(cal.to_ics(plan, "王经理", "2026-W49"))
    events = [(str(e["summary"]), e.decoded("dtstart"), e.decoded("dtend"))
              for e in parsed.walk("VEVENT")]
    expected = [(f"{r.client_name} ({r.client_id})",
                 datetime.fromisoformat(f"{r.day}T{r.start}"),
                 datetime.fromisoformat(f"{r.day}T{r.end}"))
                for r in plan.itertuples()]
    assert events == expected and len(events) == 7
    assert "quadrant III A: before event" in str(list(parsed.walk("VEVENT"))[5]["description"])


def test_events_file_is_read_with_chinese_headers_and_bad_dates_named(tmp_path: Path) -> None:
    f = tmp_path / "events.csv"
    f.write_text("日期,名称,区域\n2026-12-04,客户答谢会,华东\n2026-12-10,健康讲座,\n",
                 encoding="utf-8")
    ev = cal.read_events(str(f))
    assert ev.values.tolist() == [["2026-12-04", "客户答谢会", "华东"],
                                  ["2026-12-10", "健康讲座", None]]
    f.write_text("date,name\n2026-13-01,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"events.csv: row 2, column date: '2026-13-01'"):
        cal.read_events(str(f))


def test_calendar_cli_writes_ics_and_json(store: SQLiteStore, tmp_path: Path) -> None:
    ev = tmp_path / "events.csv"
    ev.write_text("date,name,region\n2026-12-04,客户答谢会,华东\n", encoding="utf-8")
    ics = tmp_path / "week.ics"
    r = CliRunner().invoke(main, ["calendar", "--agent", "AG", "--week", "2026-W49",
                                  "--events", str(ev), "--ics", str(ics), "--json",
                                  "--store", str(store.path)])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["agent"] == "AG" and data["week"] == "2026-W49"
    days = {s["client_id"]: s["day"] for s in data["slots"]}
    assert days["D1"] == "2026-12-02"
    parsed = Calendar.from_ical(ics.read_bytes())
    assert len(list(parsed.walk("VEVENT"))) == sum(s["planned"] for s in data["slots"])
    r = CliRunner().invoke(main, ["calendar", "--agent", "nobody", "--week", "2026-W49",
                                  "--store", str(store.path)])
    assert r.exit_code == 1 and "nobody" in r.output


def test_gap_reasons_of_a_book_match_the_whole_store_computation(tmp_path: Path) -> None:
    from graphcrm.metrics.needs import FINDINGS, coverage_gaps
    from tests.test_app import build_sample_store

    s = SQLiteStore(build_sample_store(tmp_path / "sample.db"), create=False)
    try:
        ag = build_graph(s, Settings())
    finally:
        s.close()
    agent = ag.serving.value_counts().index[0]
    book = ag.book(agent)
    day = datetime(2026, 12, 1).date()
    full = coverage_gaps(ag.clients.reset_index(drop=True), ag.policies.reset_index(drop=True),
                         ag.relationships, day, ag.settings, client_ids=book)
    expected = {c: FINDINGS[int(f)][1] for c, f in zip(full["client_id"], full["finding"],
                                                       strict=True) if f != 2}
    assert cal.gap_findings(ag, book, day) == expected and len(expected) > 10
