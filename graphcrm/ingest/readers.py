"""Readers: CSV and XLSX input files into columns of stripped strings, one per template column.

What a reader does, in order:

1. tells the file's kind (which :data:`graphcrm.model.TABLES` template it fills) from the
   file stem (``clients.csv``, ``客户.xlsx``, ``clients_branch2.csv``) or else from its headers;
2. detects the text encoding without being told: UTF-8, UTF-8 with BOM, GBK/GB18030 (what
   Excel in China writes);
3. maps the headers, English (case-insensitive) or Chinese, to the template's columns; unknown
   columns are ignored with a warning, a missing required column makes the file unusable;
4. reads every cell as text (ids keep their leading zeros), strips spaces, drops blank rows and
   remembers each row's spreadsheet row number (the header is row 1).

Big CSV files are parsed by Arrow's multithreaded CSV reader; malformed files (rows with more
fields than the header, blank lines) fall back to Python's :mod:`csv` so each bad row can be
reported with its row number instead of failing the whole file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from graphcrm.model import TABLES, Column, Table
from graphcrm.privacy import QUOTED

#: file suffixes ingest reads
INPUT_SUFFIXES = (".csv", ".xlsx")
#: how much of a file's start is read to detect its encoding and header
_HEAD_BYTES = 1 << 20
_BOM = codecs.BOM_UTF8


class IngestError(Exception):
    """Nothing usable in an input: missing file, unreadable, wrong headers (one-line message)."""


@dataclass
class RawFile:
    """One input file read into stripped text columns.

    Attributes
    ----------
    path, table
        The file and the template it fills.
    encoding
        ``utf-8``, ``utf-8-sig``, ``gb18030`` or ``xlsx``.
    columns
        Template column name -> Arrow string array (stripped, ``""`` for blank), for the
        template columns present in the file; all arrays have ``len(rows)`` entries.
    rows
        Spreadsheet row number of each row (header = row 1).
    unknown_headers
        Headers that match no template column (ignored).
    bad_rows
        ``(row, value, reason)`` for rows that could not be split into the header's columns.
    blank_rows
        Rows with every cell blank (skipped silently).
    """

    path: Path
    table: Table
    encoding: str
    columns: dict[str, pa.Array]
    rows: np.ndarray
    unknown_headers: list[str] = field(default_factory=list)
    bad_rows: list[tuple[int, str, str]] = field(default_factory=list)
    blank_rows: int = 0

    @property
    def n(self) -> int:
        return len(self.rows)


# -- headers and kinds ------------------------------------------------------------------------
def normalise_header(text: str) -> str:
    """A header as compared with the templates: stripped, lower case, spaces -> underscores.

    Examples
    --------
    >>> normalise_header("  Client ID ")
    'client_id'
    >>> normalise_header("\\ufeff客户编号")
    '客户编号'
    """
    text = str(text).replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s\-]+", "_", text)


def header_map(table: Table) -> dict[str, str]:
    """Every accepted header spelling (normalised) -> the template column name."""
    out: dict[str, str] = {}
    for col in table.columns:
        for h in col.headers():
            out.setdefault(normalise_header(h), col.name)
    return out


def table_for_stem(stem: str) -> Table | None:
    """The template a file stem names: its name or a synonym, exactly or as a prefix.

    The longest matching name wins (``clients_branch2`` -> clients).
    """
    s = normalise_header(stem)
    best: tuple[int, Table] | None = None
    for table in TABLES:
        for name in (table.name, *table.synonyms):
            n = normalise_header(name)
            if s.startswith(n) and (best is None or len(n) > best[0]):
                best = (len(n), table)
    return None if best is None else best[1]


def table_for_headers(headers: list[str]) -> Table | None:
    """The template whose required columns all appear in ``headers`` and that matches most.

    ``None`` when no template fits or two fit equally well.
    """
    norm = {normalise_header(h) for h in headers}
    scored: list[tuple[int, Table]] = []
    for table in TABLES:
        hmap = header_map(table)
        present = {hmap[h] for h in norm if h in hmap}
        if all(c.name in present for c in table.columns if c.required):
            scored.append((len(present), table))
    scored.sort(key=lambda x: -x[0])
    if not scored or (len(scored) > 1 and scored[0][0] == scored[1][0]):
        return None
    return scored[0][1]


def expected_headers(table: Table) -> str:
    """The template's headers for messages: ``client_id/客户编号 (required), name/姓名, ...``."""
    return ", ".join(f"{c.name}/{c.zh}" + (" (required)" if c.required else "")
                     for c in table.columns)


