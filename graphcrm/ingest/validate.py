"""Row validation, vectorised: every problem of every row, as (row, column, value, reason).

Each column kind of :class:`graphcrm.model.Column` has one checker that works on a whole column
at once. Low-cardinality columns (enums, dates, booleans, numbers) are checked once per distinct
value and the result is broadcast back (``dictionary_encode``); phones and ID numbers are
checked with Arrow regular expressions and NumPy arithmetic. A million rows take about a second.

The checkers also normalise: enum synonyms to the canonical value, dates to ``YYYY-MM-DD``,
phones to 11 digits, ID numbers to upper case, numbers to numbers. Output values are Python
objects with ``None`` for blank, ready for :meth:`graphcrm.store.base.GraphStore.upsert`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphcrm.config import IngestSettings
from graphcrm.ingest.readers import blank_cells
from graphcrm.model import (
    AGENTS,
    CLIENTS,
    ENDPOINTS,
    ENUM_SYNONYMS,
    INTERACTIONS,
    KINDS_BY_TYPE,
    POLICIES,
    RELATIONSHIPS,
    UNDIRECTED,
    Column,
    Label,
    Table,
)
from graphcrm.store.base import GraphStore

REJECT_COLUMNS = ["file", "row", "column", "value", "reason"]
#: GB 11643-1999 weights of the first 17 digits and the check characters by remainder mod 11
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK = "10X98765432"
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE_RES = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
)
_MIN_YEAR, _MAX_YEAR = 1900, 2100


# -- single values (also the reference for the vectorised code) ---------------------------------
def normalise_phone(text: str, pattern: str = IngestSettings.phone_pattern) -> str | None:
    """A mainland mobile number as 11 digits, or ``None`` when it is not one.

    Spaces, dashes, dots and brackets are removed and a ``+86``, ``0086`` or ``86`` prefix is
    dropped; what is left must match ``pattern``.

    Examples
    --------
    >>> normalise_phone("+86 138-0013-8000")
    '13800138000'
    >>> normalise_phone("12345") is None
    True
    """
    values, bad, _ = normalise_phones(pa.array([text.strip()]), pattern)
    return None if bad[0] else str(values[0])


def id_number_problem(text: str) -> str | None:
    """Why ``text`` is not a valid resident ID number (GB 11643), or ``None`` when it is.

    Examples
    --------
    >>> id_number_problem("11010519491231002X") is None
    True
    >>> id_number_problem("110105194912310021")
    'ID number checksum wrong (last character should be X)'
    """
    _, bad, reasons = check_id_numbers(pa.array([text.strip()]))
    return str(reasons[0]) if bad[0] else None


# -- vectorised checkers -------------------------------------------------------------------------
def _obj(arr: pa.Array) -> np.ndarray:
    """Arrow strings -> object array of str with None for blank."""
    out = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)
    if not out.flags.writeable:
        out = out.copy()
    blank = blank_cells(arr)
    if blank.any():
        out[blank] = None
    return out


try:  # how pandas' hash_pandas_object combines a frame's column hashes into row hashes
    from pandas.core.util.hashing import combine_hash_arrays as _combine_hashes
except ImportError:  # pragma: no cover (another pandas: the key columns hashed as a frame)
    _combine_hashes = None

#: pandas' hash of a missing value (``hash_array`` of a categorical's missing code)
_MISSING_HASH = np.uint64(np.iinfo(np.uint64).max)


def _distinct_hashes(distinct: np.ndarray) -> np.ndarray:
    """pandas' hash (``hash_array``) of each of ``distinct`` values (for :func:`_coded_hashes`)."""
    return pd.util.hash_array(np.asarray(distinct, dtype=object), categorize=False)


