"""The field-work pages (孤儿单 / Orphans, 拜访计划 / Visit plan) and the visit form, driven by
streamlit.testing.v1.AppTest on real SQLite copies of the sample."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from icalendar import Calendar

from graphcrm.i18n import t
from graphcrm.store.sqlite import SQLiteStore
from graphcrm.workspace import load_graph
from tests.test_app import build_sample_store, env_store, no_errors, run_app  # noqa: F401


@pytest.fixture
def own_store(tmp_path: Path) -> Path:
    """A sample store of its own: these tests write to it."""
    return build_sample_store(tmp_path / "sample.db")


def _version(path: Path) -> int:
    s = SQLiteStore(path, create=False)
    try:
        return s.data_version()
    finally:
        s.close()


# dataframes are found by position (AppTest does not expose their keys): the orphans page
# shows list, proposal, follow-up, per agent, per team; the visit page plan, funnel

def test_orphans_page_proposes_approves_once_and_follows_up(own_store: Path, env_store  # type: ignore[no-untyped-def]  # noqa: F811
                                                            ) -> None:
    env_store(own_store)
    at = run_app("page_orphans", "en")
    no_errors(at)
    at.text_input(key="orphans_month").set_value("2026-12").run()
    no_errors(at)
    proposal = at.dataframe[1].value
    new_agent, reason = t("col_new_agent", "en"), t("col_reason", "en")
    placed = int((proposal[new_agent] != t("nobody", "en")).sum())
    assert placed > 0 and proposal[reason].str.len().min() > 0
    # the reasons are English sentences, not codes
    assert not proposal[reason].str.contains("RELATIVE_OF|WORKS_AT|_", regex=True).any()
    before = _version(own_store)
    # the approver is the signed-in user, recorded on every new tie
    assert any("admin" in c.value for c in at.caption)
    at.button(key="orphans_approve").click().run()
    no_errors(at)
    assert any(t("approved", "en", n=placed) in s.value for s in at.success)
    assert _version(own_store) == before + 1
    s = SQLiteStore(own_store, create=False)
    try:
        from graphcrm.fieldwork.orphans import assignments
        got = assignments(s.relationships(["SERVES"]), "2026-12")
    finally:
        s.close()
    assert len(got) == placed and set(got["approved_by"]) == {"admin"}
    follow = at.dataframe[2].value
    assert len(follow) == 3 * placed
    assert set(follow[t("col_visit", "en")]) == {t("visit_n", "en", n=n) for n in (1, 2, 3)}
    # everyone with room got an agent: nothing left to approve for this month
    assert (at.dataframe[1].value[new_agent] != t("nobody", "en")).sum() == 0
    assert at.button(key="orphans_approve").disabled


def test_visit_plan_page_shows_the_week_and_offers_the_ics(own_store: Path, env_store  # type: ignore[no-untyped-def]  # noqa: F811
                                                           ) -> None:
    env_store(own_store)
    at = run_app("page_visits", "zh")
    no_errors(at)
    assert at.header[0].value == "拜访计划"
    at.text_input(key="visits_week").set_value("2026-W49").run()
    no_errors(at)
    plan = at.dataframe[0].value
    assert len(plan) > 0 and set(plan["日期"]) <= {f"2026-{d}" for d in (
        "11-30", "12-01", "12-02", "12-03", "12-04", "12-05", "12-06")}
    assert len(at.dataframe[1].value) > 0
    at.text_input(key="visits_week").set_value("2026-49").run()
    assert any("YYYY-Www" in w.value for w in at.warning)


def test_ics_of_the_page_parses(own_store: Path) -> None:
    from graphcrm.fieldwork import calendar as cal

    s = SQLiteStore(own_store, create=False)
    try:
        ag = load_graph(s)
    finally:
        s.close()
    agent = ag.serving.value_counts().index[0]
    plan = cal.week_plan(ag, agent, "2026-W49")
    parsed = Calendar.from_ical(cal.to_ics(plan, ag.name(agent), "2026-W49"))
    assert len(list(parsed.walk("VEVENT"))) == int(plan["planned"].sum())


def test_client_detail_records_a_visit_once(own_store: Path, env_store  # type: ignore[no-untyped-def]  # noqa: F811
                                            ) -> None:
    env_store(own_store)
    at = run_app("page_opmap", "en")
    no_errors(at)
    box = at.selectbox(key="opmap_person")
    first = next(o for o in box.options if o)  # "NAME (ID)"
    box.set_value(re.search(r"\(([^()]+)\)$", first).group(1)).run()
    no_errors(at)
    before = _version(own_store)
    at.text_input(key="visit_rating").set_value("11")  # a form: sent with the submit
    at.button(key="FormSubmitter:visit_form-Save").click().run()
    assert any("rating: 11 is outside -10..10" in w.value for w in at.warning)
    assert _version(own_store) == before
    at.text_input(key="visit_rating").set_value("6")
    at.button(key="FormSubmitter:visit_form-Save").click().run()
    no_errors(at)
    assert any(t("saved", "en") in s.value for s in at.success)
    assert _version(own_store) == before + 1
