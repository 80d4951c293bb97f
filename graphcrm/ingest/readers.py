"""Readers: CSV and XLSX input files into columns of stripped strings, one per template column.

What a reader does, in order:

1. tells the file's kind (which :data:`graphcrm.model.TABLES` template it fills) from the
   file stem (``clients.csv``, ``客户.xlsx``, ``clients_branch2.csv``) or else from its headers;
2. detects the text encoding without being told: UTF-8, UTF-8 with BOM, UTF-16 with BOM,
   GBK/GB18030 (what Excel in China writes) and Big5 (Taiwan, Hong Kong), with
   ``charset-normalizer`` deciding between the legacy encodings; a doubtful file is refused with
   the candidates named;
3. maps the headers, English (case-insensitive) or Chinese, to the template's columns; unknown
   columns are ignored with a warning, a missing required column makes the file unusable;
4. reads every cell as text (ids keep their leading zeros), strips spaces, drops blank rows and
   remembers each row's spreadsheet row number (the header is row 1).

Big CSV files are parsed by Arrow's multithreaded CSV reader; malformed files (ragged rows,
bytes that are not text in the file's encoding, blank lines, a runaway quote) fall back to
Python's :mod:`csv` on the decoded text, so one defect costs one row: that row is rejected with
its row number, the column where known and the reason, and the rest is kept. Every cell is
cleaned the same way: invisible characters (NUL, BOM, zero-width and direction marks) are
removed everywhere, and full-width digits, letters and spaces (NFKC) are folded in every column
that is not free text (ids, phones, ID numbers, dates, numbers, codes).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import sys
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from graphcrm.config import IngestSettings
from graphcrm.model import TABLES, Column, Table
from graphcrm.privacy import QUOTED

#: file suffixes ingest reads
INPUT_SUFFIXES = (".csv", ".xlsx")
#: how much of a file's start is read to detect its encoding and header
_HEAD_BYTES = 1 << 20
_BOM = codecs.BOM_UTF8
#: what the encoding detector may choose between when a file is not UTF-8 (Python codec names)
LEGACY_ENCODINGS = ("gb18030", "big5")
#: invisible characters removed from every cell (RE2 syntax): NUL and other C0 controls but tab,
#: soft hyphen, zero-width space/joiners, direction marks and embeddings, word joiner and
#: invisible operators, BOM
INVISIBLE = (r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x{00ad}\x{200b}-\x{200f}\x{202a}-\x{202e}"
             r"\x{2060}-\x{2064}\x{feff}]")
_INVISIBLE_PY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u00ad\u200b-\u200f\u202a-\u202e"
                           "\u2060-\u2064\ufeff]")
#: column kinds whose text is folded with NFKC (full-width digits, letters and spaces)
FOLDED_KINDS = ("id", "ref", "phone", "id_number", "date", "int", "float", "bool", "enum")
#: marks bytes that are not text in the file's encoding (a lone surrogate never decodes)
_BAD_BYTES = "\udcff"
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _mark_bad_bytes(exc: UnicodeError) -> tuple[str, int]:
    assert isinstance(exc, UnicodeDecodeError)
    return _BAD_BYTES, exc.end


codecs.register_error("graphcrm-mark", _mark_bad_bytes)


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
        ``utf-8``, ``utf-8-sig``, ``utf-16``, ``gb18030``, ``big5`` or ``xlsx``.
    columns
        Template column name -> Arrow string array (stripped, ``""`` for blank), for the
        template columns present in the file; all arrays have ``len(rows)`` entries.
    rows
        Spreadsheet row number of each row (header = row 1).
    unknown_headers
        Headers that match no template column (ignored).
    bad_rows
        ``(row, column, value, reason)`` for rows that could not be read: ragged, bytes that are
        not text, a field over the size limit, the cut-off last row.
    blank_rows
        Rows with every cell blank (skipped silently).
    """

    path: Path
    table: Table
    encoding: str
    columns: dict[str, pa.Array]
    rows: np.ndarray
    unknown_headers: list[str] = field(default_factory=list)
    bad_rows: list[tuple[int, str, str, str]] = field(default_factory=list)
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
def encoding_name(encoding: str) -> str:
    """How an encoding is named to users: ``UTF-8``, ``GB18030``, ``Big5``, ``UTF-16``."""
    return {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16", "gb18030": "GB18030",
            "big5": "Big5", "xlsx": "XLSX"}.get(encoding, encoding)


