"""Ingest jobs on real files and a real SQLite store.

The bad-input corpus is ``tests/data/ingest/`` (hand-written CSV files: UTF-8 with BOM and
Chinese headers, GBK/GB18030, ragged rows, an empty file, a file missing a required column) plus
an XLSX file written with openpyxl by the ``corpus`` fixture. Every expected reject, count and
stored value below was written by hand from those files, not taken from the code's output.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from graphcrm.cli import main
from graphcrm.config import Settings
from graphcrm.ingest.job import IngestError, IngestReport, ingest_paths
from graphcrm.ingest.validate import check_id_numbers, normalise_phone
from graphcrm.model import TABLES, InteractionType, Label
from graphcrm.store.sqlite import SQLiteStore

from .conftest import ROOT, SAMPLE_DIR

CORPUS = Path(__file__).parent / "data" / "ingest"
BAD_PHONE = "not a mainland mobile number (11 digits, 1[3-9]...)"
INTERACTION_TYPES = ", ".join(t.value for t in InteractionType)

#: (file, row, column, value, reason) of every problem in the corpus; the header is row 1
EXPECTED_REJECTS = {
    ("agents.csv", 4, "phone", "12345", BAD_PHONE),
    ("agents.csv", 5, "agent_id", "A001", "duplicate id (first at row 2)"),
    ("agents.csv", 7, "supervisor_id", "A999", "unknown Agent id"),
    ("agents.csv", 8, "hire_date", "2022-13-01", "not a date (use YYYY-MM-DD)"),
    ("organizations.csv", 4, "name", "", "required value is blank"),
    ("organizations.csv", 5, "org_id", "A001", "id already used by an Agent"),
    ("clients.csv", 4, "id_number", "440106198505053317",
     "ID number checksum wrong (last character should be 1)"),
    ("clients.csv", 5, "phone", "1380000000", BAD_PHONE),
    ("clients.csv", 6, "field 11", "C005,陈晨,M,1995-06-06,13800000005,,杭州,,,,EXTRA",
     "extra fields: the row has 11 fields, the header 10"),
    ("clients.csv", 8, "client_id", "C001", "duplicate id (first at row 2)"),
    ("clients.csv", 11, "gender", "X", "not one of M, F"),
    ("clients.csv", 14, "id_number", "1234", "ID number must be 18 characters"),
    ("policies.csv", 4, "holder_id", "C999", "unknown Client id"),
    ("policies.csv", 5, "annual_premium", "abc", "not a number"),
    ("policies.csv", 6, "writing_agent_id", "C001", "is a Client, not an Agent"),
    ("policies.csv", 7, "annual_premium", "-5", "below the minimum 0"),
    ("policies.csv", 8, "writing_agent_id", "A003", "unknown Agent id"),
    ("relationships.csv", 4, "dst_id", "C001", "relationship to itself"),
    ("relationships.csv", 5, "dst_id", "C404", "unknown id"),
    ("relationships.csv", 6, "kind", "",
     "RELATIVE_OF needs a kind: spouse, parent, child, sibling, other"),
    ("relationships.csv", 8, "src_id", "C001", "duplicate relationship (first at row 3)"),
    ("relationships.csv", 10, "src_id", "O001",
     "WORKS_AT must start at a Client (O001 is an Organization)"),
    ("relationships.csv", 10, "dst_id", "C001",  # a row can have several problems
     "WORKS_AT must end at an Organization (C001 is a Client)"),
    ("relationships.csv", 12, "kind", "spouse", "FRIEND_OF takes no kind"),
    ("interactions.xlsx", 4, "client_id", "C003", "unknown Client id"),
    ("interactions.xlsx", 5, "type", "dance", f"not one of {INTERACTION_TYPES}"),
    ("interactions.xlsx", 7, "rating", "11", "above the maximum 10"),
}

#: file -> (rows read, accepted, rejected, merged)
EXPECTED_FILES = {
    "agents.csv": (7, 3, 4, 0),  # A001, A002, A004 kept
    "organizations.csv": (4, 2, 2, 0),
    # C008 -> C002 (ID number); C007 shares C001's phone but has another name and birth date:
    # a family's shared number, not the same person (a merge candidate, not a merge)
    "clients.csv": (12, 6, 6, 1),
    "clients_branch2.csv": (3, 3, 0, 2),  # B001 -> C001 (phone+name), B002 -> C002 (ID number)
    "policies.csv": (7, 2, 5, 0),
    "relationships.csv": (11, 5, 6, 0),
    "interactions.xlsx": (6, 3, 3, 0),
}
EXPECTED_ERRORS = {"agents_nohire.csv": "missing required column hire_date (入司日期)",
                   "interactions_empty.csv": "empty file (no header row)"}
EXPECTED_ALIASES = {"C008": "C002", "B001": "C001", "B002": "C002"}


def gb11643_check(first17: str) -> str:
    """The check character of a resident ID number, straight from GB 11643-1999."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


