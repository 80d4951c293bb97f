"""The workspace: the one door through which the CLI and the app reach the data.

It opens a store with the effective settings, builds the analysis graph once per (store, data
version, settings), keeps it in a small in-process cache and in a snapshot file beside an
embedded store (``<store>.analysis``), and warms the whole-graph tables the app shows first.
"""

from __future__ import annotations

import os
import pickle
import socket
import sys
import threading
from pathlib import Path
from typing import Any

import pandas as pd

from graphcrm import __version__
from graphcrm.config import Settings
from graphcrm.fieldwork import calendar as fieldwork_calendar
from graphcrm.graph import AnalysisGraph, build_graph
from graphcrm.metrics.bridges import betweenness
from graphcrm.metrics.hub_scope import hub_scope_index
from graphcrm.metrics.influence import agent_influence, influence_table
from graphcrm.metrics.lookup import directed_ties
from graphcrm.metrics.needs import gaps_inputs
from graphcrm.metrics.opmap import client_tiers
from graphcrm.metrics.penetration import busiest_centres, tie_counts, tie_type_codes
from graphcrm.metrics.rewards import SETTLED_COLUMNS, graph_reward_basis, warm_graph_ledger
from graphcrm.metrics.stages import stage_table
from graphcrm.scope import Scope, scope_for
from graphcrm.store.access import AccessStore, User, open_access
from graphcrm.store.base import GraphStore
from graphcrm.store.connect import open_store

__all__ = ["SNAPSHOT_SUFFIX", "load_graph", "open_access_store", "open_store", "preload_graph",
           "read_snapshot", "save_snapshot", "snapshot_path", "user_scope", "warm_gaps_page",
           "warm_graph", "warm_graph_tables", "warm_hubs_page", "warm_penetration_page",
           "warm_rewards"]


#: suffix of the analysis-graph snapshot file written beside an embedded store's file
SNAPSHOT_SUFFIX = ".analysis"

_CACHE: dict[tuple[str, int, str], AnalysisGraph] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 2


def snapshot_path(store: GraphStore) -> Path | None:
    """Where the analysis-graph snapshot of ``store`` lives: ``<store file>.analysis`` beside an
    embedded store's file; None for servers and in-memory stores (no snapshot)."""
    loc = str(store.location)
    if "://" in loc or loc in ("", ":memory:"):
        return None
    return Path(loc).with_name(Path(loc).name + SNAPSHOT_SUFFIX)


def _snapshot_key(store: GraphStore, settings: Settings) -> dict[str, str]:
    return {"graphcrm": __version__, "store": store.fingerprint(), "settings": repr(settings)}


def read_snapshot(store: GraphStore, settings: Settings) -> AnalysisGraph | None:
    """The saved analysis graph of the store's current data, or None (absent, stale, unreadable).

    The file holds two pickles: the key (package version, store fingerprint, settings) and the
    graph; the graph is only unpickled when the key matches. Only files GraphCRM itself wrote
    beside the store are read.
    """
    path = snapshot_path(store)
    if path is None or not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            if pickle.load(fh) != _snapshot_key(store, settings):
                return None
            ag = pickle.load(fh)
    except Exception:  # a truncated or foreign file is only a cache miss
        return None
    if not isinstance(ag, AnalysisGraph):
        return None
    ag._cache[_SAVED] = (path, _snapshot_key(store, settings),
                         frozenset(k for k in ag._cache if k != _SAVED))
    return ag


#: key of ``ag._cache`` that remembers where and under which key ``ag`` was last saved
_SAVED = "__snapshot__"


def save_snapshot(store: GraphStore, ag: AnalysisGraph) -> Path | None:
    """Save ``ag`` (with the metrics cached on it) beside the store, atomically.

    Returns the path written, or None when the store has no snapshot location or the directory
    is not writable (a snapshot is an optimisation, never a reason to fail).
    """
    path = snapshot_path(store)
    if path is None:
        return None
    return _write_snapshot(path, _snapshot_key(store, ag.settings), ag)