def _decodes(data: bytes, encoding: str, complete: bool) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)(errors="strict").decode(data, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def _mostly_utf8(head: bytes, complete: bool) -> bool:
    """UTF-8 with a few rows that are not (one GBK or Latin-1 row pasted into a UTF-8 file, a
    cut-off last character): at least as many lines with non-ASCII text decode as UTF-8 as
    fail to (text in another encoding is almost never valid UTF-8 by chance). The last line
    counts as UTF-8 when only its end is cut off in the middle of a character."""
    lines = head.splitlines()
    if not complete and lines:
        lines = lines[:-1]  # the last line of the head may be cut mid-character
    good = bad = 0
    for k, line in enumerate(lines):
        if line.isascii():
            continue
        if _decodes(line, "utf-8", complete=k < len(lines) - 1):
            good += 1
        else:
            bad += 1
    return good > 0 and good >= bad


def detect_encoding(path: Path, settings: IngestSettings | None = None,
                    data: bytes | None = None) -> str:
    """The encoding of a CSV file, from its first megabyte.

    ``utf-8-sig`` or ``utf-16`` when the file starts with a byte-order mark; ``utf-8`` when it
    decodes as UTF-8 (or mostly does: the rows that do not are rejected one by one); otherwise
    ``charset-normalizer`` chooses among :data:`LEGACY_ENCODINGS` (GB18030, which reads GBK, and
    Big5).

    Raises
    ------
    IngestError
        When no candidate reads the file, or when two read it about equally well (the
        runner-up's chaos score within ``settings.encoding_margin`` of the best): the
        message names the candidates, so the user can save the file as UTF-8.
    """
    settings = settings or IngestSettings()
    if data is not None:
        head, complete = data[:_HEAD_BYTES], len(data) <= _HEAD_BYTES
    else:
        with path.open("rb") as fh:
            head = fh.read(_HEAD_BYTES)
            complete = len(head) < _HEAD_BYTES
    if head.startswith(_BOM):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _decodes(head, "utf-8", complete) or _mostly_utf8(head, complete):
        return "utf-8"
    from charset_normalizer import from_bytes

    # a few lines that are not text in an encoding (a pasted row, a cut-off last character)
    # do not rule it out: they are rejected one by one; the rest decides
    lines = [line for line in head.splitlines() if not line.isascii()]
    if not complete and lines:
        lines = lines[:-1]
    tolerated = max(1, len(lines) // 100)
    failing = {enc: sum(not _decodes(line, enc, True) for line in lines)
               for enc in LEGACY_ENCODINGS}
    viable = [enc for enc, n in failing.items() if n <= tolerated and n < len(lines)]
    common = [line for line in lines if all(_decodes(line, enc, True) for enc in viable)]
    matches = sorted(from_bytes(b"\n".join(common), cp_isolation=viable, threshold=0.5),
                     key=lambda m: m.chaos) if viable and common else []
    if not matches:
        if len(viable) == 1:  # the only one that reads it (the detector found it too noisy)
            return str(codecs.lookup(viable[0]).name)
        if len(viable) > 1:
            raise IngestError(f"{path.name}: cannot tell the encoding: "
                              f"{' or '.join(viable)} read it about equally well (save it as "
                              "UTF-8 CSV)")
        raise IngestError(f"{path.name}: cannot read: not UTF-8, UTF-16, GBK/GB18030 or Big5 "
                          "text (save it as UTF-8 CSV)")
    best = matches[0]
    close = [m for m in matches[1:] if m.chaos - best.chaos <= settings.encoding_margin]
    if close:
        names = " or ".join(m.encoding for m in [best, *close])
        raise IngestError(f"{path.name}: cannot tell the encoding: {names} read it about "
                          "equally well (save it as UTF-8 CSV)")
    return str(codecs.lookup(best.encoding).name)


def _first_record(path: Path, encoding: str, data: bytes | None = None) -> list[str]:
    if data is not None:
        head = data[:_HEAD_BYTES]
    else:
        with path.open("rb") as fh:
            head = fh.read(_HEAD_BYTES)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)
    try:
        for rec in csv.reader(io.StringIO(text, newline="")):
            return [_INVISIBLE_PY.sub("", v) for v in rec]
    except csv.Error as exc:
        raise IngestError(f"{path.name}: cannot read the header row ({exc})") from exc
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

    if not zipfile.is_zipfile(path):
        raise IngestError(f"{path.name}: cannot read as XLSX: not an Excel workbook (an XLSX "
                          "file is a zip archive)")
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zip/XML errors of every kind
        raise IngestError(f"{path.name}: cannot read as XLSX: damaged workbook "
                          f"({type(exc).__name__}: {str(exc)[:120]})") from exc
    try:
        if not wb.worksheets:
            raise IngestError(f"{path.name}: cannot read as XLSX: the workbook has no worksheet")
        ws = wb.worksheets[0]
        try:
            for row in ws.iter_rows(values_only=True):
                yield [_cell_text(v) for v in row]
        except IngestError:
            raise
        except Exception as exc:  # truncated or invalid sheet XML, a missing part
            raise IngestError(f"{path.name}: cannot read as XLSX: damaged worksheet "
                              f"'{ws.title}' ({type(exc).__name__}: {str(exc)[:120]})") from exc
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


BadRow = tuple[int, str, str, str]  # row, column, value, reason


def _shown(value: str, limit: int = 200) -> str:
    """A cell as shown in the rejects file: bad bytes and control characters as U+FFFD, cut to
    ``limit`` characters."""
    value = _CONTROL_PY.sub("\ufffd", value.replace(_BAD_BYTES, "\ufffd"))
    return value if len(value) <= limit else value[:limit] + "..."


def _too_long(value: str, max_bytes: int) -> bool:
    return len(value) * 4 > max_bytes and len(value.encode("utf-8", "surrogatepass")) > max_bytes


def _row_problem(rec: list[str], headers: list[str], ncols: int, max_bytes: int,
                 encoding: str, ragged: bool) -> tuple[str, str, str] | None:
    """``(column, value, reason)`` when a record cannot be used as a row, else None."""
    def name(i: int) -> str:
        return headers[i].strip() if i < len(headers) and headers[i].strip() else f"field {i + 1}"

    for i, v in enumerate(rec):
        if _BAD_BYTES in v:
            return name(i), _shown(v), f"bytes that are not {encoding_name(encoding)} text"
    for i, v in enumerate(rec):
        if _too_long(v, max_bytes):
            return name(i), _shown(v), f"field longer than {max_bytes:,} bytes"
    if ragged:
        if len(rec) > ncols and any(v.strip() for v in rec[ncols:]):
            return (f"field {ncols + 1}", _shown(",".join(rec)),
                    f"extra fields: the row has {len(rec)} fields, the header {ncols}")
        if len(rec) < ncols:
            return (name(len(rec)), _shown(",".join(rec)),
                    f"missing fields: the row has {len(rec)} fields, the header {ncols}")
    return None


def _records_to_columns(records: Iterator[list[str]], headers: list[str], *, max_bytes: int,
                        ragged: bool = False, encoding: str = "xlsx"
                        ) -> tuple[list[list[str]], list[int], list[BadRow], int]:
    """Split records into columns, keeping row numbers (the header is row 1) and rejecting the
    records that cannot be rows (see :func:`_row_problem`). ``ragged``: a record with fewer
    fields than the header is rejected (CSV) rather than padded with blanks (XLSX, whose
    rows end at their last filled cell)."""
    ncols = max(len(headers), 1)
    cols: list[list[str]] = [[] for _ in range(ncols)]
    rows: list[int] = []
    bad: list[BadRow] = []
    blank = 0
    for number, rec in enumerate(records, start=2):
        if not any(v.strip() for v in rec):
            blank += 1
            continue
        problem = _row_problem(rec, headers, ncols, max_bytes, encoding, ragged)
        if problem is not None:
            bad.append((number, *problem))
            continue
        if len(rec) > ncols:
            rec = rec[:ncols]
        elif len(rec) < ncols:
            rec = rec + [""] * (ncols - len(rec))
        for c, v in zip(cols, rec, strict=True):
            c.append(v)
        rows.append(number)
    return cols, rows, bad, blank


class _TrackedLines:
    """The physical lines of a text (``\\n``, ``\\r\\n`` or an old Mac's ``\\r``) for
    :func:`csv.reader`, remembering which lines each record took."""

    def __init__(self, text: str) -> None:
        self._it = (m.group(0) for m in _LINE.finditer(text))
        self.taken: list[str] = []

    def __iter__(self) -> _TrackedLines:
        return self

    def __next__(self) -> str:
        line = next(self._it)
        self.taken.append(line)
        return line


def _csv_records(text: str, ncols: int, max_bytes: int) -> Iterator[list[str]]:
    """Records of a CSV text, one defect costing one record.

    A quoted field may span lines; but when such a record does not fit the header (wrong
    number of fields, a field over the size limit, or a line inside it that looks like a row
    of its own) the quote was a stray one that swallowed the rows after it, so its lines are
    read again one by one, each its own record. A line
    the :mod:`csv` module refuses becomes a one-field record holding the line (rejected by
    the caller as ragged).
    """
    lines = _TrackedLines(text)
    reader = csv.reader(lines)
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            return
        except csv.Error:
            rec = None
        taken, lines.taken = lines.taken, []
        if rec is not None and (len(taken) < 2 or (
                len(rec) == ncols and not any(_too_long(v, max_bytes) for v in rec)
                and not any(line.count(",") >= ncols - 1 for line in taken[1:]))):
            yield rec  # one line, or a quoted field with line breaks that swallowed no row
            continue
        for line in taken:
            try:
                yield next(csv.reader([line.rstrip("\r\n")]), [])
            except csv.Error:
                yield [line.rstrip("\r\n")]


def text_bytes(arr: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """A string column without missing values as NumPy views of its Arrow buffers (no copy):
    the ``len(arr) + 1`` offsets and the UTF-8 bytes of its cells (``offsets[0]`` is where
    ``bytes`` starts); None for any other array, which the callers check with Arrow instead.
    """
    if (isinstance(arr, pa.ChunkedArray) or arr.null_count or len(arr) == 0
            or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type))):
        return None
    _, off_buf, data_buf = arr.buffers()
    width = np.int32 if pa.types.is_string(arr.type) else np.int64
    offsets = np.frombuffer(off_buf, dtype=width)[arr.offset:arr.offset + len(arr) + 1]
    data = (np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None and data_buf.size
            else np.zeros(0, dtype=np.uint8))
    return offsets, data[offsets[0]:offsets[-1]]