def write_interactions_xlsx(path: Path) -> None:
    """The XLSX member of the corpus: Chinese headers, real date cells, an Excel serial date."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["工号", "客户编号", "互动类型", "日期", "结果", "评价"])
    ws.append(["A001", "C001", "拜访", dt.datetime(2024, 5, 1), "成功", 5])  # row 2
    ws.append(["A002", "C002", "call", "2024-05-02", None, -3])  # row 3
    ws.append(["A001", "C003", "visit", dt.date(2024, 5, 3), None, None])  # row 4: C003 rejected
    ws.append(["A001", "C001", "dance", dt.date(2024, 5, 4), None, None])  # row 5: bad type
    ws.append(["A001", "C001", "call", 45000, None, None])  # row 6: Excel day 45000 = 2023-03-15
    ws.append(["A001", "C001", "call", "2024-05-06", None, 11])  # row 7: rating too high
    ws.append([None, None, None, None, None, None])  # a blank row, skipped
    wb.save(path)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    write_interactions_xlsx(folder / "interactions.xlsx")
    return folder


@pytest.fixture
def corpus_report(corpus: Path, tmp_store: SQLiteStore) -> IngestReport:
    return ingest_paths([corpus], tmp_store, settings=Settings())


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _rejects_set(frame: pd.DataFrame) -> set[tuple[str, int, str, str, str]]:
    return {(r.file, int(r.row), r.column, r.value, r.reason) for r in frame.itertuples()}


# -- the sample ----------------------------------------------------------------------------------
def test_sample_ingests_with_zero_rejects_and_counts_equal_rows(tmp_store: SQLiteStore) -> None:
    report = ingest_paths([SAMPLE_DIR], tmp_store, settings=Settings())
    assert report.rejected == 0 and len(report.rejects) == 0 and not report.errors
    rows = {t.name: _csv_rows(SAMPLE_DIR / f"{t.name}.csv") for t in TABLES}
    counts = tmp_store.counts()
    assert counts["Agent"] == len(rows["agents"])
    assert counts["Organization"] == len(rows["organizations"])
    assert counts["Client"] == len(rows["clients"])
    assert counts["Policy"] == len(rows["policies"])
    assert counts["INTERACTION"] == len(rows["interactions"])
    by_type = Counter(r["type"] for r in rows["relationships"])
    for rel_type, n in by_type.items():
        assert counts[rel_type] == n, rel_type
    assert counts["merged_ids"] == 0
    for f in report.files:
        assert f.rows_read == f.accepted == len(rows[f.table]), f.path
    assert report.data_version_before == 0 and report.data_version_after > 0


# -- the bad-input corpus ------------------------------------------------------------------------
def test_corpus_gets_exactly_the_expected_rejects(corpus_report: IngestReport) -> None:
    got = _rejects_set(corpus_report.rejects)
    assert got == EXPECTED_REJECTS, (sorted(got - EXPECTED_REJECTS),
                                     sorted(EXPECTED_REJECTS - got))
    assert len(corpus_report.rejects) == len(EXPECTED_REJECTS)


def test_corpus_file_counts_and_whole_file_errors(corpus_report: IngestReport) -> None:
    by_name = {Path(f.path).name: f for f in corpus_report.files}
    assert set(by_name) == set(EXPECTED_FILES) | set(EXPECTED_ERRORS)
    for name, (read, accepted, rejected, merged) in EXPECTED_FILES.items():
        f = by_name[name]
        assert (f.rows_read, f.accepted, f.rejected, f.merged) == (read, accepted, rejected,
                                                                   merged), name
        assert f.error is None
    for name, fragment in EXPECTED_ERRORS.items():
        f = by_name[name]
        assert f.error is not None and fragment in f.error, f.error
        assert f.accepted == 0
        # a whole-file error names the headers the template expects
        assert "expected headers: " in f.error
    assert "agent_id/工号 (required)" in by_name["agents_nohire.csv"].error
    assert "hire_date/入司日期 (required)" in by_name["agents_nohire.csv"].error
    assert "interaction_id/互动编号" in by_name["interactions_empty.csv"].error
    assert by_name["agents.csv"].encoding == "utf-8-sig"
    assert by_name["organizations.csv"].encoding == "gb18030"
    assert by_name["clients.csv"].encoding == "utf-8"
    assert by_name["interactions.xlsx"].encoding == "xlsx"
    # the unknown header is reported, not fatal; blank rows are skipped
    assert any("wechat" in w for w in by_name["clients.csv"].warnings)
    assert any("1 blank" in w for w in by_name["clients.csv"].warnings)


def test_corpus_keeps_every_good_row_normalised(corpus_report: IngestReport,
                                                tmp_store: SQLiteStore) -> None:
    agents = tmp_store.nodes(Label.AGENT).set_index("agent_id")
    assert set(agents.index) == {"A001", "A002", "A004"}
    # +86 / 0086 forms with spaces and dashes normalised to 11 digits; Chinese enum values
    assert agents.loc["A001", "phone"] == "13800138000"
    assert agents.loc["A004", "phone"] == "13700137000"
    assert agents.loc["A001", "status"] == "active" and agents.loc["A004", "status"] == "departed"
    assert agents.loc["A002", "hire_date"] == "2018-06-05"
    assert agents.loc["A004", "supervisor_id"] == "A001"

    orgs = tmp_store.nodes(Label.ORGANIZATION).set_index("org_id")
    assert set(orgs.index) == {"O001", "O002"}
    assert orgs.loc["O001", "name"] == "华为技术有限公司"  # GBK decoded
    assert orgs.loc["O002", "city"] == "深圳"

    clients = tmp_store.nodes(Label.CLIENT).set_index("client_id")
    assert set(clients.index) == {"C001", "C002", "C006", "C007", "C010", "B003"}
    assert clients.loc["C001", "phone"] == "13800000001"
    assert clients.loc["C001", "id_number"] == "110105199003071239"
    assert clients.loc["C002", "gender"] == "F" and clients.loc["C002", "income_band"] == "middle"
    assert clients.loc["C010", "id_number"] == "33010620000101038X"  # upper-cased
    assert clients.loc["C006", "city"] == "南京"  # the row with a blank extra field is kept
    assert clients.loc["B003", "name"] == "何静"  # Chinese headers of the second file

    policies = tmp_store.nodes(Label.POLICY).set_index("policy_id")
    assert set(policies.index) == {"P001", "P002"}
    assert policies.loc["P002", "holder_id"] == "C007"  # C007 is not C001 (only a phone shared)
    assert policies.loc["P002", "category"] == "life"
    assert policies.loc["P002", "status"] == "in_force"
    assert policies.loc["P002", "start_date"] == "2024-02-01"
    assert policies.loc["P001", "annual_premium"] == 5000.0

    rels = tmp_store.relationships()
    got = {(r.type, r.src_id, r.dst_id) for r in rels.itertuples()}
    assert got == {("SERVES", "A001", "C001"), ("RELATIVE_OF", "C001", "C002"),
                   ("REFERRED", "C007", "C002"), ("WORKS_AT", "C001", "O001"),
                   ("FRIEND_OF", "C001", "C006")}
    referred = rels[rels["type"] == "REFERRED"].iloc[0]
    assert referred["converted"] == 1 and referred["start_date"] == "2023-05-01"
    assert rels.loc[rels["type"] == "RELATIVE_OF", "kind"].tolist() == ["spouse"]

    inter = tmp_store.interactions()
    got_i = sorted(zip(inter["agent_id"], inter["client_id"], inter["type"], inter["date"],
                       strict=True))
    assert got_i == [("A001", "C001", "call", "2023-03-15"), ("A001", "C001", "visit",
                                                              "2024-05-01"),
                     ("A002", "C002", "call", "2024-05-02")]
    assert sorted(inter["rating"].dropna().astype(int).tolist()) == [-3, 5]
    assert inter["interaction_id"].is_unique


def test_same_person_in_two_files_merges(corpus_report: IngestReport,
                                         tmp_store: SQLiteStore) -> None:
    assert tmp_store.aliases() == EXPECTED_ALIASES
    merges = corpus_report.merges
    got = {(r.alias_id, r.client_id, r.source_file, int(r.source_row), r.reason)
           for r in merges.itertuples()}
    assert got == {
        ("C008", "C002", "clients.csv", 10, "same ID number"),
        ("B001", "C001", "clients_branch2.csv", 2, "same phone and name"),
        ("B002", "C002", "clients_branch2.csv", 3, "same ID number"),
    }
    assert tmp_store.counts()["merged_ids"] == 3
    assert sum(f.merged for f in corpus_report.files) == 3


def test_reingest_is_a_no_op(corpus: Path, tmp_store: SQLiteStore) -> None:
    first = ingest_paths([corpus], tmp_store, settings=Settings())
    counts = tmp_store.counts()
    version = tmp_store.data_version()
    aliases = tmp_store.aliases()
    second = ingest_paths([corpus], tmp_store, settings=Settings())
    assert tmp_store.counts() == counts
    assert tmp_store.data_version() == version == second.data_version_before
    assert second.data_version_after == version
    assert tmp_store.aliases() == aliases
    assert all(f.changed == 0 for f in second.files), second.summary_table()
    assert _rejects_set(second.rejects) == _rejects_set(first.rejects)
    # and the sample on top of it: a real change, then a no-op again
    ingest_paths([SAMPLE_DIR], tmp_store, settings=Settings())
    v2, c2 = tmp_store.data_version(), tmp_store.counts()
    assert v2 > version
    third = ingest_paths([SAMPLE_DIR], tmp_store, settings=Settings())
    assert tmp_store.data_version() == v2 and tmp_store.counts() == c2
    assert third.rejected == 0 and all(f.changed == 0 for f in third.files)


# -- validation reference checks -----------------------------------------------------------------
def test_corpus_id_numbers_are_what_the_corpus_claims() -> None:
    assert gb11643_check("11010519900307123") == "9"
    assert gb11643_check("31010419881120222") == "1"
    assert gb11643_check("44010619850505331") == "1"  # the corpus writes 7
    assert gb11643_check("33010620000101038") == "X"


def test_id_checksum_equals_an_independent_gb11643(tmp_path: Path) -> None:
    rng = random.Random(5)
    texts, expected = [], []
    for _ in range(3000):
        born = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(30000))
        first17 = f"{rng.randrange(110000, 660000)}{born:%Y%m%d}{rng.randrange(1000):03d}"
        good = gb11643_check(first17)
        last = good if rng.random() < 0.5 else rng.choice("0123456789X")
        texts.append(first17 + (last.lower() if rng.random() < 0.1 else last))
        expected.append(last != good)
    _, bad, reasons = check_id_numbers(__import__("pyarrow").array(texts))
    assert bad.tolist() == expected
    for text, is_bad, reason in zip(texts, bad, reasons, strict=True):
        if is_bad:
            assert reason == ("ID number checksum wrong (last character should be "
                              f"{gb11643_check(text[:17])})")


@pytest.mark.parametrize(("text", "expected"), [
    ("13800138000", "13800138000"),
    ("+86 138-0013-8000", "13800138000"),
    ("+8613800138000", "13800138000"),
    ("008613800138000", "13800138000"),
    ("86 138 0013 8000", "13800138000"),
    ("(+86) 139.0013.9000", "13900139000"),
    ("12800138000", None),  # second digit 2
    ("1380013800", None),  # 10 digits
    ("+85213800138000", None),  # Hong Kong prefix
    ("138001380001", None),
])
def test_phone_forms(text: str, expected: str | None) -> None:
    assert normalise_phone(text) == expected


# -- crash in the middle of a file ---------------------------------------------------------------
class _Stop(KeyboardInterrupt):
    pass


class _Crash(RuntimeError):
    pass


@pytest.mark.parametrize(("bulk", "error"), [(True, _Stop), (False, _Stop), (True, _Crash)])
def test_interrupt_mid_file_leaves_no_partial_file(tmp_store: SQLiteStore, bulk: bool,
                                                   error: type[BaseException]) -> None:
    settings = Settings()
    settings.ingest.batch_rows = 500
    settings.ingest.progress_min_rows = 0 if bulk else 10**9  # bulk_transaction or not
    calls: list[tuple[str, int]] = []

    def progress(label: str, done: int, total: int) -> None:
        calls.append((label, done))
        if label == "clients.csv" and done >= 500:
            raise error  # e.g. what Ctrl-C raises, after the first 500 clients were written

    indexes_before = _indexes(tmp_store)
    with pytest.raises(error):
        ingest_paths([SAMPLE_DIR], tmp_store, settings=settings, progress=progress)
    assert ("clients.csv", 500) in calls
    counts = tmp_store.counts()
    assert counts["Client"] == 0
    assert counts["Agent"] == 14 and counts["Organization"] == 60  # earlier files committed
    assert tmp_store.data_version() == 2
    assert _count(tmp_store, "SELECT COUNT(*) FROM nodes WHERE label = 'Client'") == 0
    assert _indexes(tmp_store) == indexes_before  # indexes dropped for the load came back
    # the store is usable and the job completes on a re-run
    ingest_paths([SAMPLE_DIR], tmp_store, settings=settings)
    assert tmp_store.counts()["Client"] == 3000


def _count(store: SQLiteStore, sql: str) -> int:
    con = sqlite3.connect(store.path)
    try:
        return int(con.execute(sql).fetchone()[0])
    finally:
        con.close()


def _indexes(store: SQLiteStore) -> set[str]:
    con = sqlite3.connect(store.path)
    try:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    finally:
        con.close()


def test_sigkill_mid_file_leaves_no_partial_file(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    script = textwrap.dedent(f"""
        import os, signal
        from graphcrm.config import Settings
        from graphcrm.ingest.job import ingest_paths
        from graphcrm.store.sqlite import SQLiteStore

        settings = Settings()
        settings.ingest.batch_rows = 1000
        settings.ingest.progress_min_rows = 0

        def progress(label, done, total):
            if label == "relationships.csv" and done >= 2000:
                os.kill(os.getpid(), signal.SIGKILL)

        ingest_paths([{str(SAMPLE_DIR)!r}], SQLiteStore({str(db)!r}), settings=settings,
                     progress=progress)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == -9, proc.stderr
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT COUNT(*) FROM relationships").fetchone()[0] == 0
        assert con.execute("SELECT COUNT(*) FROM clients").fetchone()[0] == 3000
        assert con.execute("SELECT COUNT(*) FROM policies").fetchone()[0] == 3505
        version = con.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()[0]
        assert version == "4"  # agents, organizations, clients, policies
    finally:
        con.close()
    store = SQLiteStore(db)
    try:
        report = ingest_paths([SAMPLE_DIR], store, settings=Settings())
        assert store.counts()["INTERACTION"] == 2700
        assert {Path(f.path).name: f.changed for f in report.files}["clients.csv"] == 0
    finally:
        store.close()


