"""The malformed-input corpus (issue 14): >= 10,000 seeded cases through the real readers and
validator, a sample through the real CLI into a real store. See tests/corpus.py.

Every case is its own file read by :func:`read_file`. To keep the suite fast, the rows the
readers produced are validated in batches: each case's ids get a ``<case>|`` prefix and its
rows a ``<case> * 10_000`` offset, so no two cases share an id and every reject and every good
row is traced back to its case. (No corpus row refers to another row, so a batch checks each
row exactly as its own file would.)
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner

from graphcrm.cli import main
from graphcrm.config import IngestSettings
from graphcrm.ingest.readers import IngestError, RawFile, read_file
from graphcrm.ingest.validate import KnownIds, validate
from graphcrm.model import AGENTS, ORGANIZATIONS, Label
from graphcrm.store.sqlite import SQLiteStore
from tests.corpus import MAX_FIELD, Case, make_case

#: cases checked in-process per run (GRAPHCRM_CORPUS_CASES overrides, e.g. for a longer soak)
CASES = int(os.environ.get("GRAPHCRM_CORPUS_CASES", "10000"))
BATCH = 500
SETTINGS = IngestSettings(max_field_bytes=MAX_FIELD)
ARROW = IngestSettings(max_field_bytes=MAX_FIELD, arrow_min_bytes=0)  # Arrow's reader first
OFFSET = 10_000
TABLES = {"agents": AGENTS, "organizations": ORGANIZATIONS}


def _where(case: Case) -> str:
    return f"seed {case.seed} ({case.encoding}; {'; '.join(case.notes)})"


def _read(case: Case, folder: Path, settings: IngestSettings) -> RawFile | None:
    path = folder / f"{case.table}.csv"
    path.write_bytes(case.data)
    try:
        return read_file(path, TABLES[case.table], settings)
    except IngestError as exc:
        assert case.may_refuse and "cannot tell the encoding" in str(exc), \
            f"{_where(case)}: {exc}"
        return None


def _prefixed(arr: pa.Array, k: int) -> pa.Array:
    return pa.array([f"{k}|{v}" if v else "" for v in arr.to_pylist()], type=pa.string())


def check_batch(cases: list[Case], folder: Path, settings: IngestSettings) -> int:
    """Read every case, validate them per table in one call, compare with the expectation.
    Returns how many cases were refused (a doubtful legacy encoding)."""
    problems: dict[int, dict[int, list[tuple[str, str]]]] = {}
    stored: dict[int, list[tuple[str, str, int]]] = {}
    read: dict[str, list[tuple[int, RawFile]]] = {}
    refused = 0
    for k, case in enumerate(cases):
        raw = _read(case, folder, settings)
        if raw is None:
            refused += 1
            continue
        read.setdefault(case.table, []).append((k, raw))
        problems[k] = {}
        stored[k] = []
        for row, column, _value, reason in raw.bad_rows:
            problems[k].setdefault(row, []).append((column, reason))
    for name, items in read.items():
        table = TABLES[name]
        key = table.key[0]
        own_refs = [key] + (["supervisor_id"] if table is AGENTS else [])
        columns: dict[str, list[pa.Array]] = {}
        row_parts = []
        for k, raw in items:
            for col, arr in raw.columns.items():
                columns.setdefault(col, []).append(_prefixed(arr, k) if col in own_refs
                                                   else arr)
            row_parts.append(raw.rows + k * OFFSET)
        merged = {c: pa.concat_arrays(parts) for c, parts in columns.items()}
        checked = validate(merged, np.concatenate(row_parts), table, file=f"{name}.csv",
                           settings=settings, known=KnownIds(None, ask_store=False),
                           aliases={})
        for r in checked.rejects.itertuples():
            k, row = divmod(int(r.row), OFFSET)
            problems[k].setdefault(row, []).append((r.column, r.reason))
        for ident, person, row in zip(checked.frame[key], checked.frame["name"],
                                      checked.frame["__row"], strict=True):
            k, prefix_free = int(ident.split("|", 1)[0]), ident.split("|", 1)[1]
            stored[k].append((prefix_free, person, int(row) - k * OFFSET))
    for k, case in enumerate(cases):
        if k not in problems:
            continue
        where = _where(case)
        expected_bad = {row for row, e in case.rows.items() if e.reject}
        assert set(problems[k]) == expected_bad, f"{where}: rejected rows {sorted(problems[k])}"
        for row in expected_bad:
            e = case.rows[row]
            hits = [(c, why) for c, why in problems[k][row] if any(f in why for f in e.reasons)]
            assert hits, f"{where}: row {row}: {problems[k][row]} (expected {e.reasons})"
            if e.column is not None:
                assert any(c == e.column for c, _ in hits), f"{where}: row {row}: {hits}"
        got = stored[k]
        assert {i: n for i, n, _ in got} == case.accepted, f"{where}: stored {got}"
        assert len(got) == len(case.accepted), f"{where}: a row stored twice: {got}"
        assert sorted(r for _, _, r in got) == sorted(
            row for row, e in case.rows.items() if not e.reject), f"{where}: rows {got}"
    return refused


def test_corpus_in_process(tmp_path: Path) -> None:
    """Every case: no exception but a one-line IngestError for a doubtful encoding, every
    good row kept once with its name intact, every bad row rejected with row, column, reason.
    One case in ten is read with Arrow's reader first (the path of big files)."""
    assert CASES >= 10_000 or "GRAPHCRM_CORPUS_CASES" in os.environ
    refused = 0
    for start in range(0, CASES, BATCH):
        seeds = range(start, min(start + BATCH, CASES))
        refused += check_batch([make_case(s) for s in seeds if s % 10], tmp_path, SETTINGS)
        refused += check_batch([make_case(s) for s in seeds if s % 10 == 0], tmp_path, ARROW)
    assert refused < CASES * 0.05  # refusing is for a doubtful legacy encoding, not the rule


