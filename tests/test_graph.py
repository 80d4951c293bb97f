"""The analysis graph and tie strengths, checked against hand-computed values."""

from __future__ import annotations

import dataclasses
import math

import pytest

from graphcrm.config import Settings
from graphcrm.graph import build_graph
from graphcrm.metrics import UnknownIdError
from graphcrm.store.sqlite import SQLiteStore
from graphcrm.workspace import load_graph
from tests.graph_fixtures import agent, build_world, client, put, rel


def test_world_graph_shape(tmp_store: SQLiteStore) -> None:
    build_world(tmp_store)
    ag = build_graph(tmp_store)
    g = ag.G
    assert set(g.nodes) == {"A1", "A2", "O1", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "P", "Q"}
    assert g.nodes["A1"]["label"] == "Agent" and g.nodes["O1"]["label"] == "Organization"
    assert g.nodes["C3"]["name"] == "name C3"
    assert g["C1"]["C2"]["strength"] == pytest.approx(0.95)
    assert g["C1"]["C2"]["distance"] == pytest.approx(-math.log(0.95))
    assert g["C1"]["C2"]["type"] == "RELATIVE_OF" and g["C1"]["C2"]["kind"] == "spouse"
    assert g["C4"]["O1"]["strength"] == pytest.approx(0.30)
    assert g["A1"]["C1"]["strength"] == pytest.approx(0.50)
    # the complaint removes A1-C6; C6 keeps its family tie
    assert not g.has_edge("A1", "C6") and g.has_edge("C6", "P")
    assert g.number_of_edges() == 14  # 15 rows - the distrusted SERVES
    # CSR view is the same graph
    c = ag.csr
    assert c.strength.nnz == 2 * g.number_of_edges()
    assert c.strength[c.pos("C1"), c.pos("C2")] == pytest.approx(0.95)
    assert ag.serving_agent("C4") == "A1" and ag.serving_agent("C2") is None
    assert sorted(ag.book("A1")) == ["C1", "C4", "C6", "C7"]
    assert ag.name("P") == "name P"
    with pytest.raises(UnknownIdError, match="nobody"):
        ag.name("nobody")


def test_trust_recency_decay_confidence_and_collapse(tmp_store: SQLiteStore) -> None:
    with tmp_store.transaction():
        put(tmp_store, "agents", [agent("A")])
        put(tmp_store, "clients", [client(c) for c in ("D1", "D2", "D3", "F1", "F2")])
        put(tmp_store, "relationships", [
            rel("A", "D1", "SERVES"),
            # undated ties are fully decayed (x decay_floor 0.25):
            rel("F1", "F2", "FRIEND_OF", confidence=0.5),  # 0.6 * 0.5 * 0.25 = 0.075
            rel("F2", "F1", "RELATIVE_OF", "sibling"),  # 0.1875, collapses over the friend tie
        ])
        put(tmp_store, "interactions", [
            # emotional (0.75) + one recent interaction (0.02), contact today: 0.77
            {"interaction_id": "i1", "agent_id": "A", "client_id": "D1",
             "type": "private_talk", "date": "2026-06-30"},
            # perceived (0.55), 365 days ago = one half-life, not recent: 0.275
            {"interaction_id": "i2", "agent_id": "A", "client_id": "D2", "type": "call",
             "date": "2025-06-30"},
            # a negative rating: no tie at all
            {"interaction_id": "i3", "agent_id": "A", "client_id": "D3", "type": "visit",
             "date": "2026-06-01", "rating": -3},
        ])
    s = Settings()
    s = dataclasses.replace(s, metrics=dataclasses.replace(s.metrics, as_of="2026-06-30"))
    ag = build_graph(tmp_store, s)
    g = ag.G
    assert g["A"]["D1"]["strength"] == pytest.approx(0.77)
    assert g["A"]["D1"]["kind"] == "emotional"
    assert g["A"]["D1"]["last_contact"] == "2026-06-30"
    assert g["A"]["D2"]["strength"] == pytest.approx(0.275)
    assert not g.has_edge("A", "D3")
    assert g["F1"]["F2"]["strength"] == pytest.approx(0.1875)
    assert g["F1"]["F2"]["type"] == "RELATIVE_OF"