# -- the command ---------------------------------------------------------------------------------
def test_cli_ingest_corpus_exit_0_rejects_csv_and_merges(corpus: Path, tmp_path: Path) -> None:
    rejects = tmp_path / "out" / "rejects.csv"
    res = CliRunner().invoke(main, ["ingest", str(corpus), "--store", str(tmp_path / "c.db"),
                                    "--rejects", str(rejects)])
    assert res.exit_code == 0, res.output
    assert "clients_branch2.csv" in res.stdout
    # the merges are shown in the summary
    assert "B001 -> C001" in res.stdout and "same phone" in res.stdout
    assert rejects.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel opens it as UTF-8
    with rejects.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        assert next(reader) == ["file", "row", "column", "value", "reason"]
        got = {(f, int(r), c, v, why) for f, r, c, v, why in reader}
    # a person opens the rejects file: phones and ID numbers in it are masked (graphcrm.privacy)
    masked = {"12345": "***45", "1380000000": "138***0000",
              "440106198505053317": "4401**********3317", "1234": "1**4"}
    assert got == {(f, r, c, masked.get(v, v) if c in ("phone", "id_number") else v, why)
                   for f, r, c, v, why in EXPECTED_REJECTS}


@pytest.mark.parametrize(("make", "fragment"), [
    (lambda d: d / "nowhere" / "clients.csv", "no such file or folder"),
    (lambda d: _write(d / "clients.csv", b"\x81\xff\x00\xfe\xff" * 20),
     "cannot read: not UTF-8, UTF-16, GBK/GB18030 or Big5"),
    (lambda d: _write(d / "clients.xlsx", b"this is not a zip file"), "cannot read as XLSX"),
    (lambda d: _write(d / "clients.csv", "id,full_name\nC1,张三\n".encode()),
     "missing required column name (姓名) for clients; expected headers: "
     "client_id/客户编号 (required), name/姓名 (required), gender/性别"),
    (lambda d: _write(d / "clients.csv", b""), "empty file"),
])
def test_cli_nothing_usable_exit_1_one_line(tmp_path: Path, make: object, fragment: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    res = CliRunner().invoke(main, ["ingest", str(path), "--store", str(tmp_path / "e.db")])
    assert res.exit_code == 1, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert fragment in lines[0]


def test_cli_all_rows_rejected_exit_1(tmp_path: Path) -> None:
    path = _write(tmp_path / "agents.csv",
                  "agent_id,name,hire_date,status\nA1,张三,not-a-date,active\n".encode())
    res = CliRunner().invoke(main, ["ingest", str(path), "--store", str(tmp_path / "e.db"),
                                    "--rejects", str(tmp_path / "r.csv")])
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines()[-1].startswith("error: nothing accepted: 1 rows")
    assert (tmp_path / "r.csv").is_file()


def test_cli_real_process_exit_codes(tmp_path: Path) -> None:
    env = {**os.environ, "GRAPHCRM_STORE": str(tmp_path / "p.db")}
    exe = [sys.executable, "-c", "from graphcrm.cli import main; main()"]
    ok = subprocess.run([*exe, "ingest", str(SAMPLE_DIR / "agents.csv"), "--json"], env=env,
                        capture_output=True, text=True, timeout=120, check=False)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([*exe, "ingest", str(tmp_path / "missing")], env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip() == f"error: {tmp_path / 'missing'}: no such file or folder"


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_ingest_error_when_no_paths(tmp_store: SQLiteStore) -> None:
    with pytest.raises(IngestError, match="no input files given"):
        ingest_paths([], tmp_store)


# -- documentation -------------------------------------------------------------------------------
def test_templates_doc_is_generated_from_the_model() -> None:
    from graphcrm.ingest.readers import templates_markdown

    doc = (ROOT / "docs" / "templates.md").read_text(encoding="utf-8")
    assert doc == templates_markdown() + "\n", "docs/templates.md is stale: regenerate it with " \
        "python -c 'from graphcrm.ingest.readers import templates_markdown as t; print(t())' " \
        "> docs/templates.md"
    for table in TABLES:
        for col in table.columns:
            assert f"| `{col.name}` | {col.zh} |" in doc


# -- vectorised fast paths agree with the per-value rules ----------------------------------------
def test_date_and_number_fast_paths_equal_the_per_value_rules() -> None:
    import pyarrow as pa

    from graphcrm.ingest.validate import (
        _by_unique,
        _date_parser,
        _fast_iso_dates,
        _fast_numbers,
        _number_parser,
    )
    from graphcrm.model import INTERACTIONS, POLICIES

    dates = ["2021-02-28", "2021-02-30", "2022-13-01", "1899-12-31", "2024-2-5", "2024/02/05",
             "20240205", "2100-12-31", "2101-01-01", "2024-02-29", "2023-02-29", "45000", "x"]
    values, bad, _ = _by_unique(pa.array(dates), _date_parser(True), _fast_iso_dates)
    assert values.tolist() == ["2021-02-28", None, None, None, "2024-02-05", "2024-02-05",
                               "2024-02-05", "2100-12-31", None, "2024-02-29", None,
                               "2023-03-15", None]
    assert bad.tolist() == [v is None for v in values.tolist()]
    nums = ["5", "5.0", "-3", "11", "1e3", "abc", "1,000", "nan", "3.5", "10", "-10"]
    rating = INTERACTIONS.column("rating")  # int, -10..10
    values, bad, reasons = _by_unique(pa.array(nums), _number_parser(rating),
                                      _fast_numbers(rating))
    assert values.tolist() == [5, 5, -3, None, None, None, None, None, None, 10, -10]
    assert reasons.tolist() == ["", "", "", "above the maximum 10", "above the maximum 10",
                                "not an integer", "above the maximum 10", "not a number",
                                "not an integer", "", ""]
    premium = POLICIES.column("annual_premium")  # float, >= 0
    values, bad, _ = _by_unique(pa.array(["1,000", "2.5", "-1"]), _number_parser(premium),
                                _fast_numbers(premium))
    assert values.tolist() == [1000.0, 2.5, None] and bad.tolist() == [False, False, True]


def test_a_file_the_store_refuses_is_an_error_and_later_files_do_not_count_on_it(
        tmp_store: SQLiteStore) -> None:
    # a real SQLite trigger refuses every organization: that file's write fails after its ids
    # were recorded as known, so ties to organizations must be rejected as unknown ids and
    # every other row kept
    con = sqlite3.connect(tmp_store.path)
    con.execute("CREATE TRIGGER no_orgs BEFORE INSERT ON organizations "
                "BEGIN SELECT RAISE(ABORT, 'organizations refused'); END")
    con.commit()
    con.close()
    report = ingest_paths([SAMPLE_DIR], tmp_store, settings=Settings())
    by_name = {Path(f.path).name: f for f in report.files}
    assert "organizations refused" in (by_name["organizations.csv"].error or "")
    orgs = {r["org_id"] for r in _csv_rows(SAMPLE_DIR / "organizations.csv")}
    rels = _csv_rows(SAMPLE_DIR / "relationships.csv")
    touching = [r for r in rels if r["src_id"] in orgs or r["dst_id"] in orgs]
    assert touching  # the sample has WORKS_AT ties
    assert by_name["relationships.csv"].rejected == len(touching)
    assert set(report.rejects["reason"]) == {"unknown id"}
    for name in ("agents.csv", "clients.csv", "policies.csv", "interactions.csv"):
        assert by_name[name].rejected == 0 and by_name[name].error is None, name
    counts = tmp_store.counts()
    assert counts["Organization"] == 0 and counts["WORKS_AT"] == 0
    assert counts["Client"] == 3000


def test_readme_template_table_is_generated_from_the_model() -> None:
    from graphcrm.ingest.readers import templates_summary_markdown

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert templates_summary_markdown() in readme, "README's template table is stale"
    assert "`agents` / 业务员 | `agent_id`/`工号`, `name`/`姓名`" in readme


def test_rerun_with_one_changed_row_writes_exactly_that_row(tmp_path: Path,
                                                            tmp_store: SQLiteStore) -> None:
    ingest_paths([SAMPLE_DIR], tmp_store, settings=Settings())
    version = tmp_store.data_version()
    edited = tmp_path / "edited"
    shutil.copytree(SAMPLE_DIR, edited)
    rows = _csv_rows(edited / "clients.csv")
    target = rows[10]["client_id"]
    new_city = "拉萨" if rows[10]["city"] != "拉萨" else "西宁"
    rows[10]["city"] = new_city
    with (edited / "clients.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    report = ingest_paths([edited], tmp_store, settings=Settings())
    changed = {Path(f.path).name: f.changed for f in report.files}
    assert changed == {"agents.csv": 0, "organizations.csv": 0, "clients.csv": 1,
                       "policies.csv": 0, "relationships.csv": 0, "interactions.csv": 0}
    assert tmp_store.data_version() == version + 1
    assert tmp_store.get_nodes(Label.CLIENT, [target])["city"].tolist() == [new_city]


def test_changed_rows_compares_with_the_stored_rows(tmp_store: SQLiteStore) -> None:
    from graphcrm.ingest.job import changed_rows
    from graphcrm.model import CLIENTS

    ingest_paths([SAMPLE_DIR], tmp_store, settings=Settings())
    stored = tmp_store.nodes(Label.CLIENT)
    frame = stored.copy()
    frame["age"] = pd.to_numeric(frame["age"]).astype(float)  # 30.0 equals a stored 30; NaN/None
    frame.loc[5, "city"] = "不同的城市"
    extra = frame.iloc[[0]].assign(client_id="C-NEW")
    frame = pd.concat([frame, extra], ignore_index=True)
    counts = tmp_store.counts()
    got = changed_rows(frame, CLIENTS, tmp_store, counts, 0.25)
    assert got["client_id"].tolist() == [stored.loc[5, "client_id"], "C-NEW"]
    # a small file (under the share) is passed through whole: the store skips identical rows
    small = frame.iloc[:10]
    assert len(changed_rows(small, CLIENTS, tmp_store, counts, 0.25)) == 10


def test_blank_cells_never_erase_stored_values(tmp_path: Path, tmp_store: SQLiteStore) -> None:
    ingest_paths([SAMPLE_DIR], tmp_store, settings=Settings())
    rows = _csv_rows(SAMPLE_DIR / "clients.csv")
    first, second = rows[0], rows[1]
    assert first["city"] and second["occupation"]
    update = tmp_path / "clients_update.csv"
    with update.open("w", encoding="utf-8", newline="") as fh:
        fh.write("client_id,name,city,occupation\n")
        fh.write(f"{first['client_id']},{first['name']},,新职业\n")  # city blank: kept
        fh.write(f"{second['client_id']},{second['name']},新城市,\n")  # occupation blank: kept
    report = ingest_paths([update], tmp_store, settings=Settings())
    assert report.files[0].changed == 2 and report.rejected == 0
    got = tmp_store.get_nodes(Label.CLIENT, [first["client_id"], second["client_id"]])
    got = got.set_index("client_id")
    assert got.loc[first["client_id"], "city"] == first["city"]
    assert got.loc[first["client_id"], "occupation"] == "新职业"
    assert got.loc[second["client_id"], "city"] == "新城市"
    assert got.loc[second["client_id"], "occupation"] == second["occupation"]
    assert got.loc[first["client_id"], "phone"] == first["phone"]  # a column not in the file
