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
    # a client's influence runs through people only: the agents and SERVES ties are left out
    people = ag.G.subgraph([v for v, d in ag.G.nodes(data=True) if d["label"] != "Agent"])
    ref = nx.pagerank(people, weight="strength", tol=tol)
    pr = pagerank(ag)
    assert set(pr.index) == set(ref) == set(ag.G) - {"A1", "A2"}
    for v, value in ref.items():
        assert pr[v] == pytest.approx(value, abs=1e-9)
    pc = power_circle(ag)
    for v in people:
        assert pc[v] == pytest.approx(plain_power_circle(people, v), abs=1e-12)
    # by hand: P's ties C3 .75, C4 .45, C5 .6, C7 .35, C6 .95 (C4's and C7's SERVES ties to A1
    # are not part of P's circle)
    by_hand = (0.75 * (1 + 0.85) + 0.45 * (1 + 0.6 + 0.3) + 0.6 * (1 + 0.6 + 0.55)
               + 0.35 * 1 + 0.95 * 1)
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


def star_book(store: SQLiteStore, n: int) -> list[str]:
    """One agent serving ``n`` clients with no other ties. K0 is a five-year class-A client
    (20,000 a year since 2021-12-01); K1 bought a 1,000 policy three weeks before the reference
    date 2026-12-01; the others pay 2,000, 3,000, ... since 2024-01-01."""
    ids = [f"K{i}" for i in range(n)]
    pol = {"category": "life", "status": "in_force", "servicing_agent_id": "A"}
    policies = [{**pol, "policy_id": "p0", "holder_id": "K0", "annual_premium": 20000,
                 "start_date": "2021-12-01"}]
    if n > 1:
        policies.append({**pol, "policy_id": "p1", "holder_id": "K1", "annual_premium": 1000,
                         "start_date": "2026-11-10"})
    policies += [{**pol, "policy_id": f"p{i}", "holder_id": f"K{i}",
                  "annual_premium": 1000 * i, "start_date": "2024-01-01"} for i in range(2, n)]
    with store.transaction():
        put(store, "agents", [agent("A")])
        put(store, "clients", [client(c) for c in ids])
        put(store, "relationships", [rel("A", c, "SERVES") for c in ids])
        put(store, "policies", policies)
    return ids


@pytest.mark.parametrize("n", [1, 3, 10, 40])
def test_star_book_gives_every_client_the_same_influence(tmp_path, n: int) -> None:
    from graphcrm.config import Settings
    from graphcrm.metrics.influence import agent_influence, influence_scores

    settings = Settings()
    settings.metrics.as_of = "2026-12-01"
    with SQLiteStore(tmp_path / "star.db") as store:
        ids = star_book(store, n)
        ag = build_graph(store, settings=settings)
    scores = influence_scores(ag)
    assert sorted(scores.index) == sorted(ids)  # the agent is not a person of the people graph
    assert scores["influence"].tolist() == [0.0] * n
    assert scores["power_circle"].tolist() == [0.0] * n
    assert scores["pagerank"].to_numpy() == pytest.approx([1.0 / n] * n)
    agents = agent_influence(ag)
    assert agents[["id", "clients"]].values.tolist() == [["A", n]]
    # reported apart: the book's clients have no influence of their own, so neither does it
    assert agents["book_influence"].tolist() == [0.0] and agents["influence"].tolist() == [0.0]
    if n == 1:  # the agent's PageRank on the whole graph: one tie, two nodes, half each
        assert agents["pagerank"].iloc[0] == pytest.approx(0.5)


def test_star_book_value_tiers_follow_premium_and_tenure(tmp_path) -> None:
    from graphcrm.config import Settings
    from graphcrm.metrics.opmap import client_tiers

    settings = Settings()
    settings.metrics.as_of = "2026-12-01"
    with SQLiteStore(tmp_path / "star.db") as store:
        star_book(store, 10)
        ag = build_graph(store, settings=settings)
    tiers = client_tiers(ag)
    # influence is 0 for all, so the value score orders the clients by premium (profit) and
    # tenure (loyalty): K0 (20,000 for five years) first, the three-week-old K1 (1,000) last.
    # Percentile p of the score (ties none): K1 0.1 -> BZ; K2 0.2 -> LVC; K3..K5 0.3-0.5 -> LVC;
    # K6..K8 0.6-0.8 -> MGC; K9 0.9 -> MVC; K0 1.0 -> MVC.
    expected = {"K0": "MVC", "K1": "BZ", "K2": "LVC", "K3": "LVC", "K4": "LVC", "K5": "LVC",
                "K6": "MGC", "K7": "MGC", "K8": "MGC", "K9": "MVC"}
    assert tiers["value_tier"].to_dict() == expected
    assert tiers.loc["K0", "abc"] == "A"
