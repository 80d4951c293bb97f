"""Shared plumbing for the app pages: language, store, cached graph, safe calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from graphcrm.config import Settings, load_settings, store_location
from graphcrm.errors import UnknownIdError
from graphcrm.i18n import t
from graphcrm.workspace import load_graph, open_store

T = TypeVar("T")


@dataclass
class Ctx:
    """What every page gets: the language, the store location and (lazily) the graph."""

    lang: str
    location: str
    version: int
    counts: dict[str, int]
    settings: Settings

    def t(self, key: str, **kwargs: object) -> str:
        return t(key, self.lang, **kwargs)

    @property
    def empty(self) -> bool:
        return not any(self.counts.get(k, 0) for k in ("Agent", "Client"))

    def graph(self) -> Any:
        return cached_graph(self.location, self.version)

    def frame(self, name: str, fn: Callable[..., pd.DataFrame], *args: Any) -> pd.DataFrame:
        """A global metric table, cached per (store, data version, name, args)."""
        return cached_table(self.location, self.version, name, fn, args)


@st.cache_resource(max_entries=4, show_spinner=False)
def cached_graph(location: str, version: int) -> Any:
    """The analysis graph of ``location`` at ``version`` (a new ingest makes a new key)."""
    with open_store(location, create=False) as store:
        return load_graph(store, load_settings())


@st.cache_data(max_entries=64, show_spinner=False, hash_funcs={})
def _cached_table(location: str, version: int, name: str, args: tuple[Any, ...],
                  _fn: Callable[..., pd.DataFrame]) -> pd.DataFrame:
    return _fn(cached_graph(location, version), *args)


def cached_table(location: str, version: int, name: str, fn: Callable[..., pd.DataFrame],
                 args: tuple[Any, ...]) -> pd.DataFrame:
    return _cached_table(location, version, name, args, fn)


def store_info(location: str) -> tuple[int, dict[str, int]]:
    """(data version, counts) of the store; an absent file counts as empty (version 0)."""
    with open_store(location, create=True) as store:
        return store.data_version(), store.counts()


def context(lang: str) -> Ctx | None:
    """The page context, or None after showing a one-line error when the store cannot open."""
    location = store_location(None)
    settings = load_settings()
    try:
        version, counts = store_info(location)
    except Exception as exc:
        st.error(t("store_error", lang, store=location, error=exc))
        return None
    return Ctx(lang, location, version, counts, settings)


def safe(ctx: Ctx, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Call a library function; unknown ids and failures become messages, never traces."""
    try:
        return fn(*args, **kwargs)
    except UnknownIdError as exc:
        st.warning(ctx.t("unknown_id", id=exc.node_id))
    except Exception as exc:
        st.error(ctx.t("failed", error=f"{type(exc).__name__}: {exc}"))
    return None


def agent_options(ctx: Ctx) -> list[str]:
    """Agent ids, the one with the biggest book first (the demo's useful default)."""
    ag = ctx.graph()
    sizes = ag.serving.value_counts()
    ids = list(ag.agents.index)
    return sorted(ids, key=lambda a: (-int(sizes.get(a, 0)), a))


def person_label(ag: Any, node_id: str) -> str:
    try:
        return f"{ag.name(node_id)} ({node_id})"
    except KeyError:
        return str(node_id)


def csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 with BOM so Excel opens Chinese text correctly; phones and ID numbers masked, text
    cells neutralised against spreadsheet formulas (graphcrm.privacy)."""
    from graphcrm.privacy import mask_frame, neutralise_frame

    return neutralise_frame(mask_frame(df)).to_csv(index=False).encode("utf-8-sig")