def test_one_decay_rule_for_dated_and_undated_ties(tmp_store: SQLiteStore) -> None:
    """Strength decays from the latest dated evidence of the tie (interaction, policy start,
    relationship start); an undated tie is as weak as a fully decayed one of its type."""
    with tmp_store.transaction():
        put(tmp_store, "agents", [agent("A")])
        put(tmp_store, "clients", [client(c) for c in
                                   ("N", "PAY", "OLD", "S1", "S2", "S3", "S4", "S5", "S6")])
        put(tmp_store, "relationships", [
            rel("A", "N", "SERVES"),  # never contacted, undated: 0.5 * 0.25 = 0.125
            rel("A", "PAY", "SERVES"),  # a paying client since 2021-06-30 (see the policy)
            rel("A", "OLD", "SERVES", start_date="2025-06-30"),  # one half-life: 0.25
            rel("S1", "S2", "RELATIVE_OF", "spouse", start_date="2026-06-30"),  # 0.95
            rel("S3", "S4", "RELATIVE_OF", "spouse"),  # undated: 0.95 * 0.25 = 0.2375
            rel("S5", "S6", "RELATIVE_OF", "spouse", start_date="2000-01-01"),  # floor: 0.2375
        ])
        put(tmp_store, "policies", [
            # five years of premium, last policy start 2026-01-30 (151 days before as_of):
            # behavioural 0.90 * 0.5 ** (151 / 365)
            {"policy_id": "p1", "holder_id": "PAY", "category": "life", "annual_premium": 5000,
             "start_date": "2021-06-30", "status": "in_force", "servicing_agent_id": "A"},
            {"policy_id": "p2", "holder_id": "PAY", "category": "accident",
             "annual_premium": 300, "start_date": "2026-01-30", "status": "in_force",
             "servicing_agent_id": "A"},
        ])
    s = Settings()
    s = dataclasses.replace(s, metrics=dataclasses.replace(s.metrics, as_of="2026-06-30"))
    g = build_graph(tmp_store, s).G
    assert g["A"]["N"]["strength"] == pytest.approx(0.125)
    assert g["A"]["N"]["last_contact"] is None
    assert g["A"]["PAY"]["strength"] == pytest.approx(0.90 * 0.5 ** (151 / 365))
    assert g["A"]["PAY"]["last_contact"] == "2026-01-30"
    assert g["A"]["OLD"]["strength"] == pytest.approx(0.25)
    assert g["A"]["PAY"]["strength"] > g["A"]["N"]["strength"]  # the paying client is warmer
    assert g["S1"]["S2"]["strength"] == pytest.approx(0.95)
    assert g["S3"]["S4"]["strength"] == pytest.approx(0.2375)
    assert g["S5"]["S6"]["strength"] == pytest.approx(0.2375)
    assert g["S1"]["S2"]["last_contact"] == "2026-06-30"
    # without as_of the reference date is the latest dated evidence, relationship starts
    # included: a spouse tie recorded after the last interaction is fresh, not fully decayed
    with tmp_store.transaction():
        put(tmp_store, "clients", [client("S7"), client("S8")])
        put(tmp_store, "relationships", [rel("S7", "S8", "RELATIVE_OF", "spouse",
                                             start_date="2026-09-01")])
    g0 = build_graph(tmp_store).G
    assert g0["S7"]["S8"]["strength"] == pytest.approx(0.95)
    assert g0["S1"]["S2"]["strength"] == pytest.approx(0.95 * 0.5 ** (63 / 365))
    # the documented setting: undated ties are assumed to be undated_age_days old
    s2 = dataclasses.replace(s, metrics=dataclasses.replace(s.metrics, undated_age_days=365.0))
    g2 = build_graph(tmp_store, s2).G
    assert g2["S3"]["S4"]["strength"] == pytest.approx(0.475)
    assert g2["A"]["N"]["strength"] == pytest.approx(0.25)
    assert g2["S5"]["S6"]["strength"] == pytest.approx(0.2375)  # dated: unchanged


def test_load_graph_cached_until_data_changes(tmp_store: SQLiteStore) -> None:
    build_world(tmp_store)
    first = load_graph(tmp_store)
    assert load_graph(tmp_store) is first
    with tmp_store.transaction():
        put(tmp_store, "clients", [client("NEW")])
    second = load_graph(tmp_store)
    assert second is not first and second.has("NEW")