def printable_ascii(data: np.ndarray) -> bool:
    """Whether every byte is printable ASCII (space to ``~``): no control character, no
    line break, no tab, nothing beyond ASCII."""
    return bool(((data - np.uint8(0x20)) < np.uint8(0x5F)).all())  # (bytes below 0x20 wrap)


def blank_cells(arr: pa.Array) -> np.ndarray:
    """Bool per cell: the cell is empty (``""``)."""
    view = text_bytes(arr)
    if view is not None:
        return view[0][1:] == view[0][:-1]
    return pc.equal(pc.utf8_length(arr), 0).to_numpy(zero_copy_only=False)


def _has_line_break(arr: pa.Array) -> bool:
    """Whether a cell holds a line feed or a carriage return."""
    view = text_bytes(arr)
    if view is None:
        return bool(pc.any(pc.match_substring(arr, "\n")).as_py()
                    or pc.any(pc.match_substring(arr, "\r")).as_py())
    data = view[1]
    return not printable_ascii(data) and bool(((data == 0x0A) | (data == 0x0D)).any())


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
    if len(column) == 0:
        return column
    view = text_bytes(column)
    if view is not None:
        offsets, data = view
        starts = offsets[:-1][offsets[:-1] < offsets[1:]] - offsets[0]  # non-blank cells
        if not (data[starts] == ord("'")).any():
            return column
    elif not pc.any(pc.starts_with(column, "'")).as_py():
        return column
    return pc.replace_substring_regex(column, QUOTED.pattern, r"\1", max_replacements=1)


