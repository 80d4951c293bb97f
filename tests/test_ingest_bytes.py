"""The Arrow reader's columns checked on their bytes (graphcrm.ingest.readers.text_bytes):
cleaning, blank cells, line breaks and the formula apostrophe must come out as the
row-by-row rules say, for plain ASCII columns (the byte path) and any other (Arrow's path),
sliced or not; and the re-run row hashes of a file that lacks template columns."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from graphcrm.config import IngestSettings
from graphcrm.ingest.job import _row_hashes
from graphcrm.ingest.readers import (
    RawFile,
    _drop_blank_rows,
    _has_line_break,
    _unquote,
    blank_cells,
    clean_text,
    clean_value,
    read_file,
    text_bytes,
)
from graphcrm.model import RELATIONSHIPS
from graphcrm.privacy import unneutralise

#: cells of every kind the byte path must tell apart from the plain ones
SPECIAL = ["", " ", "  a", "b  ", " c ", "\td", "e\t", "f\x00g", "\x7fh", "i\x1f", "'=1+1",
           "''@x", "'plain", "j'", "１２３", "k\u200bl", "m\u00a0", "\ufeffn", "o\r", "p\nq",
           "~", "!", "x y"]
PLAIN = ["A1", "b-2", "C 3", "d_4", "E.5", "~!@#$%^&*()"]


def _cells(seed: int, n: int, special: float) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(SPECIAL) if rng.random() < special else rng.choice(PLAIN)
            for _ in range(n)]


def _variants(cells: list[str]) -> list[tuple[str, pa.Array, list[str]]]:
    """The cells as a string and a large_string column, whole and as a slice."""
    out = []
    for typ in (pa.string(), pa.large_string()):
        arr = pa.array(cells, type=typ)
        out.append((f"{typ} whole", arr, cells))
        out.append((f"{typ} slice", arr.slice(3, len(cells) - 7), cells[3:-4]))
    return out


@pytest.mark.parametrize("special", [0.0, 0.2])
@pytest.mark.parametrize("folded", [True, False])
def test_clean_text_cleans_as_cell_by_cell(special: float, folded: bool) -> None:
    cells = _cells(1, 400, special)
    if special == 0.0:  # a plain column, with and without a space to trim
        cells[10] = " padded "
    for name, arr, want in _variants(cells):
        got = clean_text(arr, folded=folded).to_pylist()
        assert got == [clean_value(c, folded) for c in want], name
    for arr in (pa.array(PLAIN), pa.array(["A1", "B2"])):  # nothing to trim: untouched
        assert clean_text(arr, folded=False).to_pylist() == arr.to_pylist()


@pytest.mark.parametrize("cell", SPECIAL)
def test_one_odd_cell_among_plain_ones(cell: str) -> None:
    """A plain column but for one cell: the column must leave the byte path or be cleaned
    right on it."""
    cells = [PLAIN[k % len(PLAIN)] for k in range(50)] + [cell] + PLAIN
    for folded in (True, False):
        for name, arr, want in _variants(cells):
            got = clean_text(arr, folded=folded).to_pylist()
            assert got == [clean_value(c, folded) for c in want], (name, cell)


@pytest.mark.parametrize("special", [0.0, 0.3])
def test_blank_cells_and_blank_rows(special: float) -> None:
    a_cells, b_cells = _cells(2, 300, special), _cells(3, 300, special)
    for k in range(0, 300, 17):
        a_cells[k] = b_cells[k] = ""  # blank rows
    a_cells[5] = ""  # one blank cell, the row not blank
    for (name, a, want_a), (_, b, want_b) in zip(_variants(a_cells), _variants(b_cells),
                                                strict=True):
        assert blank_cells(a).tolist() == [c == "" for c in want_a], name
        rows = np.arange(len(want_a), dtype=np.int64) + 2
        cols, kept, n_blank = _drop_blank_rows({"a": a, "b": b}, rows)
        keep = [i for i in range(len(want_a)) if want_a[i] or want_b[i]]
        assert n_blank == len(want_a) - len(keep), name
        assert kept.tolist() == [int(rows[i]) for i in keep]
        assert cols["a"].to_pylist() == [want_a[i] for i in keep]
        assert cols["b"].to_pylist() == [want_b[i] for i in keep]


def test_line_breaks_found_inside_the_slice_only() -> None:
    cells = ["a", "b\nc", "d", "e\rf", "g", "h", "i"]
    for typ in (pa.string(), pa.large_string()):
        arr = pa.array(cells, type=typ)
        assert _has_line_break(arr)
        assert not _has_line_break(arr.slice(4))  # the breaks are in the buffer, not in it
        assert not _has_line_break(arr.slice(0, 1))
        assert _has_line_break(arr.slice(3, 1))  # a carriage return alone
        assert _has_line_break(arr.slice(1, 1))
        assert _has_line_break(pa.array(["ü", "x\n"], type=typ))  # not ASCII, a break
        assert not _has_line_break(pa.array(["ü", "\t"], type=typ))  # not ASCII, no break
    assert not _has_line_break(pa.array(["", ""]))
    assert text_bytes(pa.array(["a", None])) is None  # missing values: Arrow's path


def test_unquote_undoes_the_formula_apostrophe_only() -> None:
    cells = _cells(4, 300, 0.3)
    for name, arr, want in _variants(cells):
        assert _unquote(arr).to_pylist() == [unneutralise(c) for c in want], name
    arr = pa.array(["'=x", "a", "b"])
    assert _unquote(arr.slice(1)).to_pylist() == ["a", "b"]  # the apostrophe is not in it
    assert _unquote(pa.array(["", "a"])).to_pylist() == ["", "a"]


def test_a_quoted_line_break_reads_row_by_row(tmp_path: Path) -> None:
    path = tmp_path / "relationships.csv"
    path.write_text('src_id,dst_id,type\nC1,C2,FRIEND_OF\nC3,"C\n4",FRIEND_OF\n'
                    + "".join(f"C{i},C{i + 1},FRIEND_OF\n" for i in range(5, 200)),
                    encoding="utf-8")
    settings = IngestSettings(arrow_min_bytes=0)  # the Arrow reader even for a small file
    raw = read_file(path, RELATIONSHIPS, settings)
    assert raw.columns["dst_id"].to_pylist()[:2] == ["C2", "C\n4"]
    assert raw.n == 197


# -- row hashes ------------------------------------------------------------------------------
_M = (1 << 64) - 1


def _mix(x: int) -> int:
    """SplitMix64's finaliser, on a Python int."""
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _M
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _M
    return x ^ (x >> 31)


