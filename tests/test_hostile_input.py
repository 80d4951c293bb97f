"""Messy and hostile input (issue 14): never a traceback, one defect costs one row, no silent
wrong accept. Every file here is a real file on disk read by the real readers and CLI."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from graphcrm.cli import main
from graphcrm.config import IngestSettings
from graphcrm.ingest.job import ingest_paths
from graphcrm.ingest.readers import read_file
from graphcrm.ingest.validate import KnownIds, validate
from graphcrm.model import TABLES, Label
from graphcrm.store.sqlite import SQLiteStore
from tests.hostile import write_xlsx, xlsx_truncated_sheet, xlsx_without_sheets

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
AGENTS = (SAMPLE / "agents.csv").read_text(encoding="utf-8")
ORGS = (SAMPLE / "organizations.csv").read_text(encoding="utf-8")


def _ingest(*args: str) -> object:
    return CliRunner().invoke(main, ["ingest", *args, "--no-warm"])


def _rejects(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _count(db: Path, label: str) -> int:
    with SQLiteStore(db, create=False) as store:
        return store.counts().get(label, 0)


def test_old_mac_line_endings_are_line_ends(tmp_path: Path) -> None:
    (tmp_path / "agents.csv").write_bytes(AGENTS.replace("\n", "\r").encode())
    res = _ingest(str(tmp_path / "agents.csv"), "--store", str(tmp_path / "a.db"))
    assert res.exit_code == 0, res.output
    assert _count(tmp_path / "a.db", "Agent") == AGENTS.count("\n") - 1


@pytest.mark.parametrize(("make", "fragment"), [
    (lambda src, dst: dst.write_bytes(b"PK\x03\x04 not really a zip"), "not an Excel workbook"),
    (lambda src, dst: dst.write_text("agent_id,name\n", encoding="utf-8"),
     "not an Excel workbook"),
    (xlsx_without_sheets, "cannot read as XLSX"),
    (xlsx_truncated_sheet, "cannot read as XLSX: damaged worksheet"),
])
def test_broken_xlsx_is_one_line_and_the_job_goes_on(tmp_path: Path, make: object,
                                                     fragment: str) -> None:
    rows = [line.split(",") for line in AGENTS.splitlines()]
    good = write_xlsx(tmp_path / "good.xlsx", rows)
    inputs = tmp_path / "in"
    inputs.mkdir()
    make(good, inputs / "agents.xlsx")  # type: ignore[operator]
    (inputs / "organizations.csv").write_text(ORGS, encoding="utf-8")
    db = tmp_path / "x.db"
    res = CliRunner().invoke(main, ["ingest", str(inputs), "--store", str(db), "--no-warm",
                                    "--json"])
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    out = json.loads(res.stdout)
    errors = out["errors"]
    assert len(errors) == 1 and errors[0].startswith("agents.xlsx: ") and fragment in errors[0]
    assert "\n" not in errors[0]
    assert _count(db, "Organization") == ORGS.count("\n") - 1


def _bad_rows_input(tmp_path: Path) -> Path:
    p = tmp_path / "agents.csv"
    p.write_text(AGENTS + "A999999,坏行,T,B,R,not-a-date,active,,,13800000000\n",
                 encoding="utf-8")
    return p


@pytest.mark.parametrize("where", ["folder", "read-only folder", "read-only cwd"])
def test_unwritable_rejects_path_fails_before_any_row_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    src = _bad_rows_input(tmp_path)
    db = tmp_path / "r.db"
    if where == "folder":
        rejects = str(tmp_path)
    elif where == "read-only folder":
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        rejects = str(ro / "rejects.csv")
        if os.access(ro, os.W_OK):  # root writes anyway: use a folder nobody may write to
            rejects = "/sys/rejects.csv"
    else:
        monkeypatch.chdir("/sys" if os.geteuid() == 0 else "/")
        rejects = "rejects.csv"
    res = _ingest(str(src), "--store", str(db), "--rejects", rejects)
    assert res.exit_code == 1, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: rejects file "), res.stderr
    assert not db.exists() or _count(db, "Agent") == 0


def test_read_only_rejects_file(tmp_path: Path) -> None:
    src = _bad_rows_input(tmp_path)
    target = tmp_path / "rejects.csv"
    target.write_text("", encoding="utf-8")
    target.chmod(0o400)
    if os.access(target, os.W_OK):
        target = Path("/proc/version")  # root: a file even root cannot write
    res = _ingest(str(src), "--store", str(tmp_path / "r.db"), "--rejects", str(target))
    assert res.exit_code == 1
    assert res.stderr.strip().startswith(f"error: rejects file {target}: cannot write")


# -- one defect costs one row ------------------------------------------------------------------
GOOD_ROW = "A777,王五,T,B,R,2020-01-01,active,,,13800000000"
_LINES = AGENTS.encode().split(b"\n")


def _with_row(row: bytes) -> bytes:
    return b"\n".join([*_LINES[:3], row, *_LINES[3:]])


ONE_BAD_ROW = {
    # name: (file bytes, rejected row, column, reason fragment)
    "GBK row in a UTF-8 file": (_with_row("A777,坏人,T,B,R,2020-01-01,active,,,13800000000"
                                          .encode("gbk")), 4, "name", "not UTF-8 text"),
    "Latin-1 row": (_with_row(GOOD_ROW.replace("王五", "José").encode("latin-1")), 4, "name",
                    "not UTF-8 text"),
    "junk line": (_with_row(bytes(range(0x80, 0xC0))), 4, "agent_id", "not UTF-8 text"),
    "extra fields": (_with_row((GOOD_ROW + ",x,y").encode()), 4, "field 11", "extra fields"),
    "missing fields": (_with_row("A777,王五,T,B".encode()), 4, "region", "missing fields"),
    "stray quote": (_with_row(GOOD_ROW.replace(",王五", ',"王五').encode()), 4, "team",
                    "missing fields"),
    "huge field": (_with_row(GOOD_ROW.replace("王五", "x" * 70_000).encode()), 4, "name",
                   "longer than 65,536 bytes"),
    "cut mid-character": (AGENTS.encode().rstrip(b"\n") + "张".encode()[:2], 15, "phone",
                          "not UTF-8 text"),
    "cut mid-row": (AGENTS.encode()[:-30], 15, "status", "missing fields"),
    "cut in the last field": (AGENTS.encode()[:-4], 15, "phone", "the file ends inside this row"),
}


@pytest.mark.parametrize("case", list(ONE_BAD_ROW))
def test_one_defect_costs_one_row(tmp_path: Path, case: str) -> None:
    data, row, column, reason = ONE_BAD_ROW[case]
    src = tmp_path / "agents.csv"
    src.write_bytes(data)
    db, rejects = tmp_path / "a.db", tmp_path / "rejects.csv"
    res = _ingest(str(src), "--store", str(db), "--rejects", str(rejects))
    assert res.exit_code == 0, res.output
    good_rows = AGENTS.count("\n") - 1 - (1 if row == 15 else 0)
    assert _count(db, "Agent") == good_rows
    got = _rejects(rejects)
    assert len(got) == 1, got
    assert (int(got[0]["row"]), got[0]["column"]) == (row, column)
    assert reason in got[0]["reason"]


def test_twenty_thousand_rows_survive_one_cut_character(tmp_path: Path) -> None:
    lines = ["org_id,name,industry,city"] + [f"O{i:06d},机构{i},制造,北京" for i in range(20_001)]
    data = ("\n".join(lines)).encode()[:-1]  # the last row ends in half of 京
    (tmp_path / "organizations.csv").write_bytes(data)
    db, rejects = tmp_path / "o.db", tmp_path / "rejects.csv"
    res = _ingest(str(tmp_path / "organizations.csv"), "--store", str(db), "--rejects",
                  str(rejects))
    assert res.exit_code == 0, res.output
    assert _count(db, "Organization") == 20_000
    assert [int(r["row"]) for r in _rejects(rejects)] == [20_002]


# -- encodings -------------------------------------------------------------------------------
TRAD = [("O1", "臺北國際貿易有限公司"), ("O2", "香港聯合銀行"), ("O3", "高雄鋼鐵廠"),
        ("O4", "新竹電子科技"), ("O5", "臺中農會"), ("O6", "澳門觀光飯店")]


@pytest.mark.parametrize("encoding", ["big5", "gb18030", "gbk", "utf-16", "utf-8-sig"])
def test_encodings_are_detected_and_stored_right(tmp_path: Path, encoding: str) -> None:
    text = "org_id,name\n" + "".join(f"{i},{n}\n" for i, n in TRAD * 5)
    (tmp_path / "organizations.csv").write_bytes(text.encode(encoding))
    db = tmp_path / "e.db"
    res = _ingest(str(tmp_path / "organizations.csv"), "--store", str(db))
    assert res.exit_code == 0, res.output
    with SQLiteStore(db, create=False) as store:
        names = dict(store.nodes(Label.ORGANIZATION)[["org_id", "name"]]
                     .itertuples(index=False))
    assert names == dict(TRAD)


def test_a_doubtful_encoding_is_refused_with_the_candidates(tmp_path: Path) -> None:
    (tmp_path / "organizations.csv").write_bytes(b"org_id,name\nO1,\xa4\xa4\nO2,\xb0\xea\n")
    res = _ingest(str(tmp_path / "organizations.csv"), "--store", str(tmp_path / "d.db"))
    assert res.exit_code == 1
    line = res.stderr.strip()
    assert "cannot tell the encoding" in line and "big5" in line and "gb18030" in line


# -- text cleaning ---------------------------------------------------------------------------
def test_invisible_characters_make_no_look_alike_ids(tmp_path: Path) -> None:
    text = ("client_id,name,phone,id_number,birth_date\n"
            "C1,张三,13800138000,,1990-01-02\n"
            "C\u200b2,\ufeff李四\u200d,１３８\u00a00013\u00a08001,,１９９０－０１－０３\n"
            "C\x003,王五,+86 138-0013-8002,11010519491231002ｘ,1990/1/4\n")
    (tmp_path / "clients.csv").write_text(text, encoding="utf-8")
    db = tmp_path / "c.db"
    res = _ingest(str(tmp_path / "clients.csv"), "--store", str(db))
    assert res.exit_code == 0, res.output
    with SQLiteStore(db, create=False) as store:
        got = store.nodes(Label.CLIENT).set_index("client_id")
    assert sorted(got.index) == ["C1", "C2", "C3"]
    assert got.loc["C2", "name"] == "李四"
    assert got.loc["C2", "phone"] == "13800138001"
    assert got.loc["C2", "birth_date"] == "1990-01-03"
    assert got.loc["C3", "id_number"] == "11010519491231002X"


# -- plausibility ----------------------------------------------------------------------------
def _check(table_name: str, text: str) -> list[tuple[int, str, str]]:
    table = next(t for t in TABLES if t.name == table_name)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"{table_name}.csv"
        p.write_text(text, encoding="utf-8")
        raw = read_file(p, table)
    known = KnownIds(None, ask_store=False)
    known.add(np.array(["A1", "A2"], dtype=object), Label.AGENT)
    known.add(np.array(["C1"], dtype=object), Label.CLIENT)
    v = validate(raw.columns, raw.rows, table, file="f", settings=IngestSettings(),
                 known=known, aliases={}, today=dt.date(2026, 6, 1))
    return [(int(r.row), r.column, r.reason) for r in v.rejects.itertuples()]


def test_plausibility_rules() -> None:
    assert _check("clients", "client_id,name,birth_date\nC1,a,2026-06-02\nC2,b,1899-12-31\n"
                  "C3,c,2026-06-01\nC4,d,1900-01-01\n") == [
        (2, "birth_date", "birth date after today"),
        (3, "birth_date", "date before 1900 or after 2100")]
    assert _check("agents", "agent_id,name,hire_date,status,departure_date,supervisor_id\n"
                  "B1,a,2026-07-01,active,,\n"
                  "B2,b,2020-01-01,departed,2019-12-31,\n"
                  "B3,c,2020-01-01,active,,B3\n"
                  "B4,d,2020-01-01,active,,B5\n"
                  "B5,e,2020-01-01,active,,B6\n"
                  "B6,f,2020-01-01,active,,B4\n"
                  "B7,g,2020-01-01,active,,B4\n") == [
        (2, "hire_date", "hire date after today"),
        (3, "departure_date", "departure before hire"),
        (4, "supervisor_id", "agent supervises themself"),
        (5, "supervisor_id", "supervisor cycle: B4 -> B5 -> B6 -> B4"),
        (6, "supervisor_id", "supervisor cycle: B4 -> B5 -> B6 -> B4"),
        (7, "supervisor_id", "supervisor cycle: B4 -> B5 -> B6 -> B4"),
        (8, "supervisor_id", "unknown Agent id")]
    assert _check("interactions", "agent_id,client_id,type,date\nA1,C1,call,2026-06-02\n"
                  "A1,C1,call,2026-06-01\n") == [(2, "date", "interaction date after today")]
    assert _check("policies", "policy_id,holder_id,category,annual_premium,start_date,status\n"
                  "P1,C1,accident,100,2027-06-03,in_force\n"
                  "P2,C1,accident,100,2027-06-02,in_force\n") == [
        (2, "start_date", "policy starts more than 366 days after today")]


_AGENTS_HEAD = "agent_id,name,hire_date,status,departure_date,supervisor_id\n"


def _agent_rows(*pairs: tuple[str, str]) -> str:
    return _AGENTS_HEAD + "".join(f"{a},n{a},2020-01-01,active,,{b}\n" for a, b in pairs)


def _supervisors(store: SQLiteStore) -> dict[str, str | None]:
    agents = store.nodes(Label.AGENT, ["agent_id", "supervisor_id"])
    return {a: b if isinstance(b, str) else None
            for a, b in zip(agents["agent_id"], agents["supervisor_id"], strict=True)}


def test_supervisor_cycle_across_files_of_one_job(tmp_path: Path) -> None:
    """A circle closed by a second agents file of the same job: as within one file, each of
    this file's agents on the circle is rejected with the circle named (and an agent whose
    supervisor was rejected with them); the first file's rows are kept."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "agents_1.csv").write_text(_agent_rows(("Z1", ""), ("Z2", "Z1")))
    (tmp_path / "a" / "agents_2.csv").write_text(_agent_rows(("Z3", "Z2"), ("Z1", "Z3"),
                                                             ("Z4", "Z3")))
    with SQLiteStore(tmp_path / "crm.db") as store:
        report = ingest_paths([tmp_path / "a" / "agents_1.csv", tmp_path / "a" / "agents_2.csv"],
                              store)
        boss = _supervisors(store)
    assert [(r.file, r.row, r.column, r.reason) for r in report.rejects.itertuples()] == [
        ("agents_2.csv", 2, "supervisor_id", "supervisor cycle: Z3 -> Z2 -> Z1 -> Z3"),
        ("agents_2.csv", 3, "supervisor_id", "supervisor cycle: Z3 -> Z2 -> Z1 -> Z3"),
        ("agents_2.csv", 4, "supervisor_id", "unknown Agent id")]
    assert boss == {"Z1": None, "Z2": "Z1"}  # the first file's rows stand, the circle does not


