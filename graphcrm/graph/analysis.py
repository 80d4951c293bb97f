"""The analysis graph: the store's data as one weighted, undirected relationship graph.

:func:`build_graph` reads every table from a :class:`~graphcrm.store.base.GraphStore`, computes
each tie's strength and distance (:mod:`graphcrm.graph.strength`) and returns an
:class:`AnalysisGraph`. ``ag.G`` is a plain :class:`networkx.Graph` (built on first use);
``ag.csr`` is the same graph as a SciPy CSR matrix that the whole-graph passes and the path
search use at scale. :func:`graphcrm.workspace.load_graph` caches the result per store, data
version and settings, and keeps the snapshot beside the store.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp

from graphcrm.config import Settings
from graphcrm.errors import UnknownIdError
from graphcrm.graph.strength import edge_table, reference_date, trust_table
from graphcrm.model import Label
from graphcrm.store.base import GraphStore


def ranges(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start, start + len)`` for many ranges, vectorised: the positions in
    a CSR matrix's ``indices``/``data`` of the rows that start at ``starts``."""
    total = int(lens.sum())
    offs = np.repeat(np.cumsum(lens) - lens, lens)
    return np.repeat(starts, lens) + (np.arange(total) - offs)


@dataclass
class CSRView:
    """The analysis graph as arrays: node ``ids`` (position = index), ``index`` (id -> pos),
    symmetric ``strength`` and ``distance`` CSR matrices, and per-edge ``edge_pos`` into
    :attr:`AnalysisGraph.edges` (aligned with ``strength.data``)."""

    ids: np.ndarray
    index: pd.Index
    strength: sp.csr_matrix
    distance: sp.csr_matrix
    edge_pos: np.ndarray

    def pos(self, node_id: str) -> int:
        p = self.index.get_indexer([node_id])[0]
        if p < 0:
            raise UnknownIdError(node_id)
        return int(p)