def _plain_row_hash(row: dict[str, str]) -> int:
    """The row hash as documented, one row at a time: per template column (in template
    order) the SipHash of its text, or a fixed word for a column the file lacks."""
    h = 0
    for i, name in enumerate(RELATIONSHIPS.column_names):
        salt = ((i + 1) * 0x9E3779B97F4A7C15) & _M
        if name in row:
            v = int(pd.util.hash_array(np.array([row[name]], dtype=object),
                                       categorize=False)[0])
        else:
            v = salt ^ _M
        h = _mix(h ^ _mix((v + salt) & _M))
    return h


@pytest.mark.parametrize("columns", [("src_id", "dst_id", "type"),
                                     ("type", "dst_id", "source", "src_id", "confidence")])
def test_row_hashes_of_a_file_missing_columns(tmp_path: Path, columns: tuple[str, ...]
                                              ) -> None:
    rng = random.Random(5)
    values = {"src_id": ["C1", "C2", "C3"], "dst_id": ["C4", "C5", ""],
              "type": ["FRIEND_OF", "REFERRED"], "source": ["", "fair", "call"],
              "confidence": ["0.5", "1", ""]}
    rows = [{c: rng.choice(values[c]) for c in columns} for _ in range(50)]
    path = tmp_path / "relationships.csv"
    path.write_text(",".join(columns) + "\n" + "".join(
        ",".join(r[c] for c in columns) + "\n" for r in rows), encoding="utf-8")
    raw = read_file(path, RELATIONSHIPS, IngestSettings())
    assert raw.n == len(rows)
    got = _row_hashes(raw, RELATIONSHIPS)
    assert got.dtype == np.uint64
    assert [int(h) for h in got] == [_plain_row_hash(r) for r in rows]