def read_file(path: str | Path, table: Table, settings: IngestSettings | None = None
              ) -> RawFile:
    """Read one CSV or XLSX file for ``table``.

    Parameters
    ----------
    path
        The file (``.csv`` or ``.xlsx``).
    table
        The template it fills (see :func:`table_for_stem`).
    settings
        Ingest settings (field size limit, encoding margin, the cut-off last row rule).

    Returns
    -------
    RawFile
        Cleaned text columns with their spreadsheet row numbers, and the rows that could not
        be read (``bad_rows``).

    Raises
    ------
    IngestError
        Missing or empty file, unreadable encoding or format, missing required columns.
    """
    settings = settings or IngestSettings()
    max_bytes = settings.max_field_bytes
    p = Path(path)
    if not p.is_file():
        raise IngestError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise IngestError(f"{p.name}: empty file (no header row); expected headers: "
                          f"{expected_headers(table)}")
    bad: list[BadRow] = []
    blank = 0
    lists: list[list[str]] | None = None  # row by row (XLSX, small or malformed CSV)
    arrays: list[pa.Array] = []  # Arrow's reader
    rows: list[int] = []
    row_numbers = np.zeros(0, dtype=np.int64)
    if p.suffix.lower() == ".xlsx":
        encoding = "xlsx"
        records = _xlsx_rows(p)
        try:
            headers = [_INVISIBLE_PY.sub("", h) for h in next(records, None) or []]
            _check_header_row(p, table, headers)
            positions, unknown = _resolve_headers(p, table, headers)
            lists, rows, bad, blank = _records_to_columns(records, headers, max_bytes=max_bytes)
        finally:
            records.close()
    else:
        size = p.stat().st_size
        data = p.read_bytes() if size < settings.arrow_min_bytes else None
        encoding = detect_encoding(p, settings, data)
        headers = _first_record(p, encoding, data)
        _check_header_row(p, table, headers)
        positions, unknown = _resolve_headers(p, table, headers)
        ncols = len(headers)
        if encoding in ("utf-8", "utf-8-sig", "gb18030") and data is None:
            try:
                arrow = _arrow_csv(p, encoding, ncols)
                if any(_has_line_break(a) for a in arrow):
                    raise pa.ArrowInvalid("a quoted field spans lines: was its quote a stray "
                                          "one? (read row by row)")
                numbers = np.arange(2, 2 + (len(arrow[0]) if arrow else 0), dtype=np.int64)
                arrays, row_numbers, bad = _long_fields(arrow, numbers, headers, max_bytes)
                del arrow
                # the parser's buffers are free now: give them back (a 300k-row edge list:
                # 40 of the 70 MiB the read left resident; docs/benchmarks-ingest.md)
                pa.default_memory_pool().release_unused()
            except (pa.ArrowInvalid, UnicodeError):
                lists = []  # ragged rows, bytes that are not text, a blank line: row by row
        else:
            lists = []
        if lists is not None:
            lists, rows, bad, blank = _python_csv(p, encoding, headers, max_bytes, data)
        n = len(rows) if lists is not None else len(row_numbers)
        last_row = (rows[-1] if lists is not None else int(row_numbers[-1])) if n else 0
        if (settings.reject_unterminated_last_row and n
                and not any(b[0] > last_row for b in bad) and _unterminated(p, encoding, data)):
            if lists is not None:
                shown = ",".join(c[-1] for c in lists)
                lists = [c[:-1] for c in lists]
                rows = rows[:-1]
            else:
                shown = ",".join(str(a[n - 1].as_py()) for a in arrays)
                arrays = [a.slice(0, n - 1) for a in arrays]
                row_numbers = row_numbers[:-1]
            bad.append((last_row, headers[-1].strip() or f"field {ncols}", _shown(shown),
                        "the file ends inside this row (no line break after it): cut off "
                        "while being copied?"))
    more_blank = 0
    if lists is not None:
        columns, row_numbers, more_blank = _clean_lists(lists, rows, positions, table)
    else:
        columns = {name: clean_text(arrays[i], folded=table.column(name).kind in FOLDED_KINDS)
                   for i, name in positions.items()}
        columns, row_numbers, more_blank = _drop_blank_rows(columns, row_numbers)
    # undo the formula neutralisation of files GraphCRM wrote (graphcrm.privacy)
    columns = {name: _unquote(col) for name, col in columns.items()}
    bad.sort(key=lambda b: b[0])
    return RawFile(p, table, encoding, columns, row_numbers, unknown, bad, blank + more_blank)


