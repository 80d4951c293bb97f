"""Issue 12 on the field-work pages: the Orphans and Visit plan pages show, propose and approve
only what the signed-in user may see (streamlit AppTest on a real SQLite copy of the sample in
which a second team also has a departed agent, with real users signing in)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from graphcrm.fieldwork import orphans as orph
from graphcrm.i18n import t
from graphcrm.model import Label
from graphcrm.store.sqlite import SQLiteStore
from graphcrm.workspace import load_graph
from tests.graph_fixtures import put
from tests.test_app import add_user, build_sample_store, no_errors, run_app
from tests.test_app_access import has_name, page_text

MANAGER_PW = "manager-password-for-tests"
AGENT_PW = "agent-password-for-tests"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The sample with a second departed agent (in another team), an admin, the manager of
    the first departed agent's team and an agent of that team."""
    path = build_sample_store(tmp_path / "sample.db")
    with SQLiteStore(path, create=False) as store:
        ag = load_graph(store)
        departed = ag.agents.index[ag.agents["status"] == "departed"]
        assert len(departed) >= 1
        first = str(departed[0])
        team = str(ag.agents.at[first, "team"])
        # an active agent of another team, with clients holding policies, leaves too
        books = ag.serving.value_counts()
        other = next(a for a in books.index if a in ag.agents.index
                     and ag.agents.at[a, "team"] != team
                     and ag.agents.at[a, "status"] == "active")
        rows = store.nodes(Label.AGENT)
        row = rows.loc[rows["agent_id"] == other].iloc[0].to_dict()
        row.update(status="departed", departure_date="2026-09-01")
        with store.transaction():
            put(store, "agents", [row])
        ag = load_graph(store)
    orphans = orph.find_orphans(ag, date(2026, 12, 1))
    mine = orphans.loc[orphans["departed_agent"] == first]
    theirs = orphans.loc[orphans["departed_agent"] == other]
    assert len(mine) and len(theirs)
    colleague = next(a for a in ag.agents.index if a != first
                     and ag.agents.at[a, "team"] == team
                     and ag.agents.at[a, "status"] == "active")
    add_user(path)
    add_user(path, "szm", MANAGER_PW, "manager", teams=[team])
    add_user(path, "wu", AGENT_PW, "agent", agent_id=colleague)
    monkeypatch.setenv("GRAPHCRM_STORE", str(path))
    mine_names = set(mine["name"].dropna())
    theirs_names = set(theirs["name"].dropna()) - mine_names - set(ag.agents["name"])
    return {"path": path, "ag": ag, "team": team, "first": first, "other": other,
            "mine": set(mine["client_id"]), "theirs": set(theirs["client_id"]),
            "theirs_names": theirs_names, "colleague": colleague}


def _ids(column: pd.Series) -> set[str]:
    return {m.group(1) for v in column for m in [re.search(r"\(([^()]+)\)$", str(v))] if m}


def test_manager_sees_proposes_and_approves_only_their_teams_orphans(
        world: dict[str, object]) -> None:
    at = run_app("page_orphans", "en", "szm", MANAGER_PW)
    no_errors(at)
    at.text_input(key="orphans_month").set_value("2026-12").run()
    no_errors(at)
    col = t("col_client", "en")
    listed = _ids(at.dataframe[0].value[col])
    proposed = _ids(at.dataframe[1].value[col])
    assert listed == world["mine"]
    assert proposed == world["mine"]
    text = page_text(at)
    leaked = [c for c in world["theirs"] if c in text]  # type: ignore[attr-defined]
    assert not leaked, f"another team's orphans shown to the manager: {leaked[:5]}"
    names = [n for n in world["theirs_names"] if has_name(text, n)]  # type: ignore[attr-defined]
    assert not names, names[:5]
    at.button(key="orphans_approve").click().run()
    no_errors(at)
    with SQLiteStore(world["path"], create=False) as s:  # type: ignore[arg-type]
        got = orph.assignments(s.relationships(["SERVES"]), "2026-12")
    assert len(got) > 0
    assert set(got["client_id"]) <= world["mine"]  # type: ignore[operator]
    assert set(got["from_agent"]) == {world["first"]}
    assert set(got["approved_by"]) == {"szm"}
    follow = _ids(at.dataframe[2].value[t("col_client", "en")])
    assert follow == set(got["client_id"])


def test_admin_sees_every_teams_orphans(world: dict[str, object]) -> None:
    at = run_app("page_orphans", "en")
    no_errors(at)
    listed = _ids(at.dataframe[0].value[t("col_client", "en")])
    assert listed == world["mine"] | world["theirs"]  # type: ignore[operator]


def test_agent_plans_only_their_own_week(world: dict[str, object]) -> None:
    at = run_app("page_visits", "en", "wu", AGENT_PW)
    no_errors(at)
    assert at.selectbox(key="visits_agent").options and \
        _ids(at.selectbox(key="visits_agent").options) == {world["colleague"]}
    funnel = at.dataframe[1].value if len(at.dataframe) > 1 else pd.DataFrame()
    if len(funnel):  # their own line only: no team, no colleague
        assert _ids(funnel[t("col_agent", "en")]) == {world["colleague"]}
        assert t("col_team", "en") not in funnel.columns


def test_manager_plans_only_their_teams_agents(world: dict[str, object]) -> None:
    ag = world["ag"]
    at = run_app("page_visits", "en", "szm", MANAGER_PW)
    no_errors(at)
    team_agents = set(ag.agents.index[ag.agents["team"] == world["team"]])  # type: ignore[attr-defined]
    assert _ids(at.selectbox(key="visits_agent").options) == team_agents
    funnel = at.dataframe[1].value
    assert set(funnel[t("col_team", "en")]) <= {world["team"]}
