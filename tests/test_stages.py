"""Operation stage per client (Hunt → Farm → Harvest → Chain) and the referral funnel."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from graphcrm.config import Settings
from graphcrm.graph import build_graph
from graphcrm.metrics.opmap import operation_map
from graphcrm.metrics.stages import operation_stages, referral_funnel
from graphcrm.store.sqlite import SQLiteStore

from .graph_fixtures import agent, client, put


def _pol(pid: str, holder: str, start: str) -> dict[str, object]:
    return {"policy_id": pid, "holder_id": holder, "category": "medical",
            "annual_premium": 100.0, "start_date": start, "status": "in_force"}


def _ev(i: int, a: str, c: str, typ: str, day: str, outcome: str | None = None
        ) -> dict[str, object]:
    return {"interaction_id": f"I{i}", "agent_id": a, "client_id": c, "type": typ,
            "date": day, "outcome": outcome}


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    s = SQLiteStore(tmp_path / "crm.db")
    with s.transaction():
        put(s, "agents", [agent("AG", "T1"), agent("BG", "T2")])
        put(s, "clients", [client(c) for c in
                           ("H", "F", "V", "R", "X", "N1", "N2", "N3", "N4", "N5")])
        put(s, "policies", [_pol("p1", "F", "2025-01-01"), _pol("p2", "V", "2024-01-01"),
                            _pol("p3", "V", "2025-06-01"), _pol("p4", "R", "2023-01-01"),
                            _pol("p5", "N3", "2026-01-01"), _pol("p6", "X", "2022-01-01")])
        put(s, "relationships", [
            *[{"src_id": "AG", "dst_id": c, "type": "SERVES"} for c in ("H", "F", "V", "R")],
            {"src_id": "BG", "dst_id": "X", "type": "SERVES"},
            {"src_id": "R", "dst_id": "N1", "type": "REFERRED", "converted": True},
            {"src_id": "R", "dst_id": "N2", "type": "REFERRED", "converted": False},
            {"src_id": "R", "dst_id": "N3", "type": "REFERRED"},  # N3 bought: converted
            {"src_id": "F", "dst_id": "N4", "type": "REFERRED"},
            {"src_id": "X", "dst_id": "N5", "type": "REFERRED"},
        ])
        put(s, "interactions", [
            _ev(1, "AG", "H", "call", "2026-01-01"), _ev(2, "AG", "H", "visit", "2026-02-01"),
            _ev(3, "AG", "F", "call", "2024-12-01"),
            _ev(4, "AG", "F", "routine_service", "2025-02-01", "done"),
            _ev(5, "AG", "N1", "visit", "2026-03-01", "done"),
            _ev(6, "AG", "N2", "call", "2026-03-01", "no_answer"),
            _ev(7, "AG", "N3", "visit", "2026-03-02", "顺利"),
            _ev(8, "BG", "N5", "call", "2026-03-03", "done"),
        ])
    yield s
    s.close()


def test_each_client_has_a_stage_with_evidence(store: SQLiteStore) -> None:
    ag = build_graph(store, Settings())
    st = operation_stages(ag, ["H", "F", "V", "R", "AG"])
    assert st["stage"].to_dict() == {"H": "hunt", "F": "farm", "V": "harvest", "R": "chain"}
    assert st.at["H", "stage_evidence"] == "prospect: 2 contacts so far, no in-force policy"
    assert st.at["F", "stage_evidence"] == "bought once (2025-01-01); 1 experiences/contacts since"
    assert st.at["V", "stage_evidence"] == "bought again: policies started 2024-01-01, 2025-06-01"
    assert st.at["R", "stage_evidence"] == "referred 2 who bought: name N1, name N3"
    m = operation_map(ag, "AG").set_index("person_id")
    assert m.at["V", "stage"] == "harvest" and m.at["R", "stage"] == "chain"


def test_the_referral_funnel_counts_received_contacted_met_converted(
        store: SQLiteStore) -> None:
    f = referral_funnel(build_graph(store, Settings()))
    a = f["agents"].set_index("agent_id")
    assert a.loc["AG", ["received", "contacted", "met", "converted"]].tolist() == [4, 3, 2, 2]
    assert a.at["AG", "contact_rate"] == pytest.approx(0.75)
    assert a.at["AG", "meet_rate"] == pytest.approx(2 / 3)
    assert a.loc["BG", ["received", "contacted", "met", "converted"]].tolist() == [1, 1, 0, 0]
    assert a.at["BG", "convert_rate"] is None
    t = f["teams"].set_index("team")
    assert t.loc["T1", "received"] == 4 and t.loc["T2", "met"] == 0


def test_the_funnel_never_widens(store: SQLiteStore) -> None:
    with store.transaction():  # N4 bought without any recorded contact
        put(store, "policies", [_pol("p7", "N4", "2026-04-01")])
    a = referral_funnel(build_graph(store, Settings()))["agents"].set_index("agent_id")
    assert a.loc["AG", ["received", "contacted", "met", "converted"]].tolist() == [4, 4, 3, 3]


def test_the_warmed_stage_table_gives_the_same_stages(tmp_path: Path) -> None:
    """The warm-up's whole-graph stage table (read by the operation map) equals the stages
    worked out for the map's own people, on the sample and on the hand-made store."""
    from graphcrm.metrics.stages import stage_table
    from tests.test_paths import _sample_store

    s = _sample_store(tmp_path / "sample.db")
    cold = build_graph(s, Settings())
    warm = build_graph(s, Settings())
    assert "stages" not in warm._cache
    whole = stage_table(warm)
    assert len(whole) == len(warm.clients) and set(whole["stage"]) <= {"hunt", "farm",
                                                                      "harvest", "chain"}
    for a in list(cold.agents.index[:5]):
        ids = operation_map(cold, a)["person_id"]
        pd.testing.assert_frame_equal(operation_stages(warm, ids), operation_stages(cold, ids))
        pd.testing.assert_frame_equal(operation_map(warm, a), operation_map(cold, a))
    s.close()