_CONTROL_PY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_value(value: str, folded: bool) -> str:
    """One cell cleaned as :func:`clean_text` cleans a column (the row-by-row readers use it)."""
    if not value.isascii():
        if folded:
            value = unicodedata.normalize("NFKC", value)
        value = _INVISIBLE_PY.sub("", value)
    elif _CONTROL_PY.search(value):
        value = _INVISIBLE_PY.sub("", value)
    return value.strip()


def _clean_lists(lists: list[list[str]], rows: list[int], positions: dict[int, str],
                 table: Table) -> tuple[dict[str, pa.Array], np.ndarray, int]:
    """Row-by-row columns -> cleaned Arrow columns of the template, rows left blank dropped."""
    cleaned: dict[str, list[str]] = {}
    for i, name in positions.items():
        folded = table.column(name).kind in FOLDED_KINDS
        cleaned[name] = [clean_value(v, folded) for v in lists[i]]
    keep = [k for k in range(len(rows)) if any(c[k] for c in cleaned.values())]
    dropped = len(rows) - len(keep)
    if dropped:
        cleaned = {name: [c[k] for k in keep] for name, c in cleaned.items()}
        rows = [rows[k] for k in keep]
    return ({name: pa.array(c, type=pa.string()) for name, c in cleaned.items()},
            np.asarray(rows, dtype=np.int64), dropped)


