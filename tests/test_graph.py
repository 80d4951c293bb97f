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
            rel("F1", "F2", "FRIEND_OF", confidence=0.5),  # 0.6 * 0.5 = 0.30
            rel("F2", "F1", "RELATIVE_OF", "sibling"),  # 0.75, collapses over the friend tie
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
    assert g["F1"]["F2"]["strength"] == pytest.approx(0.75)
    assert g["F1"]["F2"]["type"] == "RELATIVE_OF"


def test_load_graph_cached_until_data_changes(tmp_store: SQLiteStore) -> None:
    build_world(tmp_store)
    first = load_graph(tmp_store)
    assert load_graph(tmp_store) is first
    with tmp_store.transaction():
        put(tmp_store, "clients", [client("NEW")])
    second = load_graph(tmp_store)
    assert second is not first and second.has("NEW")
