"""Numbers and codes as a person reads them, in 中文 or English.

Pure helpers (no store, no graph) used by the CLI's human output and the app's pages: a tie in
words with its direction (王伟是卞燕的孩子 / Wang Wei is Bian Yan's child), a warmth level
(热/温/冷 with the thresholds of ``[metrics] warmth_hot / warmth_warm``), rounded numbers,
percentages, and table headers. JSON output never goes through here: its keys and values stay
the documented English codes.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from graphcrm.i18n import CODES, code, t

#: (tie type, kind or "", True when the first-named person is the tie's source) -> (zh, en)
#: sentence with {a} and {b}; "*" as the direction matches both ends (symmetric ties).
_SENTENCES: dict[tuple[str, str, object], tuple[str, str]] = {
    ("SERVES", "", True): ("{a}是{b}的业务员", "{a} is {b}'s agent"),
    ("SERVES", "", False): ("{a}是{b}服务的客户", "{a} is a client of {b}"),
    ("RELATIVE_OF", "parent", True): ("{a}是{b}的父母", "{a} is {b}'s parent"),
    ("RELATIVE_OF", "parent", False): ("{a}是{b}的孩子", "{a} is {b}'s child"),
    ("RELATIVE_OF", "child", True): ("{a}是{b}的孩子", "{a} is {b}'s child"),
    ("RELATIVE_OF", "child", False): ("{a}是{b}的父母", "{a} is {b}'s parent"),
    ("RELATIVE_OF", "spouse", "*"): ("{a}是{b}的配偶", "{a} is {b}'s spouse"),
    ("RELATIVE_OF", "sibling", "*"): ("{a}是{b}的兄弟姐妹", "{a} is {b}'s sibling"),
    ("RELATIVE_OF", "other", "*"): ("{a}是{b}的亲属", "{a} is {b}'s relative"),
    ("RELATIVE_OF", "", "*"): ("{a}是{b}的亲属", "{a} is {b}'s relative"),
    ("COLLEAGUE_OF", "", "*"): ("{a}是{b}的同事", "{a} is {b}'s colleague"),
    ("FRIEND_OF", "", "*"): ("{a}是{b}的朋友", "{a} is {b}'s friend"),
    ("WORKS_AT", "", True): ("{a}在{b}任职", "{a} works at {b}"),
    ("WORKS_AT", "", False): ("{a}是{b}的任职单位", "{a} is {b}'s employer"),
    ("REFERRED", "", True): ("{a}介绍了{b}", "{a} referred {b}"),
    ("REFERRED", "", False): ("{a}是{b}介绍来的", "{a} was referred by {b}"),
    ("BUSINESS_TIE", "", "*"): ("{a}与{b}有商业往来", "{a} does business with {b}"),
}

#: short role of the OTHER end seen from a person: "{b} is their ..." (for table cells)
_ROLES: dict[tuple[str, str], tuple[str, str]] = {
    ("SERVES", ""): ("业务员服务", "served by the agent"),
    ("RELATIVE_OF", "spouse"): ("配偶", "spouse"), ("RELATIVE_OF", "parent"): ("父母/子女",
                                                                           "parent/child"),
    ("RELATIVE_OF", "child"): ("父母/子女", "parent/child"),
    ("RELATIVE_OF", "sibling"): ("兄弟姐妹", "sibling"),
    ("RELATIVE_OF", "other"): ("亲属", "relative"), ("RELATIVE_OF", ""): ("亲属", "relative"),
    ("COLLEAGUE_OF", ""): ("同事", "colleague"), ("FRIEND_OF", ""): ("朋友", "friend"),
    ("WORKS_AT", ""): ("任职单位", "employer"), ("REFERRED", ""): ("转介绍", "referral"),
    ("BUSINESS_TIE", ""): ("商业往来", "business tie"),
}

_SYMMETRIC_KINDS = {"spouse", "sibling", "other"}


def _kind(kind: object) -> str:
    if kind is None or (isinstance(kind, float) and math.isnan(kind)):
        return ""
    text = str(kind)
    return "" if text in {"none", "perceived", "emotional", "behavioural"} else text


def relation_sentence(a: str, b: str, tie_type: str, kind: object, a_is_source: bool,
                      lang: str = "zh") -> str:
    """How ``a`` relates to ``b`` in a sentence, with the tie's direction.

    Parameters
    ----------
    a, b : str
        Display names (the sentence is about ``a``).
    tie_type : str
        A relationship type (``RELATIVE_OF`` ...).
    kind : str or None
        The tie's kind (``child`` ...); trust kinds of a SERVES tie are ignored here.
    a_is_source : bool
        True when ``a`` is the stored tie's ``src_id`` (parent/child, SERVES, WORKS_AT and
        REFERRED read differently from each end).
    lang : str
        ``zh`` or ``en``.

    Examples
    --------
    >>> relation_sentence("王伟", "卞燕", "RELATIVE_OF", "child", True)
    '王伟是卞燕的孩子'
    >>> relation_sentence("Wang Wei", "Bian Yan", "RELATIVE_OF", "parent", False, "en")
    "Wang Wei is Bian Yan's child"
    """
    k = _kind(kind)
    if tie_type == "BUSINESS_TIE" and k:
        base = _SENTENCES[("BUSINESS_TIE", "", "*")]
        word = code("kind", k, lang)
        zh, en = base[0] + f"（{word}）", base[1] + f" ({word})"
    else:
        entry = (_SENTENCES.get((tie_type, k, a_is_source))
                 or _SENTENCES.get((tie_type, k, "*"))
                 or _SENTENCES.get((tie_type, "", a_is_source))
                 or _SENTENCES.get((tie_type, "", "*")))
        if entry is None:
            tie = code("tie", tie_type, lang)
            entry = ("{a}与{b}：" + tie, "{a} and {b}: " + tie)
        zh, en = entry
    return (en if lang == "en" else zh).format(a=a, b=b)


def tie_words(tie_type: object, kind: object = None, lang: str = "zh") -> str:
    """A tie in one or two words, without direction (for a table cell): ``亲属·配偶``."""
    if tie_type is None or (isinstance(tie_type, float) and math.isnan(tie_type)):
        return "—"
    k = _kind(kind)
    role = _ROLES.get((str(tie_type), k)) or _ROLES.get((str(tie_type), ""))
    if role is None:
        return code("tie", tie_type, lang)
    if str(tie_type) == "BUSINESS_TIE" and k:
        return f"{role[1 if lang == 'en' else 0]} ({code('kind', k, lang)})" if lang == "en" \
            else f"{role[0]}（{code('kind', k, lang)}）"
    return role[1] if lang == "en" else role[0]


def warmth_level(warmth: float | None, hot: float, warm: float) -> str:
    """``hot``, ``warm`` or ``cold`` (``""`` for a missing value), by the settings' thresholds."""
    if warmth is None or (isinstance(warmth, float) and math.isnan(warmth)):
        return ""
    return "hot" if warmth >= hot else "warm" if warmth >= warm else "cold"