# -- the re-run notes: rows by hash, with their keys' hashes --------------------------------
@pytest.mark.parametrize("distinct", [True, False])
def test_row_record_keeps_the_first_row_of_equal_hashes(distinct: bool) -> None:
    """Notes sorted by row hash, one per hash: of rows with equal hashes the first in row
    order (the unchanged rows, then the checked ones) gives the key."""
    from graphcrm.ingest.identity import MERGE_COLUMNS
    from graphcrm.ingest.job import _Checked, _row_record
    from graphcrm.ingest.validate import KeyNotes

    rng = np.random.default_rng(9)
    n = 3000
    top = 1 << 62 if distinct else 400  # few distinct hashes: many equal ones
    hashes = rng.choice(top, size=n, replace=not distinct).astype(np.uint64)
    unchanged = rng.random(n) < 0.3
    delta = np.flatnonzero(~unchanged)
    old_keys = rng.integers(0, 1 << 62, size=int(unchanged.sum())).astype(np.uint64)
    rows = np.arange(2, n + 2, dtype=np.int64)
    accepted = rng.random(len(delta)) < 0.9  # the checked rows that were written
    keys = KeyNotes(np.arange(len(delta), dtype=np.int64),
                    rng.integers(0, 1 << 62, size=len(delta)).astype(np.uint64))
    frame = pd.DataFrame({"__row": rows[delta][accepted]})
    done = _Checked(frame, pd.DataFrame(columns=MERGE_COLUMNS), 0, [], pd.DataFrame(),
                    int(accepted.sum()), keys)
    raw = _raw_for(rows)
    got = _row_record(RELATIONSHIPS, raw, hashes, unchanged, old_keys, delta, done, "r")
    assert got is not None
    want: dict[int, int] = {}
    for h, k in zip(hashes[unchanged], old_keys, strict=True):
        want.setdefault(int(h), int(k))
    for i in np.flatnonzero(accepted):
        want.setdefault(int(hashes[delta[i]]), int(keys.hashes[i]))
    assert got[0] == "r"
    assert got[1].tolist() == sorted(want)
    assert got[2].tolist() == [want[h] for h in sorted(want)]


def _raw_for(rows: np.ndarray) -> RawFile:
    """A RawFile with row numbers only."""
    return RawFile(Path("relationships.csv"), RELATIONSHIPS, "utf-8", {}, rows)


# -- relationship checks on the types as codes -------------------------------------------------
def test_relationship_checks_on_coded_types_match_the_plain_ones() -> None:
    """Kinds, undirected ties and endpoint labels checked on the types as codes of their
    distinct values give the rows and messages of the per-row string comparisons."""
    from graphcrm.ingest.validate import (
        KnownIds,
        Problems,
        _check_relationships,
        _Coded,
        check_endpoints,
        undirected_reversed,
    )
    from graphcrm.model import Label

    rng = random.Random(8)
    people = [f"C{i:03d}" for i in range(40)]
    agents = [f"A{i:02d}" for i in range(5)]
    orgs = [f"O{i:02d}" for i in range(5)]
    types = ["FRIEND_OF", "REFERRED", "SERVES", "WORKS_AT", "RELATIVE_OF", "BUSINESS_TIE",
             "COLLEAGUE_OF", None, "BOGUS"]  # (BOGUS: not a type validation lets through)
    kinds = [None, "spouse", "parent", "partner", "customer", "sibling"]
    n = 3000
    ids = people + agents + orgs + ["X1"]
    out: dict[str, object] = {
        "src_id": np.array([rng.choice(ids) for _ in range(n)], dtype=object),
        "dst_id": np.array([rng.choice(ids) for _ in range(n)], dtype=object),
        "type": np.array([rng.choice(types) for _ in range(n)], dtype=object),
        "kind": np.array([rng.choice(kinds) for _ in range(n)], dtype=object),
    }
    known = KnownIds(None, ask_store=False)
    known.add(np.array(people, dtype=object), Label.CLIENT)
    known.add(np.array(agents, dtype=object), Label.AGENT)
    known.add(np.array(orgs, dtype=object), Label.ORGANIZATION)
    bad0 = np.array([rng.random() < 0.05 for _ in range(n)])
    coded = _Coded.of(out["type"])
    assert coded is not None
    results = []
    for c in (None, coded):
        probs = Problems()
        bad = bad0 | _check_relationships(out, probs, bad0, None, c)
        turn = undirected_reversed(out, bad, None, c)
        bad = bad | check_endpoints(out, probs, bad, known, None, c)
        results.append((bad, turn, probs.frame("f", np.arange(n) + 2)))
    (bad_a, turn_a, rej_a), (bad_b, turn_b, rej_b) = results
    assert bad_a.tolist() == bad_b.tolist() and bad_a.sum() > bad0.sum()
    assert turn_a.tolist() == turn_b.tolist() and turn_a.any()
    pd.testing.assert_frame_equal(rej_a, rej_b)
    assert {"unknown id", "relationship to itself"} <= set(rej_a["reason"])
    assert rej_a["reason"].str.contains("must start at").any()
    assert rej_a["reason"].str.contains("needs a kind").any()
