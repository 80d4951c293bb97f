"""A seeded generator of malformed input files with their expected outcome (issue 14).

Each case starts from a small file of rows known to be good (agents or organizations taken
from the sample, supervisors blanked so no row depends on another) and injects defects at
known rows. The generator knows, without running GraphCRM, what must happen: which rows are
stored (by key, with their name unchanged) and which are rejected, with their row number,
column and a fragment of the reason. The checks compare the real readers and validator (and,
for a sample, the real CLI and store) with that expectation.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
#: the field size limit used by the corpus (small, so huge-field cases stay small files)
MAX_FIELD = 300
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u2060", "\u00ad", "\x00", "\u202e"]
FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")
BAD_BYTES = [b"\xff", b"\xfe", b"\xc0\xaf", b"\x80", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]
CUT_REASONS = ("missing fields", " text", "the file ends inside this row")


def _load(name: str) -> tuple[list[str], list[list[str]]]:
    with (SAMPLE / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


AGENT_HEADERS, AGENT_ROWS = _load("agents")
ORG_HEADERS, ORG_ROWS = _load("organizations")
for _r in AGENT_ROWS:
    _r[AGENT_HEADERS.index("supervisor_id")] = ""
    _r[AGENT_HEADERS.index("departure_date")] = ""
    _r[AGENT_HEADERS.index("status")] = "active"


@dataclass
class Expect:
    """What must happen to one data row."""

    key: str
    name: str
    reject: bool = False
    column: str | None = None  # None: any column
    reasons: tuple[str, ...] = ()  # one of these fragments is in the reason


@dataclass
class Case:
    seed: int
    table: str  # agents | organizations
    encoding: str
    data: bytes
    rows: dict[int, Expect]  # spreadsheet row -> expectation
    notes: list[str] = field(default_factory=list)
    may_refuse: bool = False  # a legacy encoding a small file may leave doubtful

    @property
    def accepted(self) -> dict[str, str]:
        return {e.key: e.name for e in self.rows.values() if not e.reject}


def _line(fields: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()


def make_case(seed: int) -> Case:
    """One malformed file and what must become of each of its rows."""
    rng = random.Random(seed)
    agents = rng.random() < 0.6
    headers, base = (AGENT_HEADERS, AGENT_ROWS) if agents else (ORG_HEADERS, ORG_ROWS)
    key_col, name_col = 0, 1
    n = rng.randint(3, 12)
    picked = rng.sample(base, n)
    encoding = rng.choices(["utf-8", "utf-8-sig", "gb18030", "utf-16"], [70, 10, 10, 10])[0]
    eol = rng.choice(["\n", "\r\n", "\r"])
    lines: list[bytes] = [_line(headers).encode("utf-8")]
    rows: dict[int, Expect] = {}
    notes: list[str] = []
    number = 1
    ncols = len(headers)
    bad_bytes_used = False
    line_enc = "gb18030" if encoding == "gb18030" else "utf-8"  # utf-16: re-encoded below
    for rec in picked:
        if rng.random() < 0.1:  # a blank line: skipped, but it counts as a spreadsheet row
            number += 1
            lines.append(b"" if rng.random() < 0.5 else ("," * (ncols - 1)).encode())
        number += 1
        fields = list(rec)
        exp = Expect(fields[key_col], fields[name_col])
        kind = rng.choices(
            ["good", "bad_bytes", "extra", "extra_blank", "missing", "huge", "invisible",
             "full_width", "stray_quote", "plausible"],
            [30, 10 if encoding.startswith("utf-8") and n >= 4 and not bad_bytes_used else 0,
             8, 4, 8, 6, 10,
             8 if agents else 0, 6, 10 if agents else 0])[0]
        raw: bytes | None = None
        if kind == "bad_bytes":
            bad_bytes_used = True
            col = rng.randrange(ncols)
            cut = rng.randrange(len(fields[col]) + 1)
            marked = fields[col][:cut] + "\x00MARK\x00" + fields[col][cut:]
            raw = _line([*fields[:col], marked, *fields[col + 1:]]).encode("utf-8")
            raw = raw.replace(b"\x00MARK\x00", rng.choice(BAD_BYTES))
            exp.reject, exp.column, exp.reasons = True, headers[col], ("not UTF-8 text",)
        elif kind == "extra":
            fields += [rng.choice(["x", "EXTRA", "1"]) for _ in range(rng.randint(1, 3))]
            exp.reject, exp.column, exp.reasons = True, f"field {ncols + 1}", ("extra fields",)
        elif kind == "extra_blank":
            fields += [""] * rng.randint(1, 3)
        elif kind == "missing":
            k = rng.randint(1, ncols - 1)
            fields = fields[:k]
            exp.reject, exp.column, exp.reasons = True, headers[k], ("missing fields",)
        elif kind == "huge":
            col = rng.choice([c for c in range(ncols) if c != key_col])
            fields[col] = fields[col] + "长" * (MAX_FIELD // 3 + rng.randint(1, 50))
            exp.reject, exp.column, exp.reasons = True, headers[col], ("longer than",)
        elif kind == "invisible":
            for col in (key_col, name_col):
                v = fields[col]
                at = rng.randrange(len(v) + 1)
                fields[col] = v[:at] + rng.choice(INVISIBLE) + v[at:]
        elif kind == "full_width":
            for name in ("phone", "hire_date"):
                col = headers.index(name)
                fields[col] = fields[col].translate(FULL_WIDTH)
            if rng.random() < 0.5:
                col = headers.index("phone")
                fields[col] = fields[col][:3] + "\u00a0" + fields[col][3:]
        elif kind == "stray_quote":
            col = rng.randrange(1, ncols - 1)
            raw = (_line(fields[:col]).encode(line_enc) + b',"'
                   + _line(fields[col:]).encode(line_enc))
            exp.reject, exp.column, exp.reasons = True, headers[col + 1], ("missing fields",)
        elif kind == "plausible":
            rule = rng.choice(["future_hire", "departure", "self", "old_hire"])
            if rule == "future_hire":
                fields[headers.index("hire_date")] = f"{rng.randint(2090, 2100)}-01-01"
                exp.reject, exp.column, exp.reasons = (True, "hire_date",
                                                       ("hire date after today",))
            elif rule == "old_hire":
                fields[headers.index("hire_date")] = rng.choice(
                    [f"{rng.randint(2200, 9999)}-01-01", f"{rng.randint(1000, 1899)}-06-30"])
                exp.reject, exp.column, exp.reasons = (True, "hire_date",
                                                       ("date before 1900 or after 2100",))
            elif rule == "departure":
                fields[headers.index("hire_date")] = "2020-05-05"
                fields[headers.index("departure_date")] = "2019-05-05"
                fields[headers.index("status")] = "departed"
                exp.reject, exp.column, exp.reasons = (True, "departure_date",
                                                       ("departure before hire",))
            else:
                fields[headers.index("supervisor_id")] = fields[key_col]
                exp.reject, exp.column, exp.reasons = (True, "supervisor_id",
                                                       ("supervises themself",))
        notes.append(f"row {number}: {kind}")
        if raw is None:
            text = _line(fields)
            raw = text.encode(line_enc)
        lines.append(raw)
        rows[number] = exp
    def encode(b: bytes) -> bytes:
        return b.decode("utf-8").encode("utf-16-le") if encoding == "utf-16" else b

    head = b"".join(encode(line + eol.encode()) for line in lines[:-1])
    last_line = encode(lines[-1])
    end = encode(eol.encode())
    prefix = (b"\xff\xfe" if encoding == "utf-16" else
              b"\xef\xbb\xbf" if encoding == "utf-8-sig" else b"")
    body = prefix + head + last_line + end
    if rng.random() < 0.15 and len(rows) > 1:  # cut the file inside its last row
        start = len(prefix) + len(head)
        cut = rng.randint(start + 1, start + len(last_line))
        body = body[:cut]
        exp = rows[max(rows)]
        exp.reasons = (*exp.reasons, *CUT_REASONS) if exp.reject else CUT_REASONS
        exp.reject, exp.column = True, None
        notes.append(f"cut at byte {cut}")
    return Case(seed, "agents" if agents else "organizations", encoding, body, rows, notes,
                may_refuse=encoding == "gb18030")
