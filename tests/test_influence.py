"""Influence: PageRank and power circle vs plain NetworkX, referral reach by hand."""

from __future__ import annotations

import networkx as nx
import pytest

from graphcrm.graph import build_graph
from graphcrm.metrics.influence import (
    circles,
    hubs,
    influence_table,
    pagerank,
    power_circle,
    referral_reach,
)
from graphcrm.store.sqlite import SQLiteStore
from tests.graph_fixtures import agent, build_world, client, put, rel


def plain_power_circle(g: nx.Graph, v: str) -> float:
    """The documented definition, written directly over the NetworkX adjacency."""
    return sum(
        g[v][w]["strength"] * (1 + sum(g[w][u]["strength"] for u in g[w] if u != v))
        for w in g[v]
    )


def test_pagerank_and_power_circle_equal_networkx(tmp_store: SQLiteStore) -> None:
    build_world(tmp_store)
    ag = build_graph(tmp_store)
    tol = ag.settings.metrics.pagerank_tol
    ref = nx.pagerank(ag.G, weight="strength", tol=tol)
    pr = pagerank(ag)
    assert set(pr.index) == set(ref)
    for v, value in ref.items():
        assert pr[v] == pytest.approx(value, abs=1e-9)
    pc = power_circle(ag)
    for v in ag.G:
        assert pc[v] == pytest.approx(plain_power_circle(ag.G, v), abs=1e-12)
    # by hand: P's ties C3 .75, C4 .45, C5 .6, C7 .35, C6 .95
    by_hand = (0.75 * (1 + 0.85) + 0.45 * (1 + 0.5 + 0.6 + 0.3) + 0.6 * (1 + 0.6 + 0.55)
               + 0.35 * (1 + 0.5) + 0.95 * 1)
    assert pc["P"] == pytest.approx(by_hand)


def test_referral_reach_with_cycle_and_self_referral(tmp_store: SQLiteStore) -> None:
    people = ["R1", "R2", "R3", "R4", "R5", "R6"]
    with tmp_store.transaction():
        put(tmp_store, "agents", [agent("A")])
        put(tmp_store, "clients", [client(c) for c in people])
        put(tmp_store, "relationships", [
            rel("R1", "R2", "REFERRED"), rel("R2", "R3", "REFERRED"),
            rel("R3", "R1", "REFERRED"), rel("R3", "R4", "REFERRED"),
            rel("R4", "R6", "REFERRED"), rel("R5", "R5", "REFERRED"),
        ])
        pol = {"category": "life", "start_date": "2025-01-01", "servicing_agent_id": "A"}
        put(tmp_store, "policies", [
            {**pol, "policy_id": "p1", "holder_id": "R1", "annual_premium": 200,
             "status": "in_force"},
            {**pol, "policy_id": "p2", "holder_id": "R2", "annual_premium": 9999,
             "status": "lapsed"},
            {**pol, "policy_id": "p4", "holder_id": "R4", "annual_premium": 500,
             "status": "in_force"},
            {**pol, "policy_id": "p6", "holder_id": "R6", "annual_premium": 1000,
             "status": "in_force"},
        ])
    ag = build_graph(tmp_store)
    rr = referral_reach(ag)
    expected = {"R1": (4, 1500.0), "R2": (4, 1700.0), "R3": (4, 1700.0), "R4": (1, 1000.0),
                "R5": (0, 0.0)}
    got = {v: (int(r.referral_descendants), float(r.referral_premium)) for v, r in rr.iterrows()}
    assert got == expected
    for v in rr.index:
        assert rr.at[v, "referral_descendants"] == len(nx.descendants(ag.referrals, v))


def test_influence_table_hubs_and_circles(tmp_store: SQLiteStore) -> None:
    build_world(tmp_store)
    ag = build_graph(tmp_store)
    table = influence_table(ag)
    assert list(table.columns) == ["id", "name", "label", "pagerank", "power_circle",
                                   "referral_descendants", "referral_premium", "influence",
                                   "circle"]
    assert table["influence"].is_monotonic_decreasing
    assert table["influence"].between(0, 1).all()
    top = hubs(ag, top=3, table=table)
    assert len(top) == 3 and set(top["label"]) == {"Client"}
    # P has the most ties of any client; with PageRank weighted 0.5 it is the first hub
    assert top.iloc[0]["id"] == "P"
    team2 = hubs(ag, team="T2", table=table)
    assert list(team2["id"]) == ["Q"]
    c = circles(ag)
    assert set(c.index) == set(ag.G.nodes)
    assert c["A2"] == c["Q"]  # their own component
    assert c["A2"] != c["P"]