def warmth_text(warmth: float | None, hot: float, warm: float, lang: str = "zh") -> str:
    """A warmth as its level and rounded value: ``热 0.82`` / ``hot 0.82``."""
    level = warmth_level(warmth, hot, warm)
    if not level:
        return "—"
    return f"{code('warmth', level, lang)} {float(warmth):.2f}"  # type: ignore[arg-type]


def num(value: Any, digits: int = 2) -> str:
    """A number rounded for reading (thousands separated); ``—`` when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "—"
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    if f.is_integer() and abs(f) >= 1:
        return f"{int(f):,}"
    return f"{f:,.{digits}f}"


def pct(share: Any, digits: int = 0) -> str:
    """A share 0-1 as a percentage: ``0.374`` -> ``37%``; ``—`` when missing."""
    if share is None or (isinstance(share, float) and math.isnan(share)) or share is pd.NA:
        return "—"
    return f"{float(share) * 100:.{digits}f}%"


def blank(value: Any) -> str:
    """A cell for a person: ``—`` for None/NaN/empty, else the text."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = str(value)
    return "—" if text in {"", "None", "nan", "NaN", "<NA>"} else text


def codes_in_words(frame: pd.DataFrame, columns: dict[str, str], lang: str) -> pd.DataFrame:
    """A copy of ``frame`` with each column of ``columns`` (column -> CODES category) in words."""
    out = frame.copy()
    for col, category in columns.items():
        if col in out.columns:
            if category not in CODES:
                raise KeyError(category)
            out[col] = [code(category, v, lang) for v in out[col]]
    return out


def legend(category: str, lang: str = "zh", values: list[str] | None = None) -> str:
    """One line that explains the codes of a category: ``MVC = 最有价值客户 · ...``."""
    entries = CODES[category]
    keys = values if values is not None else list(entries)
    sep = " · "
    return sep.join(f"{k} = {code(category, k, lang)}" for k in keys if k in entries)


def table_text(frame: pd.DataFrame) -> str:
    """A table for a terminal: Chinese characters counted double-width so columns line up."""
    with pd.option_context("display.unicode.east_asian_width", True,
                           "display.max_colwidth", 40, "display.width", 200):
        return frame.to_string(index=False)


def words_for_codes(text: str, lang: str = "en", categories: tuple[str, ...] = (
        "need", "stage", "status", "trust", "quadrant", "kind")) -> str:
    """Replace stored codes inside a library sentence (``core needs own_life,
    critical_illness``) by their words, so an English reason reads as English."""
    def sub(m: re.Match[str]) -> str:
        token = m.group(0)
        for cat in categories:
            if token in CODES.get(cat, {}):
                return code(cat, token, lang)
        return token.replace("_", " ")  # a column or field name: plain words

    return re.sub(r"\b[a-z]+(?:_[a-z]+)+\b", sub, text)


def evidence_text(text: object, lang: str = "zh") -> str:
    """Trust evidence (``holds P0001 2026-08-04; private_comment 2026-10-31``) in words."""
    if blank(text) == "—":
        return "—"

    def sub(m: re.Match[str]) -> str:
        token = m.group(0)
        if token in CODES["interaction"]:
            return code("interaction", token, lang)
        return token

    return re.sub(r"\b[a-z]+(?:_[a-z]+)*\b", sub, str(text))


def code_column(values: pd.Series, category: str, lang: str = "zh") -> pd.Series:
    """A column of codes in words at once (:func:`graphcrm.i18n.code` for each distinct value:
    fast on the 10^5-row tables of the app)."""
    words = {v: code(category, v, lang) for v in values.dropna().unique()}
    return values.map(words).fillna("—")


def number_column(values: pd.Series, digits: int = 2) -> pd.Series:
    """A numeric column rounded for reading, ``—`` where missing (vectorised :func:`num`)."""
    x = pd.to_numeric(values, errors="coerce").round(digits)
    text = x.map(lambda v: f"{v:,.{digits}f}", na_action="ignore")
    return text.fillna("—")


def count_words(key: str, lang: str = "zh") -> str:
    """A key of ``GraphStore.counts()`` in words (node labels, tie types, interactions ...)."""
    if key in CODES["label"]:
        return code("label", key, lang)
    if key in CODES["tie"]:
        return t("ties_of", lang, tie=code("tie", key, lang))
    return t({"Prospect": "count_prospects", "INTERACTION": "count_interactions",
              "merged_ids": "count_merged"}.get(key, "counts"), lang)
