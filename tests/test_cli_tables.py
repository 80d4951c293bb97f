"""``graphcrm gaps`` and ``graphcrm rewards`` end to end: CSV files -> ingest -> real SQLite
store -> the commands through click's CliRunner. Expected values are worked out by hand."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphcrm.cli import main
from graphcrm.ingest.job import ingest_paths
from graphcrm.store.sqlite import SQLiteStore

FILES = {
    "agents.csv": [
        "agent_id,name,hire_date,status",
        "A1,陆帆,2020-01-01,active",
        "A2,裴建华,2021-01-01,active",
    ],
    "clients.csv": [
        "client_id,name,birth_date,phone,income_band",
        "R1,王芳,1985-01-01,13800000011,middle",
        "R2,李四,1986-01-01,13800000012,middle",
        "N,赵敏,1990-01-01,13800000013,middle",
        "P1,张三,1980-01-01,13800000021,middle",
        # same phone, another name: a family's shared number, not merged (a merge candidate);
        # the reward ledger still refuses P1's referral of P2 (shared identity)
        "P2,张三丰,1980-01-01,13800000021,middle",
        "G,孙悦,1996-01-01,13800000031,low",
    ],
    "policies.csv": [
        "policy_id,holder_id,category,annual_premium,sum_insured,start_date,status,"
        "servicing_agent_id",
        "PR1,R1,accident,500,100000,2025-01-01,in_force,A1",
        "PN,N,life,10000,100000,2026-03-05,in_force,A1",
        "PP2,P2,accident,3000,100000,2026-03-11,in_force,A1",
        "PGa,G,accident,800,100000,2024-01-01,in_force,A1",
        "PGb,G,critical_illness,2000,250000,2024-01-01,in_force,A1",
    ],
    "relationships.csv": [
        "src_id,dst_id,type,kind,start_date",
        "R1,R2,REFERRED,,2025-06-01",
        "R2,N,REFERRED,,2026-02-01",
        "P1,P2,REFERRED,,2026-01-01",  # shared phone: excluded from the ledger
        "A1,N,SERVES,,2026-03-05",
        "A1,G,SERVES,,2024-01-01",
        "A1,R1,SERVES,,2025-01-01",
    ],
}


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("files")
    for name, lines in FILES.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = tmp_path_factory.mktemp("store") / "crm.db"
    with SQLiteStore(path) as store:
        report = ingest_paths([folder], store)
        assert store.aliases() == {}
    assert len(report.rejects) == 0
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_rewards_json_lines_by_hand(store_path: Path) -> None:
    code, out, err = run("rewards", "--period", "2026-03", "--store", str(store_path), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"period", "note", "lines", "totals", "exclusions", "settled"}
    assert data["settled"] == 0  # without --settle nothing is stored
    assert data["period"] == "2026-03" and "never cash" in data["note"]
    got = {(ln["line_id"], ln["earner_id"], ln["level"], ln["points"], ln["status"])
           for ln in data["lines"]}
    assert got == {
        ("PN:0", "N", 0, 100.0, "paid"),     # 10,000 × 0.01
        ("PN:1", "R2", 1, 10.0, "paid"),     # 10% of 100
        ("PN:2", "R1", 2, 5.0, "paid"),      # 5% of 100
        ("PP2:0", "P2", 0, 30.0, "paid"),    # P2's own policy; P1 earns nothing for it
    }
    assert set(data["lines"][0]) == {"line_id", "period", "earner_id", "source_policy_id",
                                      "referee_id", "level", "base_points", "share", "points",
                                      "capped", "status", "reason"}
    assert set(data["totals"][0]) == {"earner_id", "period", "own_points", "referral_points",
                                       "points", "lines", "capped_lines"}
    assert [(e["referrer_id"], e["referee_id"], e["reason"]) for e in data["exclusions"]] == [
        ("P1", "P2", "shared identity: referrer P1 and referee P2 have the same phone "
         "13800000021")]


def test_rewards_out_csv_is_utf8_sig_and_identical_on_rerun(store_path: Path,
                                                            tmp_path: Path) -> None:
    first, second = tmp_path / "ledger-1.csv", tmp_path / "ledger-2.csv"
    for path in (first, second):
        code, out, err = run("rewards", "--period", "2026-03", "--store", str(store_path),
                             "--out", str(path))
        assert code == 0, err
        assert f"ledger written to {path}" in out
    raw = first.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw == second.read_bytes()
    with first.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["line_id"] for r in rows] == ["PN:0", "PN:1", "PN:2", "PP2:0"]
    assert rows[2]["reason"] == ("level-2 referral: chain R1 → R2 → N; N referred by R2 on "
                                 "2026-02-01; first policy PN started 2026-03-05; 5% of "
                                 "100.00 points")
    # given as paid to a later period nothing in March is paid again (no March policies there)
    code, out, err = run("rewards", "--period", "2026-04", "--store", str(store_path),
                         "--paid", str(first), "--json")
    assert code == 0, err
    assert json.loads(out)["lines"] == []


def test_rewards_table_output(store_path: Path) -> None:
    code, out, _ = run("rewards", "--period", "2026-03", "--store", str(store_path))
    assert code == 0
    assert out.splitlines()[0] == ("reward ledger 2026-03: 4 lines, 145.00 points to 4 clients,"
                                   " 1 referrals excluded")


@pytest.mark.parametrize("period", ["2026-13", "2026-3", "march", "2026-00"])
def test_rewards_bad_period_is_one_line_error(store_path: Path, period: str) -> None:
    code, out, err = run("rewards", "--period", period, "--store", str(store_path))
    assert code == 1 and out == ""
    assert err == f"error: period '{period}' is not YYYY-MM with a month 01-12 (e.g. 2026-03)\n"


def test_rewards_bad_paid_file_is_one_line_error(store_path: Path, tmp_path: Path) -> None:
    code, _, err = run("rewards", "--period", "2026-03", "--store", str(store_path),
                       "--paid", str(tmp_path / "none.csv"))
    assert code == 1
    assert err == f"error: paid ledger not found: {tmp_path / 'none.csv'}\n"


def test_missing_store_is_one_line_error(tmp_path: Path) -> None:
    code, _, err = run("rewards", "--period", "2026-03", "--store", str(tmp_path / "no.db"))
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1


def test_gaps_client_json(store_path: Path) -> None:
    code, out, err = run("gaps", "--client", "G", "--store", str(store_path), "--as-of",
                         "2026-06-30", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"client_id", "as_of", "clients"}
    assert (data["client_id"], data["as_of"]) == ("G", "2026-06-30")
    (g,) = data["clients"]
    assert set(g) == {"client_id", "name", "life_stage", "stage_then", "stage_reason", "needs",
                      "held", "missing", "finding", "finding_code", "finding_text",
                      "protection_sum", "total_sum", "recommended_sum", "reasons"}
    # single, low income: accident + critical illness cover the core needs, 350k >= 300k
    assert (g["name"], g["life_stage"], g["stage_then"]) == ("孙悦", "single", "single")
    assert (g["finding"], g["finding_code"]) == (2, "fits_unchanged")
    assert g["finding_text"] == "cover fits and needs are unchanged"
    assert g["held"] == ["accident", "critical_illness"]
    assert g["missing"] == ["parents_medical", "pension"]
    assert (g["protection_sum"], g["recommended_sum"]) == (350_000, 300_000)


def test_gaps_default_as_of_is_the_latest_date_in_the_data(store_path: Path) -> None:
    code, out, _ = run("gaps", "--client", "G", "--store", str(store_path), "--json")
    assert code == 0 and json.loads(out)["as_of"] == "2026-03-11"  # PP2's start date


def test_gaps_agent_book_report(store_path: Path) -> None:
    code, out, err = run("gaps", "--agent", "A1", "--store", str(store_path), "--as-of",
                         "2026-06-30", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"agent_id", "as_of", "clients", "summary", "summary_by_finding"}
    # SERVES ties (N, G, R1) plus holders whose policies A1 services (P2, not merged into P1)
    assert [c["client_id"] for c in data["clients"]] == ["G", "N", "P2", "R1"]
    by_id = {c["client_id"]: c["finding"] for c in data["clients"]}
    # N: single with life 100k (not a single's core need), small -> 3; P2: accident only,
    # 100k < 750k -> 3; R1: accident 100k, critical illness missing -> 3
    assert by_id == {"G": 2, "N": 3, "P2": 3, "R1": 3}
    assert data["summary"] == {"fits_unchanged": 1, "wrong_products": 3}
    assert data["summary_by_finding"] == {"2": 1, "3": 3}
    code, out, _ = run("gaps", "--agent", "A1", "--store", str(store_path), "--as-of",
                       "2026-06-30")
    assert code == 0
    assert out.splitlines()[0] == "agent A1: 4 clients as of 2026-06-30"


def test_gaps_agent_without_clients(store_path: Path) -> None:
    code, out, _ = run("gaps", "--agent", "A2", "--store", str(store_path), "--as-of",
                       "2026-06-30")
    assert code == 0 and out == "agent A2 serves no clients as of 2026-06-30\n"


@pytest.mark.parametrize(("args", "message"), [
    (["--client", "NOPE"], "error: no client with the id or name 'NOPE'\n"),
    (["--agent", "NOPE"], "error: no agent with the id or name 'NOPE'\n"),
    ([], "error: give exactly one of --client ID or --agent AGENT\n"),
    (["--client", "G", "--agent", "A1"],
     "error: give exactly one of --client ID or --agent AGENT\n"),
])
def test_gaps_errors_are_one_line(store_path: Path, args: list[str], message: str) -> None:
    code, out, err = run("gaps", *args, "--store", str(store_path))
    assert code == 1 and out == ""
    assert err == message.format(store=store_path)


def test_json_keys_are_documented(store_path: Path) -> None:
    from .conftest import ROOT

    docs = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    section = docs[docs.index("## Commands and their `--json` keys"):]
    _, out, _ = run("rewards", "--period", "2026-03", "--store", str(store_path), "--json")
    data = json.loads(out)
    keys = set(data) | set(data["lines"][0]) | set(data["totals"][0])
    _, out, _ = run("gaps", "--agent", "A1", "--store", str(store_path), "--json")
    data = json.loads(out)
    keys |= set(data) | set(data["clients"][0]) | set(data["clients"][0]["reasons"][0])
    keys |= {"referrer_id", "referee_id", "referral_date", "code", "reason"}  # exclusions
    undocumented = sorted(k for k in keys if not re.search(rf"(?<![\w-]){k}(?![\w-])", section))
    assert undocumented == []


def test_rewards_settle_stores_the_ledger_once(tmp_path: Path, store_path: Path) -> None:
    import shutil

    db = tmp_path / "crm.db"
    shutil.copy(store_path, db)
    code, out, err = run("rewards", "--period", "2026-03", "--store", str(db), "--settle",
                         "--lang", "en")
    assert code == 0, err
    assert "settled: 4 lines stored" in out
    with SQLiteStore(db, create=False) as s:
        stored = s.journal("reward_settled")
    assert sorted((r["line_id"], r["earner_id"], r["points"]) for r in stored) == [
        ("PN:0", "N", 100.0), ("PN:1", "R2", 10.0), ("PN:2", "R1", 5.0), ("PP2:0", "P2", 30.0)]
    assert all(r["period"] == "2026-03" and r["recorded_at"] for r in stored)
    # any later run: already settled, 0 points, and settling again stores nothing
    code, out, err = run("rewards", "--period", "2026-03", "--store", str(db), "--settle",
                         "--json")
    data = json.loads(out)
    assert data["settled"] == 0
    assert {ln["status"] for ln in data["lines"]} == {"already_settled"}
    assert sum(ln["points"] for ln in data["lines"]) == 0