# -- encodings ---------------------------------------------------------------------------------
def _decodes(data: bytes, encoding: str, complete: bool) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)(errors="strict").decode(data, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` (BOM), ``utf-8`` or ``gb18030`` from the first megabyte of the file.

    Raises
    ------
    IngestError
        When the start of the file is neither UTF-8 nor GB18030 text.
    """
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
        complete = len(head) < _HEAD_BYTES
    if head.startswith(_BOM):
        return "utf-8-sig"
    if _decodes(head, "utf-8", complete):
        return "utf-8"
    if _decodes(head, "gb18030", complete):
        return "gb18030"
    raise IngestError(f"{path.name}: cannot read: not UTF-8 or GBK/GB18030 text")


def _first_record(path: Path, encoding: str) -> list[str]:
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)
    for rec in csv.reader(io.StringIO(text)):
        return rec
    return []


def read_headers(path: str | Path) -> list[str]:
    """The header row of a CSV or XLSX file (raw spellings)."""
    p = Path(path)
    if p.suffix.lower() == ".xlsx":
        rows = _xlsx_rows(p)
        try:
            first = next(rows, None)
        finally:
            rows.close()
        return [] if first is None else first
    return _first_record(p, detect_encoding(p))


# -- XLSX -------------------------------------------------------------------------------------
def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _xlsx_rows(path: Path) -> Iterator[list[str]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zip/XML errors of every kind
        raise IngestError(f"{path.name}: cannot read as XLSX ({type(exc).__name__})") from exc
    try:
        ws = wb.worksheets[0]
        for row in ws.iter_rows(values_only=True):
            yield [_cell_text(v) for v in row]
    finally:
        wb.close()


# -- reading -----------------------------------------------------------------------------------
def _resolve_headers(path: Path, table: Table, headers: list[str]
                     ) -> tuple[dict[int, str], list[str]]:
    """Header position -> template column; and the unknown headers. Raises on missing required."""
    hmap = header_map(table)
    positions: dict[int, str] = {}
    unknown: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(headers):
        norm = normalise_header(raw)
        if not norm:
            continue
        name = hmap.get(norm)
        if name is None:
            unknown.append(raw.strip())
        elif name in seen:
            unknown.append(f"{raw.strip()} (second {name} column)")
        else:
            positions[i] = name
            seen.add(name)
    missing = [c for c in table.columns if c.required and c.name not in seen]
    if missing:
        names = ", ".join(f"{c.name} ({c.zh})" for c in missing)
        raise IngestError(
            f"{path.name}: missing required column{'s' if len(missing) > 1 else ''} {names} "
            f"for {table.name}; expected headers: {expected_headers(table)}"
        )
    return positions, unknown


def _records_to_columns(records: Iterator[list[str]], ncols: int
                        ) -> tuple[list[list[str]], list[int], list[tuple[int, str, str]], int]:
    """Python fallback: split records, keep row numbers, report ragged rows."""
    cols: list[list[str]] = [[] for _ in range(ncols)]
    rows: list[int] = []
    bad: list[tuple[int, str, str]] = []
    blank = 0
    for number, rec in enumerate(records, start=2):
        if not any(v.strip() for v in rec):
            blank += 1
            continue
        if len(rec) > ncols:
            extra = rec[ncols:]
            if any(v.strip() for v in extra):
                bad.append((number, ",".join(rec)[:200],
                            f"row has {len(rec)} fields, the header has {ncols}"))
                continue
            rec = rec[:ncols]
        elif len(rec) < ncols:
            rec = rec + [""] * (ncols - len(rec))
        for c, v in zip(cols, rec, strict=True):
            c.append(v)
        rows.append(number)
    return cols, rows, bad, blank


def _arrow_csv(path: Path, encoding: str, ncols: int) -> list[pa.Array]:
    names = [f"c{i}" for i in range(ncols)]
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(
            encoding="utf8" if encoding.startswith("utf-8") else encoding,
            skip_rows=1, column_names=names, block_size=1 << 24,
        ),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    return [table.column(n).combine_chunks() for n in names]


def _unquote(column: pa.Array) -> pa.Array:
    """Undo the CSV formula neutralisation of files GraphCRM wrote (``'=x`` -> ``=x``, see
    graphcrm.privacy): one apostrophe before (apostrophes and) ``= + - @``, tab or CR goes.
    Nothing in a cell is ever evaluated. Only columns with a leading apostrophe are rewritten."""
    if len(column) == 0 or not pc.any(pc.starts_with(column, "'")).as_py():
        return column
    return pc.replace_substring_regex(column, QUOTED.pattern, r"\1", max_replacements=1)


def read_file(path: str | Path, table: Table) -> RawFile:
    """Read one CSV or XLSX file for ``table``.

    Parameters
    ----------
    path
        The file (``.csv`` or ``.xlsx``).
    table
        The template it fills (see :func:`table_for_stem`).

    Returns
    -------
    RawFile
        Stripped text columns with their spreadsheet row numbers.

    Raises
    ------
    IngestError
        Missing or empty file, unreadable encoding or format, missing required columns.
    """
    p = Path(path)
    if not p.is_file():
        raise IngestError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise IngestError(f"{p.name}: empty file (no header row); expected headers: "
                          f"{expected_headers(table)}")
    bad: list[tuple[int, str, str]] = []
    blank = 0
    if p.suffix.lower() == ".xlsx":
        encoding = "xlsx"
        records = _xlsx_rows(p)
        headers = next(records, None) or []
        _check_header_row(p, table, headers)
        positions, unknown = _resolve_headers(p, table, headers)
        ncols = max(len(headers), 1)
        lists, rows, bad, blank = _records_to_columns(records, ncols)
        arrays = [pa.array(c, type=pa.string()) for c in lists]
        row_numbers = np.asarray(rows, dtype=np.int64)
    else:
        encoding = detect_encoding(p)
        headers = _first_record(p, encoding)
        _check_header_row(p, table, headers)
        positions, unknown = _resolve_headers(p, table, headers)
        ncols = len(headers)
        try:
            arrays = _arrow_csv(p, encoding, ncols)
            row_numbers = np.arange(2, 2 + (len(arrays[0]) if arrays else 0), dtype=np.int64)
        except pa.ArrowInvalid as exc:
            if "UTF8" in str(exc) and encoding.startswith("utf-8"):
                encoding = "gb18030"  # the first megabyte was UTF-8 by chance, the rest is not
            arrays, row_numbers, bad, blank = _python_csv(p, encoding, ncols)
    columns = {name: _unquote(pc.utf8_trim_whitespace(arrays[i]))
               for i, name in positions.items()}
    columns, row_numbers, more_blank = _drop_blank_rows(columns, row_numbers)
    return RawFile(p, table, encoding, columns, row_numbers, unknown, bad, blank + more_blank)


def _check_header_row(p: Path, table: Table, headers: list[str]) -> None:
    if not any(h.strip() for h in headers):
        raise IngestError(f"{p.name}: empty file (no header row); expected headers: "
                          f"{expected_headers(table)}")


def _python_csv(p: Path, encoding: str, ncols: int
                ) -> tuple[list[pa.Array], np.ndarray, list[tuple[int, str, str]], int]:
    try:
        with p.open(encoding=encoding, errors="strict", newline="") as fh:
            reader = csv.reader(fh)
            next(reader, None)
            lists, rows, bad, blank = _records_to_columns(reader, ncols)
    except UnicodeDecodeError as exc:
        raise IngestError(f"{p.name}: cannot read: not UTF-8 or GBK/GB18030 text "
                          f"(bad bytes at offset {exc.start})") from exc
    except csv.Error as exc:
        raise IngestError(f"{p.name}: not a readable CSV file ({exc})") from exc
    arrays = [pa.array(c, type=pa.string()) for c in lists]
    return arrays, np.asarray(rows, dtype=np.int64), bad, blank


def _drop_blank_rows(columns: dict[str, pa.Array], rows: np.ndarray
                     ) -> tuple[dict[str, pa.Array], np.ndarray, int]:
    if not columns or len(rows) == 0:
        return columns, rows, 0
    blank = None
    for arr in columns.values():
        b = pc.equal(pc.utf8_length(arr), 0)
        blank = b if blank is None else pc.and_(blank, b)
    assert blank is not None
    n_blank = pc.sum(blank).as_py() or 0
    if not n_blank:
        return columns, rows, 0
    keep = pc.invert(blank)
    mask = keep.to_numpy(zero_copy_only=False)
    return ({k: pc.filter(v, keep) for k, v in columns.items()}, rows[mask], int(n_blank))


# -- documentation ------------------------------------------------------------------------------
def _type_text(col: Column) -> str:
    if col.kind == "enum":
        text = "one of " + ", ".join(f"`{v}`" for v in col.values)
    elif col.kind == "ref":
        text = "id of " + " / ".join(lbl.value for lbl in col.refs)
    elif col.kind == "date":
        text = "date (YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or an Excel date)"
    elif col.kind == "phone":
        text = "mainland mobile (+86, spaces and dashes allowed)"
    elif col.kind == "id_number":
        text = "resident ID number (18 characters, checksum checked)"
    elif col.kind == "bool":
        text = "yes/no (true/false, 是/否, 1/0)"
    else:
        text = {"id": "id (text)", "text": "text", "int": "integer", "float": "number"}[col.kind]
    if col.low is not None or col.high is not None:
        lo = "" if col.low is None else f"{col.low:g}"
        hi = "" if col.high is None else f"{col.high:g}"
        text += f", {lo}..{hi}" if hi else f", ≥ {lo}"
    return text


def templates_markdown() -> str:
    """The column templates of every input file as Markdown (the content of docs/templates.md).

    Generated from :data:`graphcrm.model.TABLES`, so the documentation cannot drift from what
    ingest reads; a test compares the committed file with this function's output.
    """
    out = [
        "# Input file templates / 导入文件模板",
        "",
        "<!-- generated by graphcrm.ingest.readers.templates_markdown(); do not edit by hand -->",
        "",
        "`graphcrm ingest PATH...` reads files or folders of CSV (UTF-8, UTF-8 with BOM or "
        "GBK/GB18030) or XLSX files (first sheet). The file's kind comes from its name "
        "(`clients.csv`, `客户.xlsx`, `clients_branch2.csv`: a name or synonym as prefix) or, "
        "failing that, from its headers. Headers may be English (any case) or Chinese; "
        "unknown columns are ignored with a warning. Files are ingested in the order below, "
        "referenced tables first.",
        "",
        "Enum values are accepted in any case and in Chinese (e.g. `男`/`女`, `配偶`, `重疾`). "
        "Phone numbers are normalised to 11 digits (`+86 138-0013-8000` -> `13800138000`). "
        "Every rejected row goes to the rejects file (file, row, column, value, reason); the "
        "header is row 1. Clients with the same resident ID number are merged into the first "
        "one seen, and so are clients with the same mobile number *and* the same name (after "
        "normalisation) whose birth dates, genders and ID numbers do not conflict: the later id "
        "becomes an alias, fills the kept client's blank fields, and references to it are "
        "rewritten to the kept id. A shared mobile number alone merges nothing (a family often "
        "gives one number for several people); such rows are listed by `graphcrm merges "
        "--candidates` (rules: docs/metrics.md, \"Identity\").",
        "",
    ]
    for table in TABLES:
        names = ", ".join(f"`{s}`" for s in (table.name, *table.synonyms))
        out += [
            f"## {table.name} / {table.zh}",
            "",
            f"{table.help} Key: {', '.join(f'`{k}`' for k in table.key)}. "
            f"File names: {names}.",
            "",
            "| column | 中文表头 | type | required | meaning |",
            "| --- | --- | --- | --- | --- |",
        ]
        for col in table.columns:
            meaning = col.help
            if col.aliases:
                also = ", ".join(f"`{a}`" for a in col.aliases)
                meaning = f"{meaning}; also read as {also}" if meaning else f"also read as {also}"
            out.append(f"| `{col.name}` | {col.zh} | {_type_text(col)} | "
                       f"{'yes' if col.required else ''} | {meaning} |")
        out.append("")
    return "\n".join(out)


def templates_summary_markdown() -> str:
    """A one-line-per-file table of the templates for the README (required columns only).

    Like :func:`templates_markdown`, generated from :data:`graphcrm.model.TABLES`; a test
    checks that the README holds exactly this table.
    """
    out = ["| file / 文件 | required columns / 必填列 (English or 中文 header) "
           "| optional columns |", "| --- | --- | --- |"]
    for table in TABLES:
        required = ", ".join(f"`{c.name}`/`{c.zh}`" for c in table.columns if c.required)
        optional = ", ".join(f"`{c.name}`" for c in table.columns if not c.required)
        out.append(f"| `{table.name}` / {table.zh} | {required} | {optional} |")
    return "\n".join(out)