def _write_snapshot(path: Path, key: dict[str, str], ag: AnalysisGraph) -> Path | None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    computed = frozenset(k for k in ag._cache if k != _SAVED)
    ag._cache.pop(_SAVED, None)  # not part of the file: a reader sets its own
    try:
        with tmp.open("wb") as fh:
            pickle.dump(key, fh, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(ag, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        return None
    finally:
        ag._cache[_SAVED] = (path, key, computed)
    return path


def save_new_metrics(ag: AnalysisGraph) -> Path | None:
    """Save ``ag`` again to the snapshot it was read from or saved to, if whole-graph metrics
    were computed on it since (e.g. the first ``hubs`` after ``ingest --no-warm``), so later
    commands read them instead of recomputing.

    The key is the one of the data ``ag`` was built from: if the store changed meanwhile the
    file is simply stale for the next reader. Returns the path written, or None (nothing new,
    no snapshot location, not writable).
    """
    saved = ag._cache.get(_SAVED)
    if saved is None:
        return None
    path, key, computed = saved
    if not (set(ag._cache) - {_SAVED}) - computed:
        return None
    return _write_snapshot(path, key, ag)


def load_graph(store: GraphStore, settings: Settings | None = None, *,
               snapshot: bool = True) -> AnalysisGraph:
    """:func:`build_graph`, cached per (store location, data version, settings).

    A new ingest moves the data version on, so the next call rebuilds. With ``snapshot`` the
    graph is also read from / saved to :func:`snapshot_path`, so a new process (the app after a
    restart, a CLI command) does not rebuild what :func:`warm_graph` or an earlier call built.
    """
    settings = settings or Settings()
    key = (str(store.location), store.data_version(), repr(settings))
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        loading = _LOADING.setdefault(key, threading.Lock())
    if hit is not None:
        return hit
    with loading:  # a second caller (the app's preload and its first page) waits for the first
        with _CACHE_LOCK:
            hit = _CACHE.get(key)
        if hit is not None:
            return hit
        ag = read_snapshot(store, settings) if snapshot else None
        if ag is None:
            ag = build_graph(store, settings)
            if snapshot:
                save_snapshot(store, ag)
        with _CACHE_LOCK:
            _CACHE[key] = ag
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.pop(next(iter(_CACHE)))
            _LOADING.pop(key, None)
    return ag


_LOADING: dict[tuple[str, int, str], threading.Lock] = {}
_PRELOADS: set[tuple[str, int]] = set()


def preload_graph(location: str, version: int, settings: Settings, *, wait: bool = False
                  ) -> bool:
    """Start reading the analysis graph of ``location`` at ``version`` in a background thread
    (once per process), so the app's first page finds it loaded: the app calls this while it
    shows the sign-in form (10^5 clients: seconds of snapshot reading). A failure is left for
    the page's own :func:`load_graph` call to report. ``wait`` returns only once it is read
    (the app server, before it listens: reading a snapshot holds Python's lock for seconds,
    which would stall the first visitor's sign-in page). Returns True when a load started."""
    with _CACHE_LOCK:
        if (location, version) in _PRELOADS:
            return False
        _PRELOADS.add((location, version))

    def run() -> None:
        try:
            with open_store(location, create=False, settings=settings) as store:
                prime_indexes(load_graph(store, settings))
        except Exception:  # only an optimisation: the page's own load reports errors
            return

    thread = threading.Thread(target=run, name="graphcrm-preload", daemon=True)
    thread.start()
    if wait:
        thread.join()
    return True


def prime_indexes(ag: AnalysisGraph) -> int:
    """Build the hash tables of the graph's id indexes (tables, the CSR view, the metric
    tables cached on it) now, as the app server does before it listens.

    pandas keeps an index's hash table (and whether it is unique) only in memory: after a
    snapshot is read, the first look-up in each big index hashes every id again (10^6 clients:
    a fraction of a second per index, several indexes on the operation map's first visit).
    Returns the number of indexes primed."""
    seen: set[int] = set()
    primed = 0

    def prime(obj: Any) -> None:
        nonlocal primed
        if isinstance(obj, pd.DataFrame | pd.Series):
            obj = obj.index
        if not isinstance(obj, pd.Index) or id(obj) in seen:
            return
        seen.add(id(obj))
        if obj.dtype == object:
            _ = obj.is_unique  # builds the index's hash table
            primed += 1

    for value in list(ag.__dict__.values()) + list(ag._cache.values()):
        if isinstance(value, tuple | list):
            for item in value:
                prime(item)
        else:
            prime(value)
    prime(ag.csr.index)
    return primed


def warm_graph(store: GraphStore, settings: Settings | None = None) -> AnalysisGraph:
    """Build the analysis graph and the whole-graph metrics the app shows first (influence
    table with circles, trust, quadrants and tiers, bridges, the reward ledger's
    period-independent part), and save them as the store's snapshot.

    The ingest command calls this after a load that changed data, so the first page an agent
    opens afterwards reads a ready graph instead of computing it.
    """
    settings = settings or Settings()
    ag = load_graph(store, settings, snapshot=False)
    warm_graph_tables(ag)
    warm_rewards(store, ag)
    save_snapshot(store, ag)
    return ag


def warm_rewards(store: GraphStore, ag: AnalysisGraph) -> None:
    """The reward ledger's period-independent part (identity groups, first policies, referral
    decisions, each month's policies) on the whole graph, with the store's merged ids, and the
    ledger of the latest month (the rewards page's default): the page then computes only
    another month it is asked for (docs/metrics.md)."""
    aliases = store.aliases()
    graph_reward_basis(ag, aliases)
    settled = pd.DataFrame(store.journal("reward_settled"), columns=SETTLED_COLUMNS)
    warm_graph_ledger(ag, aliases, settled)  # the page's default month


def warm_graph_tables(ag: AnalysisGraph) -> None:
    """Compute on ``ag`` what the first pages and commands read: the influence table with
    circles, trust, quadrants and tiers, bridges, the agents' books, tie counts, operation
    stages, the field-work lookups (calendar, orphans) and the hubs page's tables."""
    influence_table(ag)  # also the influence scores the operation map reads
    client_tiers(ag)
    ag.book("")  # every agent's book (the operation map's first visit)
    tie_counts(ag)  # the penetration page's default centres
    stage_table(ag)  # every client's operation stage (the operation map)
    betweenness(ag)  # bridges: sized by [metrics] betweenness_work_budget (seconds at 10^5)
    fieldwork_calendar.warm(ag)
    warm_hubs_page(ag)
    warm_gaps_page(ag)
    warm_penetration_page(ag)


def warm_hubs_page(ag: AnalysisGraph) -> None:
    """The hubs page's whole-graph passes: the agents' influence (a PageRank of the whole
    graph) and the per-client index the page filters to a team (numbers only, no names)."""
    agent_influence(ag)
    hub_scope_index(ag)


def warm_gaps_page(ag: AnalysisGraph) -> None:
    """The coverage-gaps page's whole-graph reads: the family ties and the reference date."""
    gaps_inputs(ag)


def warm_penetration_page(ag: AnalysisGraph) -> None:
    """The penetration page's whole-graph reads: the tie type per tie (its tie-type filter),
    the default centres and the stored direction of REFERRED / RELATIVE_OF ties (the drawing's
    tie sentences)."""
    tie_type_codes(ag)
    for kind in ("client", "organization"):
        busiest_centres(ag, kind)
    directed_ties(ag)


# -- the app server (graphcrm demo, graphcrm bench app --browser) ----------------------------

#: the Streamlit entry script of the app
APP_SCRIPT = Path(__file__).resolve().parents[1] / "app.py"
#: what servers run: app.py behind graphcrm.app.deep_urls (deep links lead to the sign-in form)
SERVE_SCRIPT = APP_SCRIPT.with_name("serve.py")


def port_free(port: int) -> bool:
    """True when nothing listens on ``port`` of 127.0.0.1."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def streamlit_command(port: int, address: str = "127.0.0.1", script: Path = SERVE_SCRIPT
                      ) -> list[str]:
    """``streamlit run serve.py`` (app.py with deep-URL redirects) headless (no first-run
    e-mail prompt, no browser of its own), bound to this machine only (the store holds personal
    data; no external-address lookup), started through :mod:`graphcrm.app.launch` (the pages
    imported and the analysis graph read before the server listens). ``script``: another
    checkout's serve.py (the app benchmark's baseline)."""
    return [sys.executable, "-m", "graphcrm.app.launch", "run", str(script),
            "--server.port", str(port), "--server.address", address,
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--browser.serverAddress", "localhost", "--browser.serverPort", str(port)]


# -- users, scope and audit (docs/privacy.md) ------------------------------------------------
def open_access_store(location: str, settings: Settings) -> AccessStore:
    """The users, sign-in throttle and audit trail of the store at ``location``: in the store's
    own file when it is embedded, in ``[access] side_file`` for a Neo4j server."""
    return open_access(location, settings.access)


def user_scope(user: User, ag: AnalysisGraph) -> Scope:
    """What ``user`` may see in ``ag`` (agent: own book; manager: teams/branches; admin: all)."""
    return scope_for(user, ag)