def clean_text(arr: pa.Array, folded: bool) -> pa.Array:
    """Strip spaces and remove invisible characters (:data:`INVISIBLE`); with ``folded``, also
    fold full-width digits, letters and spaces (and the non-breaking space) to ASCII (NFKC).

    Pure-ASCII columns (the usual ids, phones and dates) are only checked, not rewritten.

    Examples
    --------
    >>> clean_text(pa.array(["１３８\u00a00013\u200b8000 "]), folded=True).to_pylist()
    ['138 00138000']
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    view = text_bytes(arr)
    if view is not None and printable_ascii(view[1]):
        # the usual column: nothing to remove or fold, and the only space is " "; trimmed
        # only when a cell starts or ends with one (one pass over the bytes, ~0.5 ms per
        # 300,000 cells, where Arrow's checks and trim take ~12 ms)
        offsets, data = view
        filled = offsets[:-1] < offsets[1:]
        first = offsets[:-1][filled] - offsets[0]
        last = offsets[1:][filled] - offsets[0] - 1
        if not ((data[first] == 0x20).any() or (data[last] == 0x20).any()):
            return arr
        return pc.ascii_trim_whitespace(arr)
    # the checks are single fast passes (~1 ms per 50,000 cells); the rewrites run only on the
    # columns that need them
    if pc.all(pc.string_is_ascii(arr)).as_py():
        if not pc.all(pc.ascii_is_printable(arr)).as_py():  # NUL and other control characters
            arr = pc.replace_substring_regex(arr, INVISIBLE, "")
    else:
        if folded:
            arr = pc.utf8_normalize(arr, "NFKC")
        if not pc.all(pc.utf8_is_printable(arr)).as_py():  # zero-width, BOM, direction marks
            arr = pc.replace_substring_regex(arr, INVISIBLE, "")
    return pc.utf8_trim_whitespace(arr)


def _long_fields(arrays: list[pa.Array], rows: np.ndarray, headers: list[str], max_bytes: int
                 ) -> tuple[list[pa.Array], np.ndarray, list[BadRow]]:
    """Reject the rows with a field over ``max_bytes`` (Arrow path)."""
    over = np.zeros(len(rows), dtype=bool)
    first_col = np.full(len(rows), -1, dtype=np.int64)
    for i, a in enumerate(arrays):
        m = pc.greater(pc.binary_length(a), max_bytes).to_numpy(zero_copy_only=False)
        first_col[m & ~over] = i
        over |= m
    if not over.any():
        return arrays, rows, []
    bad = [(int(rows[k]), headers[first_col[k]].strip() or f"field {first_col[k] + 1}",
            _shown(arrays[first_col[k]][k].as_py()), f"field longer than {max_bytes:,} bytes")
           for k in np.flatnonzero(over)]
    keep = pa.array(~over)
    return [a.filter(keep) for a in arrays], rows[~over], bad


def _unterminated(p: Path, encoding: str, data: bytes | None = None) -> bool:
    """True when the file's last row has no line break after it."""
    if data is not None:
        big_endian, tail = data[:2] == codecs.BOM_UTF16_BE, data[-4:]
    else:
        with p.open("rb") as fh:
            big_endian = fh.read(2) == codecs.BOM_UTF16_BE
            fh.seek(max(p.stat().st_size - 4, 0))
            tail = fh.read()
    if encoding == "utf-16":
        ends = (b"\x00\n", b"\x00\r") if big_endian else (b"\n\x00", b"\r\x00")
        return not tail.endswith(ends)
    return not tail.endswith((b"\n", b"\r"))


