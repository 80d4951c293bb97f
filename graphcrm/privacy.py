"""Personal data on its way out: masking, CSV formula neutralisation, terminal text, output paths.

This module sits at the bottom of the layers (beside :mod:`graphcrm.model`): every writer of
something a person reads (the app, CLI tables, the rejects file, the reward ledger, downloads)
calls it, and it imports nothing else from GraphCRM. Rules (docs/privacy.md):

- **Masking** -- a mainland mobile keeps its first 3 and last 4 digits (``138****1234``); a
  resident ID number keeps its first 4 and last 4 characters (``4201**********001X``). Anything
  else in a phone/ID column keeps at most its first and last character. Unmasked values are only
  for an admin's per-person detail and ``graphcrm export --unmasked`` (re-ingest).
- **CSV formula neutralisation** (OWASP "CSV Injection"): a text cell starting with ``=``, ``+``,
  ``-``, ``@``, tab or carriage return gets a leading apostrophe, so Excel / WPS show it as text
  instead of running it. Numbers stay numbers (``-12.5`` is not a formula). :func:`unneutralise`
  undoes it for files GraphCRM reads back (``rewards --paid``).
- **Terminal text** -- control characters (C0, DEL, C1: ESC/OSC/CSI sequences start with one)
  are replaced by ``U+FFFD`` before a value reaches a terminal.
- **Output paths** -- a file GraphCRM is told to write must not be an input file, the store or
  one of its companion files (WAL, journal, analysis snapshot, access file).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "FORMULA_PREFIXES",
    "PERSONAL_COLUMNS",
    "OutputPathError",
    "check_output_path",
    "mask_frame",
    "mask_id_number",
    "mask_phone",
    "mask_rejects",
    "mask_value",
    "neutralise",
    "neutralise_frame",
    "store_companions",
    "term",
    "term_frame",
    "term_json",
    "term_text",
    "unneutralise",
]

#: columns holding contact or identity numbers, masked wherever a person reads them
PERSONAL_COLUMNS: dict[str, str] = {
    "phone": "phone", "id_number": "id_number", "手机号": "phone", "手机": "phone",
    "电话": "phone", "身份证号": "id_number", "证件号码": "id_number",
}

#: OWASP CSV injection: cells starting with one of these are formulas to a spreadsheet
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_MASK = "*"
#: a cell that needs the apostrophe: a formula prefix, possibly behind apostrophes already
#: (``'=x`` is written ``''=x`` so that reading back removes exactly one and gets ``'=x``)
NEEDS_QUOTE = re.compile(r"^'*[=+\-@\t\r]")
#: a plain number (``-5``, ``+1.5e3``): a spreadsheet reads it as a number, never a formula
PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
#: a neutralised cell as read back: one apostrophe to remove
QUOTED = re.compile(r"^'('*[=+\-@\t\r])")
_CONTROL_ALL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_TEXT = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_C1 = re.compile(r"[\x7f-\x9f]")


def _blank(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def mask_phone(value: Any) -> Any:
    """``13812341234`` -> ``138****1234`` (first 3, last 4 digits kept).

    Separators and a ``+86`` prefix are dropped first; a value with fewer than 8 digits keeps
    only its last 2. Missing values stay missing.
    """
    if _blank(value):
        return value
    text = str(value).strip()
    digits = re.sub(r"\D", "", text)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) >= 8:
        return digits[:3] + _MASK * (len(digits) - 7) + digits[-4:]
    if len(text) <= 2:
        return _MASK * len(text)
    return _MASK * (len(text) - 2) + text[-2:]


def mask_id_number(value: Any) -> Any:
    """``420102199001011234`` -> ``4201**********1234`` (first 4, last 4 kept)."""
    if _blank(value):
        return value
    text = str(value).strip()
    if len(text) >= 10:
        return text[:4] + _MASK * (len(text) - 8) + text[-4:]
    if len(text) <= 2:
        return _MASK * len(text)
    return text[0] + _MASK * (len(text) - 2) + text[-1]


def mask_value(kind: str, value: Any) -> Any:
    """Mask ``value`` as a ``"phone"`` or ``"id_number"``."""
    return mask_phone(value) if kind == "phone" else mask_id_number(value)


def mask_frame(frame: pd.DataFrame, columns: dict[str, str] | None = None) -> pd.DataFrame:
    """A copy of ``frame`` with every phone / ID number column masked.

    ``columns`` maps column name -> ``"phone"`` or ``"id_number"`` (default
    :data:`PERSONAL_COLUMNS`: ``phone``, ``id_number`` and their Chinese headers).
    """
    cols = PERSONAL_COLUMNS if columns is None else columns
    hit = [c for c in frame.columns if c in cols]
    if not hit:
        return frame
    out = frame.copy()
    for c in hit:
        out[c] = out[c].map(lambda v, k=cols[c]: mask_value(k, v)).astype(object)
    return out


def mask_rejects(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a rejects table (``column``, ``value``, ...) whose ``value`` is masked on the
    rows where ``column`` is a phone or ID number column."""
    if "column" not in frame.columns or "value" not in frame.columns or frame.empty:
        return frame
    out = frame.copy()
    kinds = out["column"].map(PERSONAL_COLUMNS)
    hit = kinds.notna()
    if hit.any():
        out["value"] = out["value"].astype(object)
        out.loc[hit, "value"] = [mask_value(k, v) for k, v in
                                 zip(kinds[hit], out.loc[hit, "value"], strict=True)]
    return out