@dataclass
class AnalysisGraph:
    """Everything the metrics need, read once from a store.

    Attributes
    ----------
    G : networkx.Graph (property, built on first access)
        Nodes = agent, client and organization ids with attributes ``label`` and ``name``;
        edges carry ``strength`` (0, 1], ``distance`` (= -ln strength), ``type``, ``kind`` and
        ``last_contact`` (ISO date string or None). Parallel ties collapse to the strongest;
        distrusted agent–client ties are absent.
    referrals : networkx.DiGraph
        REFERRED edges referrer -> referee with ``date`` and ``converted``.
    agents, clients, organizations, policies, relationships, interactions : DataFrame
        The store's tables, node and policy tables indexed by their id column.
        ``clients['status']`` is filled: ``client`` if the person holds or is insured by an
        in-force policy (or the file says so), else ``prospect``.
    nodes : DataFrame
        Every node: index id, columns ``label``, ``name``.
    edges : DataFrame
        The collapsed tie table ``u, v, strength, distance, type, kind, last_contact``.
    """

    agents: pd.DataFrame
    clients: pd.DataFrame
    organizations: pd.DataFrame
    policies: pd.DataFrame
    relationships: pd.DataFrame
    interactions: pd.DataFrame
    referrals: nx.DiGraph
    nodes: pd.DataFrame
    edges: pd.DataFrame
    serving: pd.Series
    data_version: int
    settings: Settings
    location: str = ""
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        # the NetworkX graph is rebuilt on demand from ``edges``: leave it out of snapshots
        state = dict(self.__dict__)
        state.pop("G", None)
        return state

    @functools.cached_property
    def G(self) -> nx.Graph:
        g = nx.Graph()
        g.add_nodes_from(
            (i, {"label": lbl, "name": nm})
            for i, lbl, nm in zip(self.nodes.index, self.nodes["label"], self.nodes["name"],
                                  strict=True)
        )
        e = self.edges
        g.add_edges_from(
            (u, v, {"strength": s, "distance": d, "type": t, "kind": k, "last_contact": lc})
            for u, v, s, d, t, k, lc in zip(e["u"], e["v"], e["strength"], e["distance"],
                                            e["type"], e["kind"], e["last_contact"], strict=True)
        )
        return g

    @functools.cached_property
    def csr(self) -> CSRView:
        ids = self.nodes.index.to_numpy(dtype=object)
        index = pd.Index(ids)
        n = len(ids)
        e = self.edges
        u = index.get_indexer(e["u"])
        v = index.get_indexer(e["v"])
        m = len(e)
        rows = np.concatenate([u, v])
        cols = np.concatenate([v, u])
        pos = np.concatenate([np.arange(m), np.arange(m)])
        order = np.lexsort((cols, rows))
        rows, cols, pos = rows[order], cols[order], pos[order]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
        s = e["strength"].to_numpy(dtype=float)[pos]
        d = e["distance"].to_numpy(dtype=float)[pos]
        strength = sp.csr_matrix((s, cols.astype(np.int32), indptr), shape=(n, n))
        distance = sp.csr_matrix((d, cols.astype(np.int32), indptr), shape=(n, n))
        return CSRView(ids, index, strength, distance, pos)

    # -- lookups ----------------------------------------------------------------------
    def has(self, node_id: str) -> bool:
        return node_id in self.nodes.index

    def label(self, node_id: str) -> str:
        try:
            return str(self.nodes.at[node_id, "label"])
        except KeyError:
            raise UnknownIdError(node_id) from None

    def name(self, node_id: str) -> str:
        """The display name of an agent, client or organization (raises UnknownIdError)."""
        try:
            return str(self.nodes.at[node_id, "name"])
        except KeyError:
            raise UnknownIdError(node_id) from None

    def serving_agent(self, client_id: str) -> str | None:
        """The client's servicing agent: SERVES, else the latest policy's servicing agent."""
        agent = self.serving.get(client_id)
        return None if agent is None or pd.isna(agent) else str(agent)

    def book(self, agent_id: str) -> list[str]:
        """The ids of the clients (and prospects) the agent serves."""
        books = self._cache.get("books")
        if books is None:
            books = {a: list(g.index) for a, g in self.serving.groupby(self.serving, sort=False)}
            self._cache["books"] = books
        return list(books.get(agent_id, []))

    def status(self, person_id: str) -> str | None:
        """``client`` or ``prospect`` for a client node, None for agents and organizations."""
        if person_id in self.clients.index:
            return str(self.clients.at[person_id, "status"])
        return None


def build_graph(store: GraphStore, settings: Settings | None = None) -> AnalysisGraph:
    """Read the store and build the analysis graph.

    Parameters
    ----------
    store : GraphStore
    settings : Settings, optional
        Defaults to :class:`graphcrm.config.Settings` ().

    Returns
    -------
    AnalysisGraph
    """
    settings = settings or Settings()
    frames = {
        "agents": store.nodes(Label.AGENT), "clients": store.nodes(Label.CLIENT),
        "organizations": store.nodes(Label.ORGANIZATION), "policies": store.nodes(Label.POLICY),
        "relationships": store.relationships(), "interactions": store.interactions(),
    }
    ag = build_graph_frames(frames, settings, data_version=store.data_version(),
                            location=store.location)
    if settings.neo4j.use_gds and hasattr(store, "gds_pagerank"):
        apply_gds(store, ag)
    return ag


def apply_gds(store: Any, ag: AnalysisGraph) -> None:
    """The scaling path (docs/scaling.md): hand the whole-graph PageRank to Neo4j GDS.

    Writes the analysis graph's ties (strength, distance) to the Neo4j ``store``, projects them
    and stores GDS's weighted PageRank on ``ag``, where
    :func:`graphcrm.metrics.influence.pagerank` takes it instead of the CSR iteration. Called by
    :func:`build_graph` when ``settings.neo4j.use_gds`` is on and the store is Neo4j.
    """
    m = ag.settings.metrics
    store.gds_load_ties(ag.edges, ag.data_version)
    ag._cache["gds_pagerank"] = store.gds_pagerank(m.pagerank_alpha, m.pagerank_tol,
                                                   m.pagerank_max_iter)