def _coded_hashes(distinct_hashes: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """pandas' hash of each value given as an index into distinct values (-1: missing),
    from the hashes of the distinct values (:func:`_distinct_hashes`): as pandas hashes a
    categorical, and the same hashes as of the values themselves."""
    codes = np.asarray(codes, dtype=np.int64)
    if not len(distinct_hashes):
        return np.full(len(codes), _MISSING_HASH, dtype=np.uint64)
    out = distinct_hashes[codes]
    missing = codes < 0
    if missing.any():
        out[missing] = _MISSING_HASH
    return out


def _text_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Text values (None for missing) as (codes, distinct values) encoded by Arrow, -1 for
    missing; None when they are not all text."""
    try:
        arr = pa.array(np.asarray(values, dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    enc = pc.dictionary_encode(arr)  # (missing values: null indices)
    codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, np.asarray(enc.dictionary.to_numpy(zero_copy_only=False), dtype=object)


@dataclass
class _Coded:
    """A text column as codes of its distinct values (-1: missing): compared with a few
    values by one integer test per row instead of a string comparison per row and value."""

    codes: np.ndarray
    distinct: np.ndarray

    @classmethod
    def of(cls, values: object) -> _Coded | None:
        """None when the values are not all text (or missing)."""
        coded = _text_codes(np.asarray(values, dtype=object))
        return None if coded is None else cls(*coded)

    def isin(self, wanted: Iterable[str]) -> np.ndarray:
        """Bool per row: its value is one of ``wanted`` (missing: False)."""
        wanted = set(wanted)
        hit = np.array([v in wanted for v in self.distinct] + [False], dtype=bool)
        return hit[self.codes]  # (-1: the False at the end)

    def positions(self, names: Sequence[str]) -> np.ndarray:
        """Per row the index of its value in ``names``, -1 when not among them."""
        at = {v: i for i, v in enumerate(names)}
        index = np.array([at.get(v, -1) for v in self.distinct] + [-1], dtype=np.int64)
        return index[self.codes]


def _equals(values: np.ndarray, coded: _Coded | None, value: str) -> np.ndarray:
    """Bool per row: ``values == value`` (through ``coded`` when given)."""
    return coded.isin([value]) if coded is not None else values == value


def _distinct_dtype(distinct: np.ndarray) -> pd.CategoricalDtype:
    """A categorical dtype of values known to be distinct (an Arrow dictionary's), without
    pandas checking that again where this pandas has the way to (its check builds a hash
    table of every value: ~40 ms for an edge list's 100,000 ids)."""
    index = pd.Index(distinct, dtype=object)
    fast = getattr(pd.CategoricalDtype, "_from_fastpath", None)  # pandas 2.x, not public
    if fast is None:
        return pd.CategoricalDtype(index)
    dtype = fast(index, False)
    assert isinstance(dtype, pd.CategoricalDtype)
    return dtype


@dataclass
class _Endpoints:
    """``src_id`` and ``dst_id`` of a relationships file encoded together by Arrow: the
    distinct ids once (an edge list's 600,000 ends are ~100,000 people) and per row and end
    an index into them. Self-ties, the order of the two ends, duplicate keys and the id
    lookups are then NumPy work on integers, and each distinct id is one Python string."""

    ids: pa.Array  # distinct ids ("" for blank among them)
    src: np.ndarray  # int64 index into ids, per row
    dst: np.ndarray
    blank: int  # index of "" in ids, -1 when no end is blank
    _distinct: np.ndarray | None = field(default=None, repr=False)
    _dtype: pd.CategoricalDtype | None = field(default=None, repr=False)

    @classmethod
    def of(cls, src: pa.Array, dst: pa.Array,
           encoded: dict[str, pa.DictionaryArray] | None = None) -> _Endpoints:
        """``encoded``: the two columns' own dictionary encodings, when made already (then
        only their distinct values are joined: ~1/8 of the time of encoding both again)."""
        pair = [(encoded or {}).get(c) for c in ("src_id", "dst_id")]
        if all(e is not None and len(e) == len(a) and e.dictionary.null_count == 0
               and e.dictionary.type == pair[0].dictionary.type
               for e, a in zip(pair, (src, dst), strict=True)):
            both = pa.chunked_array(pair).unify_dictionaries()
            ids = both.chunk(0).dictionary
            src_i, dst_i = (both.chunk(k).indices.to_numpy(zero_copy_only=False)
                            .astype(np.int64) for k in (0, 1))
            blank = pc.index(ids, "").as_py()
            return cls(ids, src_i, dst_i, int(blank))
        src, dst = _as_arrow(src), _as_arrow(dst)
        if src.type != dst.type:
            src, dst = src.cast(pa.large_string()), dst.cast(pa.large_string())
        enc = pc.dictionary_encode(pa.concat_arrays([src, dst]))
        idx = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        blank = pc.index(enc.dictionary, "").as_py()
        return cls(enc.dictionary, idx[:len(src)], idx[len(src):], int(blank))

    def distinct(self) -> np.ndarray:
        """:attr:`ids` as an object array of ``str`` (made once)."""
        if self._distinct is None:
            self._distinct = np.asarray(self.ids.to_numpy(zero_copy_only=False), dtype=object)
        return self._distinct

    def codes(self, indices: np.ndarray) -> np.ndarray:
        """Indices into :attr:`ids` with -1 for a blank end."""
        indices = np.asarray(indices, dtype=np.int64)
        return np.where(indices == self.blank, -1, indices) if self.blank >= 0 else indices

    def categorical(self, indices: np.ndarray) -> pd.Categorical:
        """Indices into :attr:`ids` as a categorical of the ids (a blank end missing), every
        one sharing one categories object: the store maps each distinct id to its node number
        once, not each row's."""
        if self._dtype is None:
            self._dtype = _distinct_dtype(self.distinct())
        return pd.Categorical.from_codes(self.codes(indices), dtype=self._dtype)

    def values(self) -> tuple[np.ndarray, np.ndarray]:
        """Both ends as object arrays of ``str`` (None for blank), one object per id."""
        distinct = self.distinct().copy()
        if self.blank >= 0:
            distinct[self.blank] = None
        return distinct[self.src], distinct[self.dst]


class _Columns(dict[str, object]):
    """Validation's columns by name; an edge list's two ends (:class:`_Endpoints`) are laid
    out as one Python object per row only when a check asks for them by name (600,000
    reference counts on 100,000 scattered strings: ~0.1 s of a 300,000-row file whose
    checks all run on the ends' indices)."""

    ends: _Endpoints | None = None

    def __missing__(self, key: str) -> object:
        if self.ends is None or key not in ("src_id", "dst_id"):
            raise KeyError(key)
        self["src_id"], self["dst_id"] = self.ends.values()  # both, from here on as values
        self.ends = None
        return self[key]


Fast = Callable[[pa.Array], tuple[np.ndarray, np.ndarray] | None]


def _by_unique(arr: pa.Array, parse: Callable[[str], tuple[object, str | None]],
               fast: Fast | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | str]:
    """Apply ``parse(text) -> (value, reason or None)`` once per distinct value.

    ``fast(uniques)``, when given, settles the common spellings in Arrow first: it returns
    ``(done mask, values)`` and ``parse`` sees only the distinct values it left.
    """
    enc = arr.dictionary_encode()
    dictionary = enc.dictionary
    values = np.empty(len(dictionary), dtype=object)
    reasons = np.full(len(dictionary), "", dtype=object)
    todo = np.ones(len(dictionary), dtype=bool)
    if fast is not None and len(dictionary):
        got = fast(dictionary)
        if got is not None:
            done, fast_values = got
            values[done] = fast_values[done]
            todo = ~done
    rest = np.flatnonzero(todo)
    if len(rest):
        texts = dictionary.take(pa.array(rest)).to_pylist()
        parsed = [parse(u) for u in texts]
        sub = np.empty(len(parsed), dtype=object)
        sub[:] = [q[0] for q in parsed]
        values[rest] = sub
        reasons[rest] = [q[1] or "" for q in parsed]
    idx = enc.indices.to_numpy(zero_copy_only=False)
    bad_values = reasons != ""
    if not bad_values.any():  # the usual column: no reason to lay out row by row
        return values[idx], np.zeros(len(idx), dtype=bool), ""
    return values[idx], bad_values[idx], reasons[idx]


def _fast_iso_dates(uniques: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values already written ``YYYY-MM-DD``, real days in range, checked in Arrow."""
    iso = pc.match_substring_regex(uniques, r"^\d{4}-\d{2}-\d{2}$")
    parsed = pc.strptime(uniques, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls 2021-02-30 over to 2021-03-02: a real day prints back as itself
    same = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), uniques)
    in_range = pc.and_(pc.greater_equal(uniques, f"{_MIN_YEAR}-01-01"),
                       pc.less_equal(uniques, f"{_MAX_YEAR}-12-31"))
    done = pc.fill_null(pc.and_(pc.and_(iso, same), in_range), False)
    return done.to_numpy(zero_copy_only=False), _obj(uniques)


def _fast_numbers(col: Column) -> Fast:
    """Distinct values Arrow reads as finite numbers within the column's bounds."""

    def fast(uniques: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
        filled = pc.not_equal(uniques, "")  # blanks are settled by the caller
        try:
            nums = pc.cast(pc.if_else(filled, uniques, "0"), pa.float64()).to_numpy(
                zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None  # some spelling Arrow does not read: every value goes through parse
        done = np.isfinite(nums) & filled.to_numpy(zero_copy_only=False)
        if col.kind == "int":
            done &= nums == np.round(nums)
        if col.low is not None:
            done &= nums >= col.low
        if col.high is not None:
            done &= nums <= col.high
        values = np.empty(len(nums), dtype=object)
        values[:] = (np.where(done, nums, 0).astype(np.int64).tolist() if col.kind == "int"
                     else nums.tolist())
        return done, values

    return fast


def _enum_parser(col: Column) -> Callable[[str], tuple[object, str | None]]:
    lookup = {v.lower(): v for v in col.values}
    for k, v in ENUM_SYNONYMS.items():
        if v in col.values:
            lookup.setdefault(k.lower(), v)
    reason = "not one of " + ", ".join(col.values)

    def parse(text: str) -> tuple[object, str | None]:
        value = lookup.get(text.lower())
        return (value, None) if value is not None else (None, reason)

    return parse


def parse_date(text: str, excel: bool = False, years: tuple[int, int] = (_MIN_YEAR, _MAX_YEAR)
               ) -> str | None:
    """``YYYY-MM-DD`` for a date written as YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD (or an Excel serial
    number when ``excel``), else ``None``.

    Examples
    --------
    >>> parse_date("2024/3/5")
    '2024-03-05'
    >>> parse_date("20240230") is None
    True
    """
    for rx in _DATE_RES:
        m = rx.match(text)
        if m:
            y, mo, d = (int(g) for g in m.groups())
            try:
                day = dt.date(y, mo, d)
            except ValueError:
                return None
            return day.isoformat() if years[0] <= y <= years[1] else None
    if excel and text.isdigit() and 1 <= int(text) <= 2958465:
        day = _EXCEL_EPOCH + dt.timedelta(days=int(text))
        return day.isoformat() if years[0] <= day.year <= years[1] else None
    return None


def _date_parser(excel: bool) -> Callable[[str], tuple[object, str | None]]:
    def parse(text: str) -> tuple[object, str | None]:
        value = parse_date(text, excel)
        if value:
            return value, None
        if parse_date(text, excel, (1, 9999)):
            return None, f"date before {_MIN_YEAR} or after {_MAX_YEAR}"
        return None, "not a date (use YYYY-MM-DD)"

    return parse


def _bool_parse(text: str) -> tuple[object, str | None]:
    t = text.lower()
    t = ENUM_SYNONYMS.get(t, ENUM_SYNONYMS.get(text, t))
    if t in ("true", "t"):
        return 1, None
    if t in ("false", "f"):
        return 0, None
    return None, "not yes/no (true/false, 是/否, 1/0)"


def _number_parser(col: Column) -> Callable[[str], tuple[object, str | None]]:
    integer = col.kind == "int"

    def parse(text: str) -> tuple[object, str | None]:
        try:
            value = float(text.replace(",", ""))
        except ValueError:
            return None, "not an integer" if integer else "not a number"
        if value != value or value in (float("inf"), float("-inf")):
            return None, "not a number"
        if integer:
            if not value.is_integer():
                return None, "not an integer"
            value = int(value)
        if col.low is not None and value < col.low:
            return None, f"below the minimum {col.low:g}"
        if col.high is not None and value > col.high:
            return None, f"above the maximum {col.high:g}"
        return value, None

    return parse


def normalise_phones(arr: pa.Array, pattern: str
                     ) -> tuple[np.ndarray, np.ndarray, str]:
    """Phones -> (11-digit values, bad mask, reason)."""
    x = pc.replace_substring_regex(arr, r"[\s\-().（）]", "")
    x = pc.replace_substring_regex(x, r"^(?:\+?86|0086)(1\d{10})$", r"\1")
    ok = pc.match_substring_regex(x, pattern).to_numpy(zero_copy_only=False)
    return _obj(x), ~ok, "not a mainland mobile number (11 digits, 1[3-9]...)"


def check_id_numbers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ID numbers -> (upper-case values, bad mask, reasons): length, digits, birth date, checksum.

    The checksum follows GB 11643-1999: the weighted sum of the first 17 digits modulo 11
    picks the last character from ``10X98765432``.
    """
    up = pc.utf8_upper(arr)
    n = len(up)
    reasons = np.full(n, "", dtype=object)
    shape_ok = pc.match_substring_regex(up, r"^\d{17}[\dX]$").to_numpy(zero_copy_only=False)
    length = pc.utf8_length(up).to_numpy(zero_copy_only=False)
    reasons[~shape_ok & (length != 18)] = "ID number must be 18 characters"
    reasons[~shape_ok & (length == 18)] = "ID number must be 17 digits and a digit or X"
    if shape_ok.any():
        good_idx = np.flatnonzero(shape_ok)
        sub = pc.take(up, pa.array(good_idx))
        if isinstance(sub, pa.ChunkedArray):
            sub = sub.combine_chunks()
        offsets = np.frombuffer(sub.buffers()[1], dtype=np.int32)[sub.offset:]
        chars = np.frombuffer(sub.buffers()[2], dtype=np.uint8)
        start = offsets[0]
        digits = chars[start:start + 18 * len(good_idx)].reshape(-1, 18)
        nums = digits[:, :17].astype(np.int64) - ord("0")
        expected = np.frombuffer(ID_CHECK.encode(), dtype=np.uint8)[(nums @ ID_WEIGHTS) % 11]
        year = nums[:, 6] * 1000 + nums[:, 7] * 100 + nums[:, 8] * 10 + nums[:, 9]
        month = nums[:, 10] * 10 + nums[:, 11]
        day = nums[:, 12] * 10 + nums[:, 13]
        born = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": day}),
                              errors="coerce")
        bad_birth = born.isna().to_numpy() | (year < _MIN_YEAR) | (year > _MAX_YEAR)
        bad_sum = expected != digits[:, 17]
        r_sum = np.array([f"ID number checksum wrong (last character should be {chr(c)})"
                          for c in expected], dtype=object)
        sub_reasons = np.where(bad_sum, r_sum, "")
        sub_reasons = np.where(bad_birth, "ID number has an invalid birth date", sub_reasons)
        reasons[good_idx] = sub_reasons
    return _obj(up), reasons != "", reasons


# -- problems --------------------------------------------------------------------------------
@dataclass
class Problems:
    """Collected problems: positions into the file's rows, column, value, reason."""

    parts: list[pd.DataFrame] = field(default_factory=list)

    def add(self, pos: np.ndarray, column: str, values: Iterable[object],
            reason: str | np.ndarray) -> None:
        pos = np.asarray(pos, dtype=np.int64)
        if len(pos) == 0:
            return
        vals = np.asarray(list(values) if not isinstance(values, np.ndarray) else values,
                          dtype=object)
        reasons = reason if isinstance(reason, np.ndarray) else np.full(len(pos), reason,
                                                                         dtype=object)
        self.parts.append(pd.DataFrame({"pos": pos, "column": column, "value": vals,
                                        "reason": reasons}))

    def frame(self, file: str, rows: np.ndarray) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({c: pd.Series(dtype=object if c != "row" else np.int64)
                                 for c in REJECT_COLUMNS})
        f = pd.concat(self.parts, ignore_index=True)
        f["row"] = rows[f["pos"].to_numpy()]
        f["file"] = file
        f["value"] = f["value"].map(lambda v: "" if v is None else str(v))
        return f.sort_values(["row", "column"], kind="stable")[REJECT_COLUMNS].reset_index(
            drop=True)


# -- known ids ---------------------------------------------------------------------------------
#: label -> small integer code used by :class:`KnownIds` (-1: unknown id)
LABEL_CODES: dict[str, int] = {lbl.value: i for i, lbl in enumerate(Label)}
_LABEL_BY_CODE = np.array([lbl.value for lbl in Label] + [None], dtype=object)  # [-1] -> None


def _as_arrow(ids: np.ndarray | pa.Array) -> pa.Array:
    if isinstance(ids, pa.ChunkedArray):
        return ids.combine_chunks()
    if isinstance(ids, pa.Array):
        return ids
    return pa.array(np.asarray(ids, dtype=object), type=pa.string(), from_pandas=True)


class KnownIds:
    """Node id -> label, for ids written earlier in this job or found in the store.

    Ids are kept as one Arrow string array with a label code per id, and looked up with
    Arrow's hash join (``pyarrow.compute.index_in``): tens of nanoseconds per id where a
    pandas object index takes hundreds. The store is only asked about ids not seen in this
    job, and not at all when the store was empty when the job started (then everything in it
    was written by this job). The first label recorded for an id wins.
    """

    def __init__(self, store: GraphStore | None, ask_store: bool,
                 scan_min_ids: int = 20_000) -> None:
        self._store = store if ask_store else None
        self._ids = pa.array([], type=pa.string())
        self._codes = np.array([], dtype=np.int8)
        #: from this many unknown ids on, read every stored id once (see IngestSettings)
        self._scan_min_ids = scan_min_ids
        self._scanned = False  # every stored id is in _ids: the store need not be asked

    def _positions(self, arr: pa.Array) -> np.ndarray:
        if len(self._ids) == 0 or len(arr) == 0:
            return np.full(len(arr), -1, dtype=np.int64)
        idx = pc.index_in(arr, value_set=self._ids)
        return idx.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)

    def _append(self, arr: pa.Array, codes: np.ndarray, distinct: bool = False) -> None:
        """Add ``arr`` (``distinct``: known to hold each id once, as a store's ids do)."""
        keep = self._positions(arr) < 0
        if not keep.all():
            arr, codes = arr.filter(pa.array(keep)), codes[keep]
        if len(arr) == 0:
            return
        # first occurrence wins inside the new ids too
        if not distinct and len(pc.unique(arr)) != len(arr):
            first = ~pd.Series(arr.to_numpy(zero_copy_only=False)).duplicated().to_numpy()
            arr, codes = arr.filter(pa.array(first)), codes[first]
        self._ids = pa.concat_arrays([self._ids, arr])
        self._codes = np.concatenate([self._codes, codes.astype(np.int8)])

    def snapshot(self) -> tuple[pa.Array, np.ndarray, bool]:
        """The ids known now, for :meth:`restore` (cheap: both arrays are never mutated)."""
        return self._ids, self._codes, self._scanned

    def restore(self, snap: object) -> None:
        """Forget ids added since :meth:`snapshot` (e.g. of a file whose write failed)."""
        assert isinstance(snap, tuple)
        self._ids, self._codes, self._scanned = snap

    def _scan_store(self) -> bool:
        """Add every stored node id (one read); False when the store cannot list them."""
        assert self._store is not None
        listed = self._store.node_labels()
        if listed is None:
            return False
        ids, labels = listed
        if len(ids):
            # (a dict look-up per id: a third of the time of pandas' map over 100,000 ids)
            codes = np.fromiter(map(LABEL_CODES.__getitem__, labels), dtype=np.int8,
                                count=len(labels))
            self._append(_as_arrow(ids), codes, distinct=True)  # (stored ids are unique)
        self._scanned = True
        pa.default_memory_pool().release_unused()  # the scan's temporary buffers
        return True

    def add(self, ids: np.ndarray | pa.Array, label: Label) -> None:
        """Record ``ids`` as nodes of ``label``."""
        arr = _as_arrow(ids)
        arr = arr.filter(pc.is_valid(arr)) if arr.null_count else arr
        if len(arr):
            self._append(arr, np.full(len(arr), LABEL_CODES[label.value], dtype=np.int8))

    def lookup_codes(self, ids: np.ndarray | pa.Array) -> np.ndarray:
        """Label code (:data:`LABEL_CODES`) of each id, -1 when unknown (or blank).

        Each distinct id is looked up once (an edge list names each person several times)."""
        enc = pc.dictionary_encode(_as_arrow(ids))
        codes = self.lookup_distinct(enc.dictionary)
        idx = enc.indices
        if idx.null_count:  # blank: the extra code -1 at the end
            codes = np.append(codes, np.int8(-1))
            idx = idx.fill_null(len(codes) - 1)
        return codes[idx.to_numpy(zero_copy_only=False)]

    def lookup_distinct(self, arr: pa.Array) -> np.ndarray:
        """:meth:`lookup_codes` of ids known to be distinct and non-null (an edge list's
        distinct ids: not encoded again)."""
        pos = self._positions(arr)
        if self._store is not None and not self._scanned and (pos < 0).any():
            unknown = arr.filter(pa.array(pos < 0))
            if len(unknown) >= self._scan_min_ids and self._scan_store():
                found = {}
                pos = self._positions(arr)
            else:
                found = self._store.labels_of(unknown.to_pylist()) if len(unknown) else {}
            if found:
                self._append(pa.array(list(found), type=pa.string()),
                             np.array([LABEL_CODES[v.value] for v in found.values()],
                                      dtype=np.int8))
                pos = self._positions(arr)
        out = np.full(len(arr), -1, dtype=np.int8)
        hit = pos >= 0
        out[hit] = self._codes[pos[hit]]
        return out

    def lookup(self, ids: np.ndarray | pa.Array) -> np.ndarray:
        """Label value (str) of each id, or None when unknown."""
        return _LABEL_BY_CODE[self.lookup_codes(ids)]


# -- the validator ---------------------------------------------------------------------------
@dataclass
class KeyNotes:
    """The key of each row still good when duplicate keys were looked for, as a re-run that
    checks only a file's changed rows compares them with its other rows' keys: ``pos`` the
    rows' positions (ascending), ``hashes`` pandas' ``hash_pandas_object`` (no index) of the
    key columns' values as validation normalised them, an undirected tie turned round as
    stored (A–B and B–A: one key)."""

    pos: np.ndarray
    hashes: np.ndarray

    @property
    def empty(self) -> bool:
        return not len(self.pos)

    @classmethod
    def of_frame(cls, keys: pd.DataFrame) -> KeyNotes:
        """The notes of a frame of key values (index: the rows' positions, ascending)."""
        hashes = (pd.util.hash_pandas_object(keys, index=False).to_numpy(dtype=np.uint64)
                  if len(keys) else np.zeros(0, dtype=np.uint64))
        return cls(keys.index.to_numpy(dtype=np.int64), hashes)

    def at(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mask of ``positions`` that have a key, their keys' hashes)."""
        positions = np.asarray(positions, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.pos, positions), max(len(self.pos) - 1, 0))
        found = (self.pos[at] == positions) if len(self.pos) else np.zeros(len(positions),
                                                                            dtype=bool)
        return found, self.hashes[at[found]]


@dataclass
class Validated:
    """Result of :func:`validate`: the good rows and every problem."""

    frame: pd.DataFrame  # good rows, template columns + "__row"
    rejects: pd.DataFrame  # REJECT_COLUMNS
    rows_rejected: int
    #: relationships: the rows of ``frame`` that repeat an undirected tie of an earlier row in
    #: reverse (for :func:`merge_reversed_ties`); None for other templates
    reversed_repeats: np.ndarray | None = None
    #: the key of every row still good when duplicate keys were looked for (see KeyNotes)
    keys: KeyNotes | None = None


def _label_name(label: str) -> str:
    return {"Agent": "an Agent", "Client": "a Client", "Organization": "an Organization",
            "Policy": "a Policy"}.get(label, label)


def _check_column(col: Column, arr: pa.Array, settings: IngestSettings, excel: bool
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray | str]:
    """(values, bad mask, reasons) for the non-blank cells of one column."""
    n = len(arr)
    if col.kind == "enum":
        return _by_unique(arr, _enum_parser(col))
    if col.kind == "date":
        return _by_unique(arr, _date_parser(excel), _fast_iso_dates)
    if col.kind == "bool":
        return _by_unique(arr, _bool_parse)
    if col.kind in ("int", "float"):
        return _by_unique(arr, _number_parser(col), _fast_numbers(col))
    if col.kind == "phone":
        return normalise_phones(arr, settings.phone_pattern)
    if col.kind == "id_number":
        return check_id_numbers(arr)
    return _obj(arr), np.zeros(n, dtype=bool), ""


def _absent(col: Column, n: int) -> pd.Series | np.ndarray:
    """A column the file does not have: what :func:`_typed` makes of ``n`` blanks, built
    directly (converting n ``None`` to a nullable integer or float array costs more than
    the rest of an edge list's checks)."""
    if col.kind in ("int", "bool"):
        return pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
    if col.kind == "float":
        return np.full(n, np.nan, dtype=np.float64)
    return np.full(n, None, dtype=object)


def _typed(col: Column, values: np.ndarray) -> pd.Series | np.ndarray:
    if col.kind in ("int", "bool"):
        return pd.array(values, dtype="Int64")
    if col.kind == "float":
        if isinstance(values, np.ndarray) and values.dtype == np.float64:
            return values  # typed already (a column the file does not have)
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(
            dtype=np.float64)
    return values


def validate(raw_columns: dict[str, pa.Array], rows: np.ndarray, table: Table, *,
             file: str, settings: IngestSettings, known: KnownIds, aliases: dict[str, str],
             excel: bool = False, today: dt.date | None = None,
             supervisors: dict[str, str | None] | None = None,
             encoded: dict[str, pa.DictionaryArray] | None = None) -> Validated:
    """Check and normalise every row of one file.

    Parameters
    ----------
    raw_columns
        Template column -> stripped Arrow strings (see :class:`graphcrm.ingest.readers.RawFile`).
    rows
        Spreadsheet row number of each row.
    table
        The template.
    file
        File name for the rejects.
    settings
        Ingest settings (phone pattern).
    known
        Ids known so far (this job and the store).
    aliases
        Merged client id -> kept id; references to an alias are rewritten to the kept id.
    excel
        The file was XLSX (accept Excel serial day numbers as dates).
    today
        The day the plausibility limits count from (default: today).
    supervisors
        Agent -> supervisor already known (earlier agents files of this job and the store),
        so a supervisor circle through agents of another file is caught too.
    encoded
        Columns of ``raw_columns`` already dictionary-encoded (``pyarrow.compute.
        dictionary_encode`` of the same arrays; the job's row hashes make them): an edge
        list's two id columns are then joined by their distinct values, not encoded again.
        When they are not in it, their joint encoding is added to it (for the row hashes).

    Returns
    -------
    Validated
    """
    n = len(rows)
    probs = Problems()
    bad = np.zeros(n, dtype=bool)
    out = _Columns()
    #: a relationships file's two id columns, encoded together (see :class:`_Endpoints`)
    ends_raw: dict[str, pa.Array] = {}
    ends: _Endpoints | None = None
    for col in table.columns:
        arr = raw_columns.get(col.name)
        if arr is None:
            out[col.name] = _absent(col, n)
            continue
        blank = blank_cells(arr)
        if col.required and blank.any():
            pos = np.flatnonzero(blank)
            probs.add(pos, col.name, [""] * len(pos), "required value is blank")
            bad |= blank
        if table is RELATIONSHIPS and col.name in ("src_id", "dst_id"):
            ends_raw[col.name] = arr  # nothing to check in an id but what follows below
            continue
        values, col_bad, reasons = _check_column(col, arr, settings, excel)
        col_bad = col_bad & ~blank
        values = np.asarray(values, dtype=object)
        values[blank] = None
        if col_bad.any():
            pos = np.flatnonzero(col_bad)
            raw = _obj(pc.take(arr, pa.array(pos)))
            probs.add(pos, col.name, raw,
                      reasons[pos] if isinstance(reasons, np.ndarray) else reasons)
            bad |= col_bad
            values[col_bad] = None
        out[col.name] = values

    if len(ends_raw) == 2:
        ends = _Endpoints.of(ends_raw["src_id"], ends_raw["dst_id"], encoded)
        out.ends = ends  # (their values laid out when asked for)
        for name, indices in (("src_id", ends.src), ("dst_id", ends.dst)):
            if encoded is not None and name not in encoded and not ends_raw[name].null_count:
                encoded[name] = pa.DictionaryArray.from_arrays(
                    pa.array(indices, type=pa.int32()), ends.ids)  # for the row hashes
        pa.default_memory_pool().release_unused()  # the encoding's temporary buffers
    else:
        for name, arr in ends_raw.items():
            out[name] = _obj(arr)

    # references to merged clients go to the kept client
    if aliases:
        alias_index = pd.Index(list(aliases.keys()), dtype=object)
        alias_target = np.array(list(aliases.values()), dtype=object)
        for col in table.columns:
            if col.kind == "ref" and Label.CLIENT in col.refs and col.name in raw_columns:
                v = out[col.name]
                assert isinstance(v, np.ndarray)
                pos = alias_index.get_indexer(v)
                hit = pos >= 0
                if hit.any():
                    v = v.copy()
                    v[hit] = alias_target[pos[hit]]
                    out[col.name] = v
                    ends = None  # no longer the file's ids (reading them laid them out)

    key = table.key[0]
    swapped = None
    bad |= check_plausible(table, out, probs, bad, settings, today or dt.date.today(),
                           supervisors)
    #: a relationships file's types as codes, for the checks that compare them
    types = _Coded.of(out["type"]) if table is RELATIONSHIPS else None
    if table is RELATIONSHIPS:
        bad |= _check_relationships(out, probs, bad, ends, types)
        swapped = undirected_reversed(out, bad, ends, types)
    if table is INTERACTIONS:
        _derive_interaction_ids(out, bad)

    # duplicate keys among the rows still good: first kept. A reversed repeat of an undirected
    # tie (B–A after A–B) is not a bad row: it is kept and merged into the first by the job
    # (merge_reversed_ties), so only a repeat in the same direction is rejected here.
    key_cols = [c for c in table.key]
    good = ~bad
    key_code: np.ndarray | None = None  # one integer per row and key (A–B and B–A alike)
    dup_keys = None
    if good.any():
        key_values: list[object] = [
            None if ends is not None and c in ("src_id", "dst_id") else out[c]
            for c in key_cols]
        texts: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # an edge list's other keys
        if ends is not None:  # the ends' indices are codes already
            key_values[key_cols.index("src_id")] = ends.src
            key_values[key_cols.index("dst_id")] = ends.dst
            for i, c in enumerate(key_cols):
                coded = (None if c in ("src_id", "dst_id")
                         else (types.codes, types.distinct) if c == "type" and types is not None
                         else _text_codes(out[c]))
                if coded is not None:  # its codes are codes too
                    texts[c], key_values[i] = coded, coded[0]
        if swapped is not None:  # one key for A–B and B–A; the direction told apart
            src_i, dst_i = key_cols.index("src_id"), key_cols.index("dst_id")
            key_values[src_i], key_values[dst_i] = _turned(
                key_values[src_i], key_values[dst_i], swapped)
        key_code = key_codes(key_values)
        gcode = key_code[good]
        if swapped is not None:
            gcode = gcode * 2 + swapped[good]
        dup = pd.Series(gcode).duplicated(keep="first").to_numpy()
        # the keys' hashes, of the values turned like the codes (a changed-rows re-run)
        if ends is not None and _combine_hashes is not None:
            # an edge list's keys as codes of distinct values: each value hashed once
            id_hashes = _distinct_hashes(ends.distinct())  # (once for both ends)
            coded = {c: (id_hashes, ends.codes(key_values[key_cols.index(c)]))
                     for c in ("src_id", "dst_id")}
            coded.update({c: (_distinct_hashes(texts[c][1]), texts[c][0]) for c in texts})
            column_hashes = [_coded_hashes(coded[c][0], coded[c][1][good]) if c in coded
                             else pd.util.hash_array(_as_object(out[c])[good])
                             for c in key_cols]
            dup_keys = KeyNotes(np.flatnonzero(good),
                                _combine_hashes(iter(column_hashes), len(key_cols)))
        else:
            kv: dict[str, object] = {c: _as_object(out[c]) for c in key_cols}
            if ends is not None:
                for c in ("src_id", "dst_id"):
                    codes = ends.codes(key_values[key_cols.index(c)])
                    kv[c] = np.where(codes < 0, None, ends.distinct()[codes])
            elif swapped is not None:
                kv["src_id"], kv["dst_id"] = _turned(kv["src_id"], kv["dst_id"], swapped)
            dup_keys = KeyNotes.of_frame(pd.DataFrame(kv)[good])  # index: the positions
        if dup.any():
            gpos = np.flatnonzero(good)
            first_row = pd.factorize(gcode)[0]  # groups in order of first appearance
            first_of_group = pd.Series(rows[gpos]).groupby(first_row).transform(
                "first").to_numpy()
            dpos = gpos[dup]
            if len(key_cols) == 1:
                reasons = np.array([f"duplicate id (first at row {r})" for r in
                                    first_of_group[dup]], dtype=object)
                probs.add(dpos, key, np.asarray(out[key], dtype=object)[dpos], reasons)
            else:
                reasons = np.array([f"duplicate relationship (first at row {r})" for r in
                                    first_of_group[dup]], dtype=object)
                probs.add(dpos, "src_id", np.asarray(out["src_id"], dtype=object)[dpos],
                          reasons)
            bad[dpos] = True

    # node ids already used by another label
    if table.label is not None and table.label != Label.POLICY:
        ids = np.asarray(out[key], dtype=object)
        gpos = np.flatnonzero(~bad)
        codes = known.lookup_codes(ids[gpos])
        clash = (codes >= 0) & (codes != LABEL_CODES[table.label.value])
        if clash.any():
            cpos = gpos[clash]
            reasons = np.array([f"id already used by {_label_name(lbl)}"
                                for lbl in _LABEL_BY_CODE[codes[clash]]], dtype=object)
            probs.add(cpos, key, ids[cpos], reasons)
            bad[cpos] = True

    # references: ids that exist with the right label
    if table is RELATIONSHIPS:
        bad |= check_endpoints(out, probs, bad, known, ends, types)
        # Arrow's pool keeps freed buffers resident: an edge list's encodings and look-ups
        # are done with here (300k rows: ~20 MiB off the ingest's peak)
        pa.default_memory_pool().release_unused()
        # (after the messages naming columns; an edge list's ends are turned as categoricals)
        if ends is None and swapped is not None and (swapped & ~bad).any():
            turn = swapped & ~bad
            src = np.asarray(out["src_id"], dtype=object).copy()
            dst = np.asarray(out["dst_id"], dtype=object).copy()
            src[turn], dst[turn] = dst[turn], src[turn].copy()
            out["src_id"], out["dst_id"] = src, dst
    else:
        bad = _check_refs(table, out, probs, bad, known)

    keep = ~bad
    every = bool(keep.all())  # the usual case: no copy of every column to drop nothing

    def kept(values: Any) -> Any:
        return values if every else values[keep]  # NumPy and pandas arrays alike

    # an edge list's ends as categoricals of the file's ids (turned like the rows): equal
    # values, and the store maps each distinct id to its node number once, not each row's
    ends_cats: dict[str, pd.Categorical] = {}
    if ends is not None:
        src_c, dst_c = ends.src, ends.dst
        if swapped is not None:
            src_c, dst_c = _turned(src_c, dst_c, swapped)
        ends_cats = {"src_id": ends.categorical(kept(src_c)),
                     "dst_id": ends.categorical(kept(dst_c))}
    elif table is RELATIONSHIPS and "src_id" in out and "dst_id" in out:
        # the ends no longer the file's ids (a merged client's id moved to the kept one)
        # (kept rows have no blank end: encoded together as the file's own ends are)
        try:
            moved = _Endpoints.of(_as_arrow(kept(_as_object(out["src_id"]))),
                                  _as_arrow(kept(_as_object(out["dst_id"]))))
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: left as values
            moved = None
        if moved is not None:
            ends_cats = {"src_id": moved.categorical(moved.src),
                         "dst_id": moved.categorical(moved.dst)}

    def column(c: Column) -> Any:
        if c.name in ends_cats:
            return ends_cats[c.name]
        values = kept(_typed(c, out[c.name]) if c.kind in ("int", "bool", "float")
                      else out[c.name])
        if isinstance(values, np.ndarray) and values.dtype == object:
            # object says what it is: pandas would otherwise scan a blank column for dates
            return pd.Series(values, dtype=object, copy=False)
        return values

    frame = pd.DataFrame({c.name: column(c) for c in table.columns}, copy=False)
    frame["__row"] = kept(rows)
    rejects = probs.frame(file, rows)
    n_bad = int(bad.sum())
    repeats = None
    if swapped is not None and key_code is not None and (swapped & keep).any():
        # a reversed repeat needs a turned row; the same key among the kept rows is one
        # (repeats in the same direction were rejected above)
        repeats = pd.Series(key_code[keep]).duplicated(keep="first").to_numpy()
    elif swapped is not None:
        repeats = np.zeros(len(frame), dtype=bool)
    return Validated(frame, rejects, n_bad, repeats, dup_keys)


def check_plausible(table: Table, out: dict[str, object], probs: Problems, bad: np.ndarray,
                    settings: IngestSettings, today: dt.date,
                    supervisors: dict[str, str | None] | None = None) -> np.ndarray:
    """Values that are well formed but cannot be true, each a row reject with its reason.

    Birth, hire and interaction dates after today (plus ``settings.max_future_days``); a
    policy start more than ``settings.max_policy_start_days_ahead`` days ahead; a birth date
    before ``settings.min_birth_year``; a departure before the hire; an agent who supervises
    themself; agents whose supervisors lead round in a circle (each agent of the circle in
    this file is rejected, the circle named), the circle closed by this file's rows or
    through ``supervisors`` (agents of earlier files and the store; a row of this file
    replaces what is known of its agent).
    """
    new_bad = np.zeros(len(bad), dtype=bool)
    latest = (today + dt.timedelta(days=settings.max_future_days)).isoformat()

    def reject(column: str, mask: np.ndarray, reason: str | np.ndarray) -> None:
        mask = mask & ~bad & ~new_bad
        if mask.any():
            pos = np.flatnonzero(mask)
            values = np.asarray(out[column], dtype=object)[pos]
            probs.add(pos, column, values,
                      reason[mask] if isinstance(reason, np.ndarray) else reason)
            new_bad[pos] = True

    def dates(column: str) -> np.ndarray:
        v = np.asarray(out[column], dtype=object)
        return np.where(pd.isna(v), "", v).astype(str)  # ISO text compares as dates

    def after(column: str, limit: str) -> np.ndarray:
        d = dates(column)
        return (d != "") & (d > limit)

    if table is CLIENTS:
        reject("birth_date", after("birth_date", latest), "birth date after today")
        d = dates("birth_date")
        reject("birth_date", (d != "") & (d < f"{settings.min_birth_year:04d}-01-01"),
               f"birth date before {settings.min_birth_year}")
    elif table is AGENTS:
        reject("hire_date", after("hire_date", latest), "hire date after today")
        hire, left = dates("hire_date"), dates("departure_date")
        reject("departure_date", (left != "") & (hire != "") & (left < hire),
               "departure before hire")
        ids = np.asarray(out["agent_id"], dtype=object)
        boss = np.asarray(out["supervisor_id"], dtype=object)
        reject("supervisor_id", pd.notna(boss) & (boss == ids), "agent supervises themself")
        cycle_pos, cycle_reason = _supervisor_cycles(ids, boss, ~bad & ~new_bad,
                                                     supervisors or {})
        if len(cycle_pos):
            mask = np.zeros(len(bad), dtype=bool)
            mask[cycle_pos] = True
            reasons = np.full(len(bad), "", dtype=object)
            reasons[cycle_pos] = cycle_reason
            reject("supervisor_id", mask, reasons)
    elif table is INTERACTIONS:
        reject("date", after("date", latest), "interaction date after today")
    elif table is POLICIES:
        ahead = (today + dt.timedelta(days=settings.max_policy_start_days_ahead)).isoformat()
        reject("start_date", after("start_date", ahead),
               f"policy starts more than {settings.max_policy_start_days_ahead} days after "
               "today")
    return new_bad


def _supervisor_cycles(ids: np.ndarray, boss: np.ndarray, good: np.ndarray,
                       known: dict[str, str | None]) -> tuple[list[int], list[str]]:
    """Positions of this file's agents on a supervisor circle, and the reason naming the
    circle (``supervisor cycle: A1 -> A2 -> A1``).

    The good rows of this file give their agents' supervisors; ``known`` gives the others'.
    Only circles through at least one agent of this file are reported (a circle wholly in
    ``known`` was already refused, or predates these checks).
    """
    pos_of: dict[str, int] = {}
    for p in np.flatnonzero(good):
        pos_of.setdefault(ids[p], int(p))

    def supervisor(agent: str) -> str | None:
        if agent in pos_of:
            b = boss[pos_of[agent]]
            return b if isinstance(b, str) else None
        return known.get(agent)

    state: dict[str, int] = {}  # 1 = on the current walk, 2 = done
    out_pos: list[int] = []
    out_reason: list[str] = []
    for start in pos_of:
        walk: list[str] = []
        a: str | None = start
        while a is not None and state.get(a) is None:
            state[a] = 1
            walk.append(a)
            a = supervisor(a)
        if a is not None and state.get(a) == 1:  # came back to this walk: a circle
            circle = walk[walk.index(a):]
            text = "supervisor cycle: " + " -> ".join([*circle, circle[0]])
            for member in circle:
                if member in pos_of:
                    out_pos.append(pos_of[member])
                    out_reason.append(text)
        for w in walk:
            state[w] = 2
    return out_pos, out_reason


def _check_refs(table: Table, out: dict[str, object], probs: Problems, bad: np.ndarray,
                known: KnownIds) -> np.ndarray:
    ref_cols = [c for c in table.columns if c.kind == "ref"]
    if not ref_cols:
        return bad
    own = table.label if table.label is not None else None
    own_ids = np.asarray(out[table.key[0]], dtype=object)
    # self-references (agents -> supervisor): count the good rows of this file; repeat until stable
    for _ in range(10):
        new_bad = np.zeros(len(bad), dtype=bool)
        own_index = (pd.Index(own_ids[~bad], dtype=object)
                     if own is not None and any(own in c.refs for c in ref_cols) else None)
        for col in ref_cols:
            v = np.asarray(out[col.name], dtype=object)
            check = (~bad) & pd.notna(v)
            if not check.any():
                continue
            pos = np.flatnonzero(check)
            codes = known.lookup_codes(v[pos])
            if own_index is not None and own in col.refs:
                mine = own_index.get_indexer(v[pos]) >= 0
                codes = np.where(mine & (codes < 0), LABEL_CODES[own.value], codes)
            allowed = [LABEL_CODES[lbl.value] for lbl in col.refs]
            wrong = ~np.isin(codes, allowed)
            labels = _LABEL_BY_CODE[codes]
            if wrong.any():
                wpos = pos[wrong]
                want = " or ".join(lbl.value for lbl in col.refs)
                reasons = np.array(
                    [f"unknown {want} id" if lbl is None else f"is {_label_name(lbl)}, "
                     f"not {_label_name(want) if len(col.refs) == 1 else want}"
                     for lbl in labels[wrong]], dtype=object)
                probs.add(wpos, col.name, v[wpos], reasons)
                new_bad[wpos] = True
        if not new_bad.any():
            break
        bad = bad | new_bad
        if own_index is None:
            break
    return bad


def _check_relationships(out: dict[str, object], probs: Problems, bad: np.ndarray,
                         ends: _Endpoints | None = None, coded: _Coded | None = None
                         ) -> np.ndarray:
    """Kind per relationship type and self-ties (endpoints: :func:`check_endpoints`);
    ``coded``: the types as codes."""
    new_bad = np.zeros(len(bad), dtype=bool)
    types = np.asarray(out["type"], dtype=object)
    kinds = np.asarray(out["kind"], dtype=object)
    no_kinds = pd.isna(kinds)
    any_kind = not no_kinds.all()  # an edge list has no kind column
    for rel_type, allowed in KINDS_BY_TYPE.items():
        is_t = _equals(types, coded, rel_type.value)
        missing = is_t & no_kinds & ~bad
        probs.add(np.flatnonzero(missing), "kind", [""] * int(missing.sum()),
                  f"{rel_type.value} needs a kind: {', '.join(allowed)}")
        new_bad |= missing
        if not any_kind:
            continue
        wrong = is_t & ~no_kinds & ~pd.Series(kinds).isin(allowed).to_numpy() & ~bad
        probs.add(np.flatnonzero(wrong), "kind", kinds[wrong],
                  f"not a kind of {rel_type.value} ({', '.join(allowed)})")
        new_bad |= wrong
    if any_kind:
        no_kind = ~pd.Series(types).isin([t.value for t in KINDS_BY_TYPE]).to_numpy()
        no_kind &= ~no_kinds
        no_kind &= pd.notna(types) & ~bad
    else:
        no_kind = np.zeros(len(bad), dtype=bool)
    if no_kind.any():
        pos = np.flatnonzero(no_kind)
        probs.add(pos, "kind", kinds[pos],
                  np.array([f"{t} takes no kind" for t in types[pos]], dtype=object))
        new_bad |= no_kind
    if ends is not None:
        self_tie = (ends.src == ends.dst) & (ends.src != ends.blank) & ~bad
    else:
        src = np.asarray(out["src_id"], dtype=object)
        self_tie = pd.notna(src) & (src == np.asarray(out["dst_id"], dtype=object)) & ~bad
    if self_tie.any():
        pos = np.flatnonzero(self_tie)
        probs.add(pos, "dst_id", np.asarray(out["dst_id"], dtype=object)[pos],
                  "relationship to itself")
        new_bad |= self_tie
    return new_bad


def _codes_of(col: object) -> np.ndarray:
    """Integer codes of one column for :func:`key_codes`."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if not isinstance(col, pa.Array):
        values = np.asarray(col)
        if (values.dtype.kind in "iu" and len(values) and values.min() >= 0
                and values.max() < 1 << 31):
            return values.astype(np.int64)  # small non-negative integers: codes already
        if values.dtype != object:
            return pd.factorize(pd.Series(values), use_na_sentinel=False)[0].astype(np.int64)
        try:
            col = pa.array(values, type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text
            return pd.factorize(pd.Series(values), use_na_sentinel=False)[0].astype(np.int64)
    enc = pc.dictionary_encode(col, null_encoding="encode")
    return enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)


def key_codes(columns: Sequence[object]) -> np.ndarray:
    """One integer per row, equal where every column is equal (equal-length NumPy or Arrow
    arrays; missing equals missing): each text column is dictionary-encoded by Arrow and the
    codes combined, instead of pandas hashing every Python string of every column (3x faster
    on an edge list of 3 x 300,000 ids); Arrow columns and integer codes are not converted."""
    code: np.ndarray | None = None
    top = 0
    for col in columns:
        idx = _codes_of(col)
        if code is None:
            code, top = idx, int(idx.max(initial=0)) + 1
            continue
        width = int(idx.max(initial=0)) + 1
        if top * width >= 1 << 62:  # keep codes small: the codes so far factorised again
            code = pd.factorize(code)[0].astype(np.int64)
            top = int(code.max(initial=0)) + 1
        code, top = code * width + idx, top * width
    return np.zeros(0, dtype=np.int64) if code is None else code


def duplicated_rows(columns: Sequence[object]) -> np.ndarray:
    """``DataFrame.duplicated(keep="first")`` over ``columns`` (see :func:`key_codes`)."""
    return pd.Series(key_codes(columns)).duplicated(keep="first").to_numpy()


def _turned(src: object, dst: object, turn: np.ndarray) -> tuple[object, object]:
    """``src`` and ``dst`` with the values of the rows in ``turn`` exchanged (Arrow arrays
    stay Arrow)."""
    if not turn.any():
        return src, dst
    if isinstance(src, pa.Array) and isinstance(dst, pa.Array):
        mask = pa.array(turn)
        return pc.if_else(mask, dst, src), pc.if_else(mask, src, dst)
    if (isinstance(src, np.ndarray) and isinstance(dst, np.ndarray)
            and src.dtype != object and dst.dtype != object):
        return np.where(turn, dst, src), np.where(turn, src, dst)
    a = _as_object(src).copy()
    b = _as_object(dst).copy()
    a[turn], b[turn] = b[turn], a[turn].copy()
    return a, b


def _as_object(values: object) -> np.ndarray:
    if isinstance(values, pa.Array):
        return _obj(values)
    return np.asarray(values, dtype=object)


def undirected_reversed(out: dict[str, object], bad: np.ndarray,
                        ends: _Endpoints | None = None, coded: _Coded | None = None
                        ) -> np.ndarray:
    """Rows of an undirected tie (model.UNDIRECTED) whose ``src_id`` is the larger id: the
    validator turns them round, so A–B and B–A have one key in the store.

    ``ends``: the file's ids (compared as Arrow strings: UTF-8 bytes order as code points,
    as Python compares ``str``); ``coded``: the types as codes."""
    types = np.asarray(out["type"], dtype=object)
    kinds = pd.Series(np.asarray(out["kind"], dtype=object))
    sym = np.zeros(len(types), dtype=bool)
    for rel_type, sym_kinds in UNDIRECTED.items():
        is_t = _equals(types, coded, str(rel_type))
        if sym_kinds is not None and is_t.any():
            is_t &= kinds.isin([str(k) for k in sym_kinds]).to_numpy()
        if sym_kinds is None or is_t.any():
            sym |= is_t
    if ends is not None:
        sym &= ~bad & (ends.src != ends.blank) & (ends.dst != ends.blank)
    else:
        src = np.asarray(out["src_id"], dtype=object)
        dst = np.asarray(out["dst_id"], dtype=object)
        sym &= ~bad & pd.notna(src) & pd.notna(dst)
    pos = np.flatnonzero(sym)
    turn = np.zeros(len(types), dtype=bool)
    if len(pos) and ends is not None:
        turn[pos] = pc.less(ends.ids.take(pa.array(ends.dst[pos])),
                            ends.ids.take(pa.array(ends.src[pos]))).to_numpy(
                                zero_copy_only=False)
    elif len(pos):
        turn[pos] = dst[pos].astype(str) < src[pos].astype(str)
    return turn


def merge_reversed_ties(frame: pd.DataFrame, repeats: np.ndarray | None = None
                        ) -> tuple[pd.DataFrame, int]:
    """Drop rows of a validated relationships frame that repeat an undirected tie already in it
    in reverse (same key once :func:`undirected_reversed` rows are turned round); the first
    row is kept.

    ``repeats``: those rows as :func:`validate` found them (``Validated.reversed_repeats``),
    so the keys need not be compared again; computed from ``frame`` when None.

    Returns the frame and the number of rows merged."""
    if frame.empty:
        return frame, 0
    dup = (duplicated_rows([frame[c].to_numpy() for c in RELATIONSHIPS.key])
           if repeats is None else repeats)
    if not dup.any():
        return frame, 0
    return frame.loc[~dup].reset_index(drop=True), int(dup.sum())


def check_endpoints(out: dict[str, object], probs: Problems, bad: np.ndarray,
                    known: KnownIds, ends: _Endpoints | None = None,
                    coded: _Coded | None = None) -> np.ndarray:
    """Endpoint ids exist with the labels their relationship type allows (model.ENDPOINTS).

    ``ends``: the file's ids; each distinct id is then looked up once for both ends.
    ``coded``: the types as codes."""
    type_names = [str(t) for t in ENDPOINTS]
    all_tcodes = (coded.positions(type_names) if coded is not None else
                  pd.Categorical(np.asarray(out["type"], dtype=object),
                                 categories=type_names).codes)
    new_bad = np.zeros(len(bad), dtype=bool)
    file_ends = ends  # (``ends`` below: a type's allowed labels)
    distinct_codes = known.lookup_distinct(file_ends.ids) if file_ends is not None else None
    for side, column in ((0, "src_id"), (1, "dst_id")):
        if file_ends is not None and distinct_codes is not None:
            idx = file_ends.src if side == 0 else file_ends.dst
            pos = np.flatnonzero(~bad & (idx != file_ends.blank))
            codes = distinct_codes[idx[pos]]
            ids = None  # (the ids themselves only for a message)
        else:
            ids = np.asarray(out[column], dtype=object)
            pos = np.flatnonzero(~bad & pd.notna(ids))
            codes = known.lookup_codes(ids[pos])
        unknown = codes < 0
        if unknown.any():
            ids = np.asarray(out[column], dtype=object) if ids is None else ids
            probs.add(pos[unknown], column, ids[pos[unknown]], "unknown id")
            new_bad[pos[unknown]] = True
        tcodes = all_tcodes[pos]
        # allowed[type code, label code]: one table lookup per row instead of a set test per type
        allowed = np.zeros((len(type_names) + 1, len(LABEL_CODES) + 1), dtype=bool)
        for code, ends in enumerate(ENDPOINTS.values()):
            for lbl in ends[side]:
                allowed[code, LABEL_CODES[lbl.value]] = True
        wrong_all = ~unknown & ~allowed[tcodes, codes] & (tcodes >= 0)
        if not wrong_all.any():
            continue
        ids = np.asarray(out[column], dtype=object) if ids is None else ids
        labels = _LABEL_BY_CODE[codes]
        for code, (rel_type, ends) in enumerate(ENDPOINTS.items()):
            m = wrong_all & (tcodes == code)
            if m.any():
                allowed_names = [lbl.value for lbl in ends[side]]
                where = "start" if side == 0 else "end"
                want = " or ".join(allowed_names)
                reasons = np.array([f"{rel_type} must {where} at {_label_name(want)}"
                                    f" ({ids[p]} is {_label_name(lbl)})"
                                    if len(allowed_names) == 1 else
                                    f"{rel_type} must {where} at {want} ({ids[p]} is {lbl})"
                                    for p, lbl in zip(pos[m], labels[m], strict=True)],
                                   dtype=object)
                probs.add(pos[m], column, ids[pos[m]], reasons)
                new_bad[pos[m]] = True
    return new_bad


def _derive_interaction_ids(out: dict[str, object], bad: np.ndarray) -> None:
    """A stable id for rows without interaction_id: sha1 of agent|client|type|date|outcome,
    with ``#k`` for the k-th identical event of the file (k > 1)."""
    ids = np.asarray(out["interaction_id"], dtype=object)
    blank = pd.isna(ids) & ~bad
    if not blank.any():
        return
    pos = np.flatnonzero(blank)
    parts = pd.DataFrame({c: pd.Series(np.asarray(out[c], dtype=object)[pos]).fillna("")
                          .astype(str) for c in ("agent_id", "client_id", "type", "date",
                                                 "outcome")})
    text = parts.agg("|".join, axis=1)
    nth = text.groupby(text, sort=False).cumcount().to_numpy()
    ids = ids.copy()
    for p, t, k in zip(pos, text.tolist(), nth, strict=True):
        src = t if k == 0 else f"{t}#{k + 1}"
        ids[p] = "I-" + hashlib.sha1(src.encode("utf-8")).hexdigest()[:16]
    out["interaction_id"] = ids
