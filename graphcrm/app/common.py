"""Shared plumbing for the app pages: language, store, cached graph, safe calls."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import streamlit as st

from graphcrm.app.auth import access_store
from graphcrm.config import Settings, load_settings, store_location
from graphcrm.errors import UnknownIdError
from graphcrm.i18n import t
from graphcrm.model import Label
from graphcrm.privacy import mask_frame, mask_value, neutralise_frame
from graphcrm.scope import (
    Scope,
    display_name,
    filter_rows,
    hide_names,
    scoped_graph,
    sees,
    visible,
)
from graphcrm.store.access import User
from graphcrm.workspace import load_graph, open_store, preload_graph
from graphcrm.workspace import user_scope as workspace_scope

T = TypeVar("T")


@dataclass
class Ctx:
    """What every page gets: the language, the store location and (lazily) the graph."""

    lang: str
    location: str
    version: int
    counts: dict[str, int]
    settings: Settings
    user: User | None = None

    def t(self, key: str, **kwargs: object) -> str:
        return t(key, self.lang, **kwargs)

    @property
    def empty(self) -> bool:
        return not any(self.counts.get(k, 0) for k in ("Agent", "Client"))

    def graph(self) -> Any:
        """The analysis graph as the signed-in user may see it: other agents' clients are
        "a client of 同事 X (team)" with no contact details (graphcrm.scope.scoped_graph), so
        every narration and table built from it carries only names the user may see."""
        full = cached_graph(self.location, self.version)
        return scoped_view(full, user_scope(full), self.lang)

    def full_graph(self) -> Any:
        """The whole analysis graph, every name in it: only for metrics whose result the page
        filters to the user's scope or hides (:meth:`rows`, :meth:`hide`) before showing it."""
        return cached_graph(self.location, self.version)

    def frame(self, name: str, fn: Callable[..., pd.DataFrame], *args: Any) -> pd.DataFrame:
        """A global metric table, cached per (store, data version, name, args) and shared by
        every session: read it, never change it in place (filter or copy it first)."""
        return cached_table(self.location, self.version, name, fn, args)

    def month_table(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        """Like :meth:`frame`, for results made per month a user picks (the reward ledger):
        fewer kept at once (each can be tens of MB at 10^6 clients)."""
        return _cached_month(self.location, self.version, name, args, fn)

    # -- scope and audit (graphcrm.scope; docs/privacy.md) ---------------------------------
    @property
    def scope(self) -> Scope:
        return user_scope(cached_graph(self.location, self.version))

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.role == "admin"

    def name(self, node_id: str) -> str:
        """The name the signed-in user may see ("a client of 同事 X (team)" otherwise)."""
        return display_name(self.scope, self.graph(), node_id, self.lang)

    def sees(self, node_id: str) -> bool:
        return sees(self.scope, self.graph(), node_id)

    def visible(self, ids: list[str]) -> list[str]:
        """Only the ids the signed-in user may see, in order (one pass, not one
        :meth:`sees` per id: each call goes through the graph cache)."""
        ag = self.graph()
        return [i for i, ok in zip(ids, visible(self.scope, ag, ids), strict=True) if ok]

    def rows(self, frame: pd.DataFrame, id_col: str) -> pd.DataFrame:
        """Only the rows the signed-in user may see."""
        return filter_rows(self.scope, self.graph(), frame, id_col)

    def hide(self, frame: pd.DataFrame, pairs: dict[str, str]) -> pd.DataFrame:
        """Names of people outside the user's scope replaced (id column -> name column)."""
        return hide_names(self.scope, self.graph(), frame, pairs, self.lang)

    def audit(self, action: str, target: str | list[str] = "", detail: str = "") -> None:
        audit(self, action, target, detail)

    def download(self, label: str, frame: pd.DataFrame | Callable[[], pd.DataFrame],
                 file_name: str, key: str, rows: int | None = None) -> None:
        """A CSV download button (masked, formula-neutralised); a click is audited.

        The file is made when the button is clicked, not on every run of the page (10^5
        clients: a second of each operation-map visit). ``frame`` may be a function that
        makes the table then; ``rows`` is its row count for the audit trail."""
        n = len(frame) if rows is None and isinstance(frame, pd.DataFrame) else rows

        def data() -> bytes:
            return csv_bytes(frame() if callable(frame) else frame)

        st.download_button(label, data, file_name, "text/csv", key=key,
                           on_click=audit, args=(self, "download", file_name, f"rows={n}"))


@st.cache_resource(max_entries=4, show_spinner=False)
def cached_graph(location: str, version: int) -> Any:
    """The analysis graph of ``location`` at ``version`` (a new ingest makes a new key)."""
    with open_store(location, create=False) as store:
        return load_graph(store, load_settings())


@st.cache_resource(max_entries=64, show_spinner=False)
def _cached_table(location: str, version: int, name: str, args: tuple[Any, ...],
                  _fn: Callable[..., pd.DataFrame]) -> pd.DataFrame:
    """One table per (store, data version, name, args), shared by every session of this app
    process as the analysis graph is. ``st.cache_data`` pickled each table when it was made
    and unpickled a copy on every visit (at 10^5 clients 0.1-0.5 s per table and visit, ten
    times that at 10^6); pages only read these tables (they filter, copy or word them into new
    frames), never change them in place."""
    return _fn(cached_graph(location, version), *args)


@st.cache_resource(max_entries=8, show_spinner=False)
def _cached_month(location: str, version: int, name: str, args: tuple[Any, ...],
                  _fn: Callable[..., Any]) -> Any:
    """:func:`_cached_table` for per-month results (:meth:`Ctx.month_table`), at most 8 kept."""
    return _fn(cached_graph(location, version), *args)


def cached_table(location: str, version: int, name: str, fn: Callable[..., pd.DataFrame],
                 args: tuple[Any, ...]) -> pd.DataFrame:
    return _cached_table(location, version, name, args, fn)


def preload(location: str, settings: Settings, wait: bool = False) -> None:
    """Start reading the analysis graph in the background while the sign-in form shows (once
    per data version and app process), so the first page after signing in finds it loaded;
    with ``wait`` (the server launcher, before it listens) return once it is read.
    Nothing is created or shown here: a store that cannot open is left for :func:`context`."""
    try:
        with open_store(location, create=False) as store:
            version = store.data_version()
    except Exception:
        return
    if version:  # 0: nothing loaded yet
        preload_graph(location, version, settings, wait=wait)


#: the store's counts per (location, fingerprint): counting is a pass over every table (1.4 s
#: at 10^5 clients) and ran on every click; any change to the data changes the fingerprint
_COUNTS: dict[tuple[str, str], dict[str, int]] = {}


def store_info(location: str) -> tuple[int, dict[str, int]]:
    """(data version, counts) of the store; an absent file counts as empty (version 0)."""
    with open_store(location, create=True) as store:
        key = (location, store.fingerprint())
        counts = _COUNTS.get(key)
        if counts is None:
            counts = store.counts()
            if len(_COUNTS) > 8:
                _COUNTS.clear()
            _COUNTS[key] = counts
        return store.data_version(), dict(counts)


def context(lang: str, user: User | None = None) -> Ctx | None:
    """The page context, or None after showing a one-line error when the store cannot open."""
    location = store_location(None)
    settings = load_settings()
    try:
        version, counts = store_info(location)
    except Exception as exc:
        st.error(t("store_error", lang, store=location, error=exc))
        return None
    drop_stale_caches(location, version)
    st.session_state[_USER_OBJ] = user
    return Ctx(lang, location, version, counts, settings, user)


_USER_OBJ, _SCOPE, _SCOPED = "_auth_user_obj", "_auth_scope", "_auth_scoped_graph"
_SEEN_VERSION: dict[str, int] = {}


def drop_stale_caches(location: str, version: int) -> None:
    """A new data version (an ingest, an erasure) empties this process's graph and table caches,
    so no copy of erased data stays in the app's memory."""
    if _SEEN_VERSION.get(location, version) != version:
        cached_graph.clear()
        _cached_table.clear()
        _cached_month.clear()
    _SEEN_VERSION[location] = version


def user_scope(ag: Any) -> Scope:
    """The signed-in user's scope in ``ag`` (kept per session; nobody's book when no user)."""
    user = st.session_state.get(_USER_OBJ)
    if user is None:
        return Scope("", "none", None, frozenset())
    key = (user, getattr(ag, "location", ""), getattr(ag, "data_version", 0))
    cached = st.session_state.get(_SCOPE)
    if cached is not None and cached[0] == key:
        return cached[1]
    scope = workspace_scope(user, ag)
    st.session_state[_SCOPE] = (key, scope)
    return scope


def scoped_view(ag: Any, scope: Scope, lang: str) -> Any:
    """``ag`` as ``scope`` sees it, kept per session (one copy per data version and language)."""
    if scope.agents is None:
        return ag
    key = (scope, getattr(ag, "location", ""), getattr(ag, "data_version", 0), lang)
    cached = st.session_state.get(_SCOPED)
    if cached is not None and cached[0] == key:
        return cached[1]
    view = scoped_graph(scope, ag, lang)
    st.session_state[_SCOPED] = (key, view)
    return view


def audit(ctx: Ctx, action: str, target: str | list[str] = "", detail: str = "") -> None:
    """One audit row for the signed-in user (graphcrm.store.access)."""
    who = ctx.user.name if ctx.user is not None else "-"
    access_store(ctx.location, ctx.settings).record(who, action, target, detail)


#: widget keys whose value cannot be set (buttons, uploads) or is not a choice (tables)
_NOT_CHOICES = ("_csv", "_more", "_run", "_upload", "_table", "_chains", "_totals", "_lines",
                "_exclusions", "_bridges", "_circles", "_counts", "_summary", "_rejects")


def keep_selections() -> None:
    """After a language switch, hand every choice back to its widget.

    A radio or select box whose option labels change (中文 -> English) keeps its value on the
    server but the browser no longer finds the old label and shows nothing chosen; setting
    the value again makes Streamlit send it with the new labels.
    """
    for key in list(st.session_state.keys()):
        key = str(key)
        if key in ("lang", "page", "sign_out") or key.startswith(("_", "signin_")) \
                or key.endswith(_NOT_CHOICES):
            continue
        value = st.session_state[key]
        if not isinstance(value, str | int | float | bool | list | tuple) and value is not None:
            continue
        with contextlib.suppress(Exception):
            st.session_state[key] = value
    # the page radio is drawn after this call: set it the same way
    if "page" in st.session_state:
        st.session_state["page"] = st.session_state["page"]


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
    """Agent ids in the user's scope, the one with the biggest book first (the demo's useful
    default)."""
    ag = ctx.graph()
    sizes = ctx.frame("book_sizes", _book_sizes)  # a pass over every client: once per process
    scope = ctx.scope
    ids = [a for a in ag.agents.index if scope.agents is None or a in scope.agents]
    return sorted(ids, key=lambda a: (-int(sizes.get(a, 0)), a))


def _book_sizes(ag: Any) -> pd.Series:
    ag.book("")  # the agents' books: built once per graph (the warm-up saves them)
    return pd.Series({a: len(c) for a, c in ag._cache["books"].items()}, dtype=np.int64)


def person_label(ag: Any, node_id: str) -> str:
    """``name (id)`` with the name the signed-in user may see."""
    try:
        name = display_name(user_scope(ag), ag, node_id, st.session_state.get("lang", "zh"))
        return f"{name} ({node_id})"
    except KeyError:
        return str(node_id)


def person_labels(ag: Any, ids: Any) -> dict[str, str]:
    """``{id: "name (id)"}`` with the names the signed-in user may see, made now in the script
    run: a select box's format function is also called outside the run (Streamlit's AppTest
    does), where no user is known and every name would be masked."""
    ids = [str(i) for i in ids]
    scope = user_scope(ag)
    names = ag.nodes["name"].reindex(ids).to_numpy()
    seen = visible(scope, ag, ids)
    return {i: (f"{n} ({i})" if ok and isinstance(n, str) else person_label(ag, i))
            for i, n, ok in zip(ids, names, seen, strict=True)}


#: every ASCII punctuation character: CommonMark lets each be backslash-escaped, and escaping
#: them all means no link, image, emphasis, HTML, autolink (``http\\://``), Streamlit
#: directive (``:red[...]``, ``:material/...:``) or LaTeX (``$``) can come out of data
_MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")


#: GFM turns bare ``http://``, ``www.`` and ``a@b.c`` into links after escapes are resolved:
#: an invisible word joiner (U+2060) inside them stops it
_AUTOLINK = re.compile(r"(?i)(?<=h)(?=ttps?:)|(?<=f)(?=tp:)|(?<=w)(?=ww\.)|(?=@)")


def md(text: object) -> str:
    """Data (a name, an id) made literal text for st.markdown / st.caption / st.success /
    st.table cells: Markdown never turns a name into a link, an image or HTML (every ASCII
    punctuation escaped; a word joiner inside ``http:``, ``www.`` and before ``@``)."""
    text = _AUTOLINK.sub("\u2060", " ".join(str(text).split()))
    return _MD_SPECIAL.sub(r"\\\1", text)


def contact_details(ctx: Ctx, person_id: str) -> None:
    """A client's mobile and ID number on their detail: masked for everyone who may see the
    person (docs/privacy.md); an admin may reveal the full numbers with a button, for that one
    run of the page, and each reveal is an audit row (``view_personal_data``). Agents and
    managers get no button."""
    if not ctx.sees(person_id):
        return
    with open_store(ctx.location, create=False, settings=ctx.settings) as store:
        rows = store.get_nodes(Label.CLIENT, [person_id])
    if rows.empty:
        return
    values = {kind: rows.iloc[0].get(kind) for kind in ("phone", "id_number")}
    values = {k: v for k, v in values.items() if isinstance(v, str) and v.strip()}
    if not values:
        return
    revealed = ctx.is_admin and st.button(
        ctx.t("reveal_numbers"), key="reveal_numbers", on_click=audit,
        args=(ctx, "view_personal_data", person_id, "unmasked " + ",".join(values)))
    shown = {k: (v if revealed else mask_value(k, v)) for k, v in values.items()}
    st.table(pd.DataFrame({"": [ctx.t(f"col_{k}") for k in shown],
                           " ": [md(v) for v in shown.values()]}))
    if revealed:
        st.caption(ctx.t("revealed_note"))


def search_digest(ctx: Ctx, text: str) -> str:
    """The keyed digest the audit trail records for a search (never the typed text)."""
    return access_store(ctx.location, ctx.settings).digest(text)


def csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 with BOM so Excel opens Chinese text correctly; phones and ID numbers masked, text
    cells neutralised against spreadsheet formulas (graphcrm.privacy)."""
    return neutralise_frame(mask_frame(df)).to_csv(index=False).encode("utf-8-sig")


def uploader_in_words(ctx: Ctx) -> None:
    """Streamlit draws a file uploader's button and limits in English: say them in the page's
    language instead (our own words, no user data in this style)."""
    st.markdown(
        "<style>[data-testid='stFileUploaderDropzoneInstructions']{display:none}"
        "[data-testid='stFileUploaderDropzone'] button > *{display:none}"
        "[data-testid='stFileUploaderDropzone'] button::after{content:'"
        + ctx.t("choose_files") + "'}</style>", unsafe_allow_html=True)
