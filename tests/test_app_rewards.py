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
                    "Z,赵敏,1990-01-01,13800000013,middle"],
    "policies.csv": ["policy_id,holder_id,category,annual_premium,sum_insured,start_date,status,"
                     "servicing_agent_id",
                     "PX,X,accident,500,100000,2025-01-01,in_force,A1",
                     "PY,Y,life,5000,100000,2026-03-05,in_force,A2",
                     "PZ,Z,life,8000,100000,2026-03-08,in_force,A1"],
    "relationships.csv": ["src_id,dst_id,type,kind,start_date",
                          "X,Y,REFERRED,,2026-01-01", "X,Z,REFERRED,,2026-01-02",
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
    assert {r["line_id"] for r in mine} == {"PZ:0", "PZ:1"}  # no PY:1 for X: X is Y
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
    assert cli_ledger(store, "--settle")["settled"] == 3
    with SQLiteStore(store, create=False) as s:  # what keeps a cached ledger from showing
        assert s.data_version() == version + 1
    at = run_app("page_rewards", "en")
    at.selectbox(key="rewards_period").set_value(PERIOD).run()
    no_errors(at)
    after = page_tables(at)["rewards_lines"]
    assert len(after) == len(before) == 3
    assert set(after[t("col_status", "en")]) == {code("line_status", "already_settled", "en")}
    assert after[t("col_points", "en")].sum() == 0