def test_supervisor_cycle_through_stored_agents(tmp_path: Path) -> None:
    """A circle closed by a later job through agents already in the store."""
    db = tmp_path / "crm.db"
    (tmp_path / "first.csv").write_text(_agent_rows(("Y1", ""), ("Y2", "Y1"), ("Y3", "Y2")))
    (tmp_path / "agents.csv").write_text(_agent_rows(("Y1", "Y3"), ("Y5", "Y1")))
    first = tmp_path / "first"
    first.mkdir()
    (tmp_path / "first.csv").rename(first / "agents.csv")
    with SQLiteStore(db) as store:
        ingest_paths([first], store)
    with SQLiteStore(db, create=False) as store:
        report = ingest_paths([tmp_path / "agents.csv"], store)
        boss = _supervisors(store)
    assert [(r.row, r.column, r.reason) for r in report.rejects.itertuples()] == [
        (2, "supervisor_id", "supervisor cycle: Y1 -> Y3 -> Y2 -> Y1")]
    assert boss["Y1"] is None and boss["Y5"] == "Y1"  # the good row of the same file is kept


def test_an_older_store_gains_a_column_added_to_a_template(tmp_path: Path) -> None:
    """A store written before a template gained a column (relationships.approved_by) gets
    the column at its next open, and a tie with the new column can be written."""
    import sqlite3

    import pandas as pd

    from graphcrm.model import AGENTS, CLIENTS, RELATIONSHIPS

    db = tmp_path / "old.db"
    SQLiteStore(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE relationships DROP COLUMN approved_by")
        cols = {r[1] for r in conn.execute("PRAGMA table_info(relationships)")}
    assert "approved_by" not in cols
    with SQLiteStore(db, create=False) as store:
        with store.transaction():
            agent = dict.fromkeys(AGENTS.column_names)
            agent.update(agent_id="A1", name="a", hire_date="2020-01-01", status="active")
            store.upsert(AGENTS, pd.DataFrame([agent]))
            client = dict.fromkeys(CLIENTS.column_names)
            client.update(client_id="C1", name="c")
            store.upsert(CLIENTS, pd.DataFrame([client]))
            row = dict.fromkeys(RELATIONSHIPS.column_names)
            row.update(src_id="A1", dst_id="C1", type="SERVES", approved_by="M1")
            store.upsert(RELATIONSHIPS, pd.DataFrame([row]))
        got = store.relationships(["SERVES"])
    assert got["approved_by"].tolist() == ["M1"]
