"""Messy and hostile input (issue 14): never a traceback, one defect costs one row, no silent
wrong accept. Every file here is a real file on disk read by the real readers and CLI."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphcrm.cli import main
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
    import json

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
