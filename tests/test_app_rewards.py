"""The rewards page (客户价值奖励) shows the company's ledger, the one ``graphcrm rewards``
prints, each user seeing the rows of the earners in their scope: real CSV files -> ingest ->
real SQLite store -> the app through Streamlit's AppTest and the CLI through click."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from graphcrm.cli import main
from graphcrm.i18n import code, t
from graphcrm.ingest.job import ingest_paths
from graphcrm.store.sqlite import SQLiteStore
from graphcrm.workspace import warm_graph
from tests.test_app import add_user, no_errors, run_app

AGENT_PW = "agent-password-for-rewards"
PERIOD = "2026-03"

FILES = {
    "agents.csv": ["agent_id,name,hire_date,status",
                   "A1,陆帆,2020-01-01,active", "A2,裴建华,2021-01-01,active"],
    # X (A1's client) and Y (A2's client) share a mobile number: one person for the ledger,
    # whoever looks at it (an agent's copy of the graph blanks colleagues' numbers)
    "clients.csv": ["client_id,name,birth_date,phone,income_band",
                    "X,王芳,1985-01-01,13800000011,middle",
                    "Y,李娜,1986-01-01,13800000011,middle",
                    "Z,赵敏,1990-01-01,13800000013,middle",
                    "W,孙悦,1996-01-01,13800000031,low"],
    "policies.csv": ["policy_id,holder_id,category,annual_premium,sum_insured,start_date,status,"
                     "servicing_agent_id",
                     "PX,X,accident,500,100000,2025-01-01,in_force,A1",
                     "PY,Y,life,5000,100000,2026-03-05,in_force,A2",
                     "PZ,Z,life,8000,100000,2026-03-08,in_force,A1",
                     "PW,W,life,3000,100000,2026-03-10,in_force,A2"],
    "relationships.csv": ["src_id,dst_id,type,kind,start_date",
                          "X,Y,REFERRED,,2026-01-01", "X,Z,REFERRED,,2026-01-02",
                          "Z,W,REFERRED,,2026-02-01", "A2,W,SERVES,,2026-03-10",
                          "A1,X,SERVES,,2025-01-01", "A1,Z,SERVES,,2026-03-08",
                          "A2,Y,SERVES,,2026-03-05"],
}


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    for name, lines in FILES.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = tmp_path / "crm.db"
    with SQLiteStore(path) as s:
        report = ingest_paths([folder], s)
        assert s.aliases() == {}
        warm_graph(s)  # as `graphcrm ingest` does: the basis and the latest month's ledger
    assert len(report.rejects) == 0
    add_user(path)
    add_user(path, "lu", AGENT_PW, "agent", agent_id="A1")
    monkeypatch.setenv("GRAPHCRM_STORE", str(path))
    return path


def cli_ledger(path: Path, *extra: str) -> dict[str, list[dict[str, object]]]:
    result = CliRunner().invoke(main, ["rewards", "--period", PERIOD, "--store", str(path),
                                       "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def page_tables(at: object) -> dict[str, pd.DataFrame]:
    """The ledger and exclusions tables of the page (AppTest keeps no table keys: found by
    their columns)."""
    frames = [d.value for d in at.dataframe]  # type: ignore[attr-defined]
    lines = [f for f in frames if t("col_status", "en") in f.columns]
    ex = [f for f in frames if t("col_referrer", "en") in f.columns]
    assert len(lines) == 1 and len(ex) == 1, [list(f.columns) for f in frames]
    return {"rewards_lines": lines[0], "rewards_exclusions": ex[0]}


def test_an_agent_sees_the_company_ledger_rows_of_their_own_clients(store: Path) -> None:
    cli = cli_ledger(store)
    assert {(r["referrer_id"], r["referee_id"], r["code"]) for r in cli["exclusions"]} == {
        ("X", "Y", "shared_identity")}
    mine = [r for r in cli["lines"] if r["earner_id"] in ("X", "Z")]
    # no PY:1 for X: X is Y
    assert {r["line_id"] for r in mine} == {"PZ:0", "PZ:1", "PW:1", "PW:2"}
    at = run_app("page_rewards", "en", "lu", AGENT_PW)
    at.selectbox(key="rewards_period").set_value(PERIOD).run()
    no_errors(at)
    tables = page_tables(at)
    lines = tables["rewards_lines"]
    assert sorted(zip(lines[t("col_policy", "en")], lines[t("col_points", "en")],
                      strict=True)) == sorted((r["source_policy_id"], r["points"]) for r in mine)
    ex = tables["rewards_exclusions"]
    assert list(ex[t("col_reasons", "en")]) == [code("exclusion", "shared_identity", "en")]
    assert list(ex[t("col_referrer", "en")]) == ["王芳 (X)"]


def test_a_settled_period_shows_as_settled_on_the_next_visit(store: Path) -> None:
    at = run_app("page_rewards", "en")
    at.selectbox(key="rewards_period").set_value(PERIOD).run()
    no_errors(at)
    before = page_tables(at)["rewards_lines"]
    assert set(before[t("col_status", "en")]) == {code("line_status", "paid", "en")}
    with SQLiteStore(store, create=False) as s:
        version = s.data_version()
    assert cli_ledger(store, "--settle")["settled"] == len(before) == 6
    with SQLiteStore(store, create=False) as s:  # what keeps a cached ledger from showing
        assert s.data_version() == version + 1
    at = run_app("page_rewards", "en")
    at.selectbox(key="rewards_period").set_value(PERIOD).run()
    no_errors(at)
    after = page_tables(at)["rewards_lines"]
    assert len(after) == len(before)
    assert set(after[t("col_status", "en")]) == {code("line_status", "already_settled", "en")}
    assert after[t("col_points", "en")].sum() == 0


def test_the_page_lists_the_rows_with_most_points_and_says_so(
        store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``[app] rewards_rows``: each table and the drill-down list only that many rows, most
    points first, with a line saying how many there are (the CSV download has them all)."""
    config = tmp_path / "crm.toml"
    config.write_text("[app]\nrewards_rows = 2\n", encoding="utf-8")
    monkeypatch.setenv("GRAPHCRM_CONFIG", str(config))
    lines = pd.DataFrame(cli_ledger(store)["lines"])
    assert len(lines) == 6
    top = lines.sort_values("points", ascending=False, kind="stable").head(2)
    at = run_app("page_rewards", "en")
    at.selectbox(key="rewards_period").set_value(PERIOD).run()
    no_errors(at)
    shown = page_tables(at)["rewards_lines"]
    assert list(shown[t("col_policy", "en")]) == list(top["source_policy_id"]) == ["PZ", "PY"]
    totals = next(d.value for d in at.dataframe
                  if t("col_own_points", "en") in d.value.columns)
    assert list(totals[t("col_name", "en")]) == ["赵敏 (Z)", "李娜 (Y)"]  # 83 and 50 points
    captions = [c.value for c in at.caption]
    assert t("rewards_top_rows", "en", n="2", total="6") in captions  # ledger lines
    assert t("rewards_top_rows", "en", n="2", total="4") in captions  # earners' totals
    assert t("rewards_top_drill", "en", n="2", total="4") in captions
    # the drill-down: the two earners of referral lines (X 8 points, Z 3 points)
    assert at.selectbox(key="rewards_drill").options == ["王芳 (X)", "赵敏 (Z)"]
    # both chains fit: no line about chains
    assert t("rewards_top_rows", "en", n="2", total="2") not in captions


def test_chains_limited_are_the_first_rows_of_all_chains(store: Path) -> None:
    from graphcrm.app.rewards import chains
    from graphcrm.metrics.rewards import graph_ledger
    from graphcrm.workspace import load_graph

    with SQLiteStore(store, create=False) as s:
        ag = load_graph(s)
        lines = graph_ledger(ag, PERIOD, s.aliases()).lines
    every = chains(ag, lines, "en")
    assert len(every) == 2
    for limit in (1, 2, 5):
        pd.testing.assert_frame_equal(chains(ag, lines, "en", limit=limit),
                                      every.head(limit).reset_index(drop=True))