@pytest.mark.parametrize("seed", range(10_000_000, 10_000_000 + 40))
def test_corpus_sample_through_the_cli(tmp_path: Path, seed: int) -> None:
    """A sample through ``graphcrm ingest`` into a real store: exit code, stored rows, the
    rejects file."""
    case = make_case(seed)
    src = tmp_path / f"{case.table}.csv"
    src.write_bytes(case.data)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[ingest]\nmax_field_bytes = {MAX_FIELD}\n", encoding="utf-8")
    db, rejects = tmp_path / "c.db", tmp_path / "rejects.csv"
    res = CliRunner().invoke(main, ["ingest", str(src), "--store", str(db), "--rejects",
                                    str(rejects), "--config", str(cfg), "--no-warm", "--json"])
    assert "Traceback" not in res.output
    if case.may_refuse and res.exit_code == 1 and "cannot tell the encoding" in res.stderr:
        return
    accepted = case.accepted
    assert res.exit_code == (0 if accepted else 1), res.output
    if accepted:
        out = json.loads(res.stdout)
        assert out["totals"]["accepted"] == len(accepted)
    label = Label.AGENT if case.table == "agents" else Label.ORGANIZATION
    if db.exists():
        with SQLiteStore(db, create=False) as store:
            nodes = store.nodes(label)
        key = "agent_id" if case.table == "agents" else "org_id"
        assert dict(zip(nodes[key], nodes["name"], strict=True)) == accepted
    bad = {row for row, e in case.rows.items() if e.reject}
    if bad:
        with rejects.open(encoding="utf-8-sig", newline="") as fh:
            got = list(csv.DictReader(fh))
        assert {int(r["row"]) for r in got} == bad
        assert all(r["file"] == src.name and r["reason"] for r in got)
    else:
        assert not rejects.exists()


def test_broken_xlsx_corpus(tmp_path: Path) -> None:
    """300 seeded damages of a real workbook: cut anywhere, bytes flipped, the sheet XML cut,
    a part dropped. Each is read or refused with one line naming the file; nothing else."""
    import random
    import zipfile

    from tests.corpus import AGENT_HEADERS, AGENT_ROWS
    from tests.hostile import rewrite_zip, sheet_member, write_xlsx

    good = write_xlsx(tmp_path / "good.xlsx", [AGENT_HEADERS, *AGENT_ROWS])
    data = good.read_bytes()
    with zipfile.ZipFile(good) as z:
        members = z.namelist()
    outcomes = {"read": 0, "refused": 0}
    for seed in range(300):
        rng = random.Random(seed)
        bad = tmp_path / "agents.xlsx"
        how = rng.choice(["cut", "flip", "sheet", "drop"])
        if how == "cut":
            bad.write_bytes(data[:rng.randrange(len(data))])
        elif how == "flip":
            b = bytearray(data)
            for _ in range(rng.randint(1, 20)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            bad.write_bytes(bytes(b))
        elif how == "sheet":
            member = sheet_member(good)
            with zipfile.ZipFile(good) as z:
                xml = z.read(member)
            rewrite_zip(good, bad, {member: xml[:rng.randrange(len(xml))]})
        else:
            rewrite_zip(good, bad, {rng.choice(members): None})
        try:
            raw = read_file(bad, AGENTS, SETTINGS)
        except IngestError as exc:
            msg = str(exc)
            assert msg.startswith("agents.xlsx: ") and "\n" not in msg, f"seed {seed}: {msg}"
            outcomes["refused"] += 1
        else:
            assert raw.n + len(raw.bad_rows) <= len(AGENT_ROWS), f"seed {seed} ({how})"
            outcomes["read"] += 1
    assert outcomes["refused"] > 100