def neutralise(value: Any) -> Any:
    """One CSV cell made safe for a spreadsheet (OWASP): text starting with ``= + - @``, tab or
    carriage return gets a leading ``'``; anything else (numbers, text that is a plain number
    such as ``-5``, missing) is unchanged.

    Text that starts with apostrophes followed by one of those gets one more apostrophe, so
    :func:`unneutralise` (and ``graphcrm ingest``) give back the exact value.
    """
    if isinstance(value, str) and NEEDS_QUOTE.match(value) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def unneutralise(value: Any) -> Any:
    """Undo :func:`neutralise`: one leading apostrophe is removed from a cell that is an
    apostrophe followed by (apostrophes and) a formula prefix. ``unneutralise(neutralise(v))
    == v`` for every text ``v``."""
    if isinstance(value, str) and QUOTED.match(value):
        return value[1:]
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` safe to write as a CSV a person opens: every text cell neutralised
    (column headers too). Numeric columns are left as they are."""
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(neutralise)
    out.columns = [neutralise(c) for c in out.columns]
    return out


def term(value: Any) -> str:
    """``value`` as text safe for a terminal: control characters (ESC, OSC, BEL, C1 ...) become
    ``U+FFFD``; newlines and tabs inside a value too (one value, one line)."""
    if _blank(value):
        return ""
    return _CONTROL_ALL.sub("\ufffd", str(value))


def term_text(text: Any) -> str:
    """Multi-line text (a printed table) safe for a terminal: like :func:`term` but newlines
    are kept."""
    return _CONTROL_TEXT.sub("\ufffd", str(text))


def term_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and headers went through :func:`term`."""
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(lambda v: v if _blank(v) else term(v))
    out.columns = [term(c) for c in out.columns]
    return out


def term_json(text: str) -> str:
    """JSON text safe for a terminal: ``json.dumps`` escapes C0 controls itself; DEL and C1
    controls (``\\x9b`` is a CSI on some terminals) are escaped here as ``\\u00XX``."""
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# -- output paths ---------------------------------------------------------------------------
class OutputPathError(ValueError):
    """An output path that would overwrite an input, the store or one of its files."""


#: files that belong to an embedded store ``X``: ``X``, ``X-wal``, ``X-shm``, ``X-journal``,
#: ``X.analysis`` (the analysis snapshot) and ``X.analysis.tmp``
STORE_SUFFIXES = ("", "-wal", "-shm", "-journal", ".analysis", ".analysis.tmp")


def store_companions(location: str | os.PathLike[str] | None) -> list[Path]:
    """The files of an embedded store at ``location`` (none for a server URL)."""
    if location is None:
        return []
    loc = str(location)
    if loc.startswith("sqlite:///"):
        loc = loc[len("sqlite:///"):]
    if "://" in loc or loc in ("", ":memory:"):
        return []
    return [Path(loc + s) for s in STORE_SUFFIXES]


def _same(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def check_output_path(out: str | os.PathLike[str], *, inputs: Iterable[str | os.PathLike[str]]
                      = (), protected: Iterable[str | os.PathLike[str]] = (),
                      what: str = "output") -> Path:
    """Refuse an output path that is one of ``inputs`` (or inside an input folder) or one of
    ``protected`` (the store and its companion files, see :func:`store_companions`).

    Returns the path; raises :class:`OutputPathError` with a one-line message otherwise.
    """
    p = Path(out)
    for item in protected:
        q = Path(item)
        if _same(p, q):
            raise OutputPathError(
                f"refusing to write the {what} to {p}: it is the store or one of its files ({q})")
    for item in inputs:
        q = Path(item)
        if _same(p, q):
            raise OutputPathError(f"refusing to write the {what} to {p}: it is an input file")
        if q.is_dir() and p.resolve().parent == q.resolve() and \
                p.suffix.lower() in {".csv", ".xlsx"}:
            raise OutputPathError(
                f"refusing to write the {what} to {p}: it is inside the input folder {q} "
                "(it would be read as data next time)")
    return p