def _check_header_row(p: Path, table: Table, headers: list[str]) -> None:
    if not any(h.strip() for h in headers):
        raise IngestError(f"{p.name}: empty file (no header row); expected headers: "
                          f"{expected_headers(table)}")


def _python_csv(p: Path, encoding: str, headers: list[str], max_bytes: int,
                data: bytes | None = None
                ) -> tuple[list[list[str]], list[int], list[BadRow], int]:
    """Row by row: bytes that are not text in ``encoding`` mark their row, which is rejected."""
    text = (p.read_bytes() if data is None else data).decode(encoding, errors="graphcrm-mark")
    if text.startswith("\ufeff"):
        text = text[1:]
    old_limit = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)  # the size limit is ours: one row, not the file
    try:
        records = _csv_records(text, len(headers), max_bytes)
        next(records, None)  # the header
        lists, rows, bad, blank = _records_to_columns(
            records, headers, max_bytes=max_bytes, ragged=True, encoding=encoding)
    finally:
        csv.field_size_limit(old_limit)
    return lists, rows, bad, blank


def _drop_blank_rows(columns: dict[str, pa.Array], rows: np.ndarray
                     ) -> tuple[dict[str, pa.Array], np.ndarray, int]:
    if not columns or len(rows) == 0:
        return columns, rows, 0
    blank = np.ones(len(rows), dtype=bool)
    for arr in columns.values():
        blank &= blank_cells(arr)
    n_blank = int(blank.sum())
    if not n_blank:
        return columns, rows, 0
    mask = ~blank
    keep = pa.array(mask)
    return ({k: pc.filter(v, keep) for k, v in columns.items()}, rows[mask], n_blank)


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
        "`graphcrm ingest PATH...` reads files or folders of CSV (UTF-8, UTF-8 with BOM, "
        "UTF-16 with BOM, GBK/GB18030 or Big5, detected; a file whose encoding is doubtful "
        "is refused with the candidates named: save it as UTF-8) or XLSX files (first "
        "sheet). The file's kind comes from its name "
        "(`clients.csv`, `客户.xlsx`, `clients_branch2.csv`: a name or synonym as prefix) or, "
        "failing that, from its headers. Headers may be English (any case) or Chinese; "
        "unknown columns are ignored with a warning. Files are ingested in the order below, "
        "referenced tables first.",
        "",
        "Enum values are accepted in any case and in Chinese (e.g. `男`/`女`, `配偶`, `重疾`). "
        "Phone numbers are normalised to 11 digits (`+86 138-0013-8000` -> `13800138000`). "
        "Every rejected row goes to the rejects file (file, row, column, value, reason); the "
        "header is row 1.",
        "",
        "## Messy files / 不规范的文件",
        "",
        "One defect costs one row, never the file. A row is rejected, with its row number, "
        "the column where known and the reason, when: its bytes are not text in the file's "
        "encoding (one GBK or Latin-1 row in a UTF-8 file; a file cut off in the middle of a "
        "character); it has more fields than the header (`extra fields`, column `field N`) or "
        "fewer (`missing fields`, column: the first missing one); a field is longer than "
        "`ingest.max_field_bytes` (64 KB); a stray quote swallowed the rows after it (each "
        "line is then read on its own); or it is the last row and the file ends without a "
        "line break after it (`ingest.reject_unterminated_last_row`: a file cut off while "
        "being copied). Line ends may be `\\n`, `\\r\\n` or an old Mac's `\\r`.",
        "",
        "Every cell is cleaned the same way: NUL, BOM, zero-width and direction-mark "
        "characters are removed (so `C\\u200b001` is `C001`, not a look-alike id), and in "
        "every column that is not free text (ids, phones, ID numbers, dates, numbers, codes) "
        "full-width digits, letters and spaces and the non-breaking space are folded to "
        "ASCII (NFKC): `１３８ 0013 8000` is `13800138000`, `２０２４－０３－０５` is "
        "`2024-03-05`.",
        "",
        "Values that are well formed but cannot be true are rejected (limits: the `[ingest]` "
        "settings in config.md): birth, hire and interaction dates after today "
        "(`max_future_days`), a policy starting more than `max_policy_start_days_ahead` "
        "(366) days ahead, a birth date before `min_birth_year` (1900), any date outside "
        "1900-2100, a departure before the hire, an agent who supervises themself, and "
        "agents whose supervisors lead round in a circle (each named: `supervisor cycle: "
        "A1 -> A2 -> A1`). A circle is found whether this file closes it alone or through "
        "agents of an earlier agents file of the same job or already in the store; every "
        "agent of this file on the circle is rejected (the earlier rows stand), and so is an "
        "agent of this file whose supervisor was rejected with them (`unknown Agent id`).",
        "",
        "A whole file is refused with a one-line error naming it (and the job goes on with "
        "the other files) only when it cannot be read at all: not a workbook, a workbook "
        "without a worksheet or with damaged sheet XML, an unreadable encoding, missing "
        "required columns. A `--rejects` path that cannot be written stops the job before "
        "any row is written.",
        "",
        "Clients with the same resident ID number are merged into the first "
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