def build_graph_frames(frames: dict[str, pd.DataFrame], settings: Settings | None = None,
                       data_version: int = 0, location: str = "") -> AnalysisGraph:
    """Build the analysis graph from the six tables as DataFrames (template columns).

    :func:`build_graph` reads them from a store; the benchmark feeds generated files directly.
    """
    settings = settings or Settings()
    version = data_version

    def indexed(name: str, key: str) -> pd.DataFrame:
        return frames[name].set_index(key, drop=False).rename_axis(None)

    agents = indexed("agents", "agent_id")
    clients = indexed("clients", "client_id")
    orgs = indexed("organizations", "org_id")
    policies = indexed("policies", "policy_id")
    rels = frames["relationships"]
    inter = frames["interactions"]
    if "interaction_id" in inter and inter["interaction_id"].notna().all():
        inter = inter.set_index("interaction_id", drop=False).rename_axis(None)

    # client / prospect
    in_force = policies.loc[policies["status"] == "in_force"]
    holders = set(in_force["holder_id"].dropna()) | set(in_force["insured_id"].dropna())
    derived = np.where(clients.index.isin(list(holders)), "client", "prospect")
    given = clients["status"] if "status" in clients else pd.Series(None, index=clients.index)
    clients = clients.assign(status=np.where(given == "client", "client", derived))

    nodes = pd.concat([
        pd.DataFrame({"label": "Agent", "name": agents["name"].to_numpy()}, index=agents.index),
        pd.DataFrame({"label": "Client", "name": clients["name"].to_numpy()},
                     index=clients.index),
        pd.DataFrame({"label": "Organization", "name": orgs["name"].to_numpy()},
                     index=orgs.index),
    ])
    nodes = nodes[~nodes.index.duplicated()]

    # the trust table sets the agent-client ties and is shown by the operation map: compute once
    trust = trust_table(inter, policies, settings,
                        reference_date(inter, policies, settings.metrics))
    edges = edge_table(rels, inter, policies, settings, trust)

    # serving agent: SERVES (latest start), else latest policy's servicing agent
    serves = rels.loc[rels["type"] == "SERVES", ["src_id", "dst_id", "start_date"]]
    serves = serves.sort_values("start_date", na_position="first", kind="stable")
    serving = serves.drop_duplicates("dst_id", keep="last").set_index("dst_id")["src_id"]
    pol = policies.dropna(subset=["servicing_agent_id"]).sort_values(
        "start_date", na_position="first", kind="stable")
    fallback = pol.drop_duplicates("holder_id", keep="last").set_index("holder_id")[
        "servicing_agent_id"]
    serving = pd.concat([serving, fallback[~fallback.index.isin(serving.index)]])
    serving = serving[serving.index.isin(clients.index)].rename_axis(None)

    ref = rels.loc[rels["type"] == "REFERRED"]
    referrals = nx.DiGraph()
    referrals.add_edges_from(
        (a, b, {"date": d, "converted": c})
        for a, b, d, c in zip(ref["src_id"], ref["dst_id"], ref["start_date"],
                              ref["converted"] if "converted" in ref else [None] * len(ref),
                              strict=True)
    )
    ag = AnalysisGraph(
        agents=agents, clients=clients, organizations=orgs, policies=policies,
        relationships=rels, interactions=inter, referrals=referrals, nodes=nodes, edges=edges,
        serving=serving, data_version=version, settings=settings, location=location,
    )
    ag._cache["trust"] = trust  # the key graphcrm.metrics.opmap.trust reads
    return ag
