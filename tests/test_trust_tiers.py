"""Trust levels, ability x trust quadrants, ABC and value tiers on a real SQLite store.

Every expected value is worked out by hand from the rows written here.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from graphcrm import model
from graphcrm.config import Settings
from graphcrm.graph import build_graph, trust
from graphcrm.metrics import tiers
from graphcrm.metrics.opmap import client_tiers
from graphcrm.model import Label
from graphcrm.store.sqlite import SQLiteStore
from tests.graph_fixtures import put, rel


def frame(table: model.Table, rows: list[dict[str, object]]) -> pd.DataFrame:
    """A frame with every column of ``table`` (blank where a row leaves it out)."""
    return pd.DataFrame([{c: r.get(c) for c in table.column_names} for r in rows],
                        columns=list(table.column_names))


def agent(aid: str) -> dict[str, object]:
    return {"agent_id": aid, "name": aid, "hire_date": "2020-01-01", "status": "active"}


def client(cid: str, **kw: object) -> dict[str, object]:
    return {"client_id": cid, "name": cid, **kw}


def policy(pid: str, holder: str, premium: float, start: str, status: str = "in_force",
           agent_id: str | None = "A1", **kw: object) -> dict[str, object]:
    return {"policy_id": pid, "holder_id": holder, "category": kw.pop("category", "life"),
            "annual_premium": premium, "sum_insured": 100_000.0, "start_date": start,
            "status": status, "servicing_agent_id": agent_id, **kw}


def ev(i: int, aid: str, cid: str, kind: str, day: str, rating: int | None = None
       ) -> dict[str, object]:
    return {"interaction_id": f"I{i}", "agent_id": aid, "client_id": cid, "type": kind,
            "date": day, "rating": rating}


AS_OF = date(2026, 4, 1)


@pytest.fixture
def trust_store(tmp_store: SQLiteStore) -> SQLiteStore:
    clients = [
        client("C1", asset_band="high"), client("C2", asset_band="high"),
        client("C3", asset_band="low"), client("C4", asset_band="middle"),
        client("C5", asset_band="high"), client("C6", asset_band="low"),
        client("C7", asset_band="high"),
    ]
    events = [
        ev(1, "A1", "C1", "call", "2026-01-05"), ev(2, "A1", "C1", "social_like", "2026-02-01"),
        ev(3, "A1", "C1", "enquiry", "2026-06-01"),  # after as_of: ignored
        ev(4, "A1", "C2", "visit", "2025-12-01"), ev(5, "A1", "C2", "private_talk", "2026-01-10"),
        ev(6, "A1", "C3", "event_family", "2025-12-01"), ev(7, "A1", "C3", "enquiry", "2026-03-02"),
        ev(8, "A1", "C3", "call", "2025-01-01"),  # outside the 180-day window
        ev(9, "A1", "C5", "private_comment", "2026-02-01"),
        ev(10, "A1", "C5", "complaint", "2026-03-01"),
        ev(11, "A2", "C6", "call", "2026-01-01", rating=-3),
    ]
    policies = [policy("P4", "C4", 1200.0, "2024-05-01"),
                policy("P4x", "C4", 800.0, "2023-01-01", status="lapsed", agent_id="A2")]
    with tmp_store.transaction():
        tmp_store.upsert(model.AGENTS, frame(model.AGENTS, [agent("A1"), agent("A2")]))
        tmp_store.upsert(model.CLIENTS, frame(model.CLIENTS, clients))
        tmp_store.upsert(model.POLICIES, frame(model.POLICIES, policies))
        tmp_store.upsert(model.INTERACTIONS, frame(model.INTERACTIONS, events))
    return tmp_store


def test_trust_level_per_tie_with_evidence_and_distrust(trust_store: SQLiteStore) -> None:
    t = trust.trust_levels(trust_store.interactions(), trust_store.nodes(Label.POLICY),
                           as_of=AS_OF)
    got = {(r.agent_id, r.client_id): r for r in t.itertuples(index=False)}
    # rule change: a lapsed policy is still evidence that C4 bought from A2 (behavioural)
    assert set(got) == {("A1", "C1"), ("A1", "C2"), ("A1", "C3"), ("A1", "C4"), ("A1", "C5"),
                        ("A2", "C4"), ("A2", "C6")}
    assert got["A2", "C4"].level == "behavioural"
    assert got["A2", "C4"].evidence == "bought P4x (lapsed) 2023-01-01"
    assert got["A1", "C1"].level == "perceived"
    assert got["A1", "C1"].evidence == "social_like 2026-02-01"
    assert got["A1", "C1"].last_contact == "2026-02-01"
    assert got["A1", "C1"].interactions_recent == 2
    assert got["A1", "C2"].level == "emotional"
    assert got["A1", "C2"].evidence == "private_talk 2026-01-10; visit 2025-12-01"
    assert got["A1", "C3"].level == "behavioural"
    assert got["A1", "C3"].evidence == ("enquiry 2026-03-02; event_family 2025-12-01; "
                                        "call 2025-01-01")
    assert got["A1", "C3"].interactions_recent == 2
    assert got["A1", "C4"].level == "behavioural"
    assert got["A1", "C4"].evidence == "holds P4 2024-05-01"
    assert got["A1", "C4"].interactions_recent == 0
    assert got["A1", "C5"].level == "emotional" and got["A1", "C5"].distrust
    assert "distrust: complaint 2026-03-01" in got["A1", "C5"].evidence
    assert got["A2", "C6"].level == "perceived" and got["A2", "C6"].distrust
    assert not any(got[k].distrust for k in [("A1", "C1"), ("A1", "C2"), ("A1", "C3")])


def test_quadrant_per_combination_and_plan_cells(trust_store: SQLiteStore) -> None:
    t = trust.trust_levels(trust_store.interactions(), trust_store.nodes(Label.POLICY),
                           as_of=AS_OF)
    q = tiers.quadrants(trust_store.nodes(Label.CLIENT), t).set_index("client_id")
    expected = {
        "C1": ("high", "low", "cultivate"),   # perceived is low trust
        "C2": ("high", "high", "pamper"),     # emotional
        "C3": ("low", "high", "maintain"),    # behavioural
        "C4": ("low", "high", "maintain"),    # middle assets = low ability; holds a policy
        "C5": ("high", "low", "cultivate"),   # emotional but distrusted
        "C6": ("low", "low", "develop"),
        "C7": ("high", "low", "cultivate"),   # no tie at all
    }
    for cid, (ability, tr, quad) in expected.items():
        assert (q.loc[cid, "ability"], q.loc[cid, "trust"], q.loc[cid, "quadrant"]) == (
            ability, tr, quad), cid
    assert q.loc["C2", "plan"] == {"routine_service": "√", "periodic_visit": "√",
                                   "general_event": "×", "premium_event": "√",
                                   "life_service": "☆", "tailor_made": "☆"}
    assert q.loc["C2", "key_experiences"] == ["life_service", "tailor_made"]
    assert q.loc["C3", "plan"]["periodic_visit"] == "☆"
    assert q.loc["C3", "plan"]["premium_event"] == "◎"
    assert q.loc["C6", "plan"]["general_event"] == "◎"
    assert q.loc["C6", "plan"]["premium_event"] == "×"
    assert q.loc["C1", "plan"]["general_event"] == "☆"
    assert q.loc["C1", "plan"]["life_service"] == "◎"
    assert q.loc["C1", "plan"]["tailor_made"] == "×"
    table = tiers.plan_table()
    assert table.loc["cost"].tolist() == ["very low", "low", "medium", "high", "very high",
                                          "extreme"]
    assert table.loc["maintain"].tolist() == ["√", "☆", "☆", "◎", "×", "×"]


def test_abc_pareto_split_by_hand(tmp_store: SQLiteStore) -> None:
    # premiums: a 300+200, b 200, c 150, d 100, e 40, f 10 (total 1000); g only lapsed
    rows = [policy("Pa1", "a", 300, "2025-01-01"), policy("Pa2", "a", 200, "2025-02-01"),
            policy("Pb", "b", 200, "2025-01-01"), policy("Pc", "c", 150, "2025-01-01"),
            policy("Pd", "d", 100, "2025-01-01"), policy("Pe", "e", 40, "2025-01-01"),
            policy("Pf", "f", 10, "2025-01-01"),
            policy("Pg", "g", 999, "2025-01-01", status="lapsed")]
    with tmp_store.transaction():
        tmp_store.upsert(model.AGENTS, frame(model.AGENTS, [agent("A1")]))
        tmp_store.upsert(model.CLIENTS, frame(model.CLIENTS, [client(c) for c in "abcdefgh"]))
        tmp_store.upsert(model.POLICIES, frame(model.POLICIES, rows))
    abc = tiers.abc_classes(tmp_store.nodes(Label.POLICY), tmp_store.nodes(Label.CLIENT))
    got = dict(zip(abc["client_id"], abc["abc"], strict=True))
    # a 50% -> b 70% -> c 85% reaches 80%: A = {a, b, c}; d brings 95%: B; the rest C
    assert got == {"a": "A", "b": "A", "c": "A", "d": "B", "e": "C", "f": "C", "g": "C",
                   "h": "C"}
    assert abc.set_index("client_id").loc["a", "premium"] == 500
    assert abc.set_index("client_id").loc["g", "premium"] == 0


def test_value_tiers_formula_by_hand(tmp_store: SQLiteStore) -> None:
    clients = [client("X", birth_date="1996-01-01", income_band="middle"),
               client("Y", birth_date="1976-01-01", income_band="low")]
    with tmp_store.transaction():
        tmp_store.upsert(model.AGENTS, frame(model.AGENTS, [agent("A1")]))
        tmp_store.upsert(model.CLIENTS, frame(model.CLIENTS, clients))
        tmp_store.upsert(model.POLICIES, frame(model.POLICIES,
                                               [policy("PX", "X", 1000.0, "2021-04-01")]))
    tr = pd.DataFrame({"agent_id": ["A1", "A1"], "client_id": ["X", "Y"],
                       "level": ["behavioural", "perceived"], "distrust": [False, True]})
    v = tiers.value_tiers(tmp_store.nodes(Label.CLIENT), tmp_store.nodes(Label.POLICY),
                          trust=tr, as_of=AS_OF).set_index("client_id")
    tenure = (date(2026, 4, 1) - date(2021, 4, 1)).days / 365.25 / 10
    loyalty_x = 0.5 * tenure + 0.5 * 1.0
    potential_x = 0.5 * 1 + 0.5 * (1 - 1000 / (0.10 * 150_000))
    score_x = (0.4 * 1.0 + 0.2 * loyalty_x + 0.15 * potential_x) / 0.75
    assert v.loc["X", "profit"] == pytest.approx(1.0)
    assert v.loc["X", "loyalty"] == pytest.approx(loyalty_x, abs=1e-6)
    assert v.loc["X", "potential"] == pytest.approx(potential_x, abs=1e-6)
    assert v.loc["X", "value_score"] == pytest.approx(score_x, abs=1e-6)
    # Y: no premium, age 50, perceived (1/3) -> loyalty 1/6, potential 0.5 (headroom only)
    score_y = (0.2 * (0.5 / 3) + 0.15 * 0.5) / 0.75
    assert v.loc["Y", "value_score"] == pytest.approx(score_y, abs=1e-6)
    assert v.loc["X", "value_tier"] == "MVC"
    assert v.loc["Y", "value_tier"] == "BZ"  # distrust and no premium
    tr.loc[1, "distrust"] = False
    v2 = tiers.value_tiers(tmp_store.nodes(Label.CLIENT), tmp_store.nodes(Label.POLICY),
                           trust=tr, as_of=AS_OF).set_index("client_id")
    assert v2.loc["Y", "value_tier"] == "LVC"  # percentile 0.5: above 0.2, below 0.6


def test_trust_belongs_to_the_agent_it_concerns(tmp_store: SQLiteStore) -> None:
    """A complaint about a departed agent does not make the client BZ for the successor; the
    departed agent's behavioural trust does not pass to the successor without evidence."""
    with tmp_store.transaction():
        put(tmp_store, "agents", [{**agent("OLD"), "status": "departed"}, agent("NEW")])
        put(tmp_store, "clients", [client("K", asset_band="high"),
                                   client("L", asset_band="high")])
        put(tmp_store, "relationships", [
            rel("OLD", "K", "SERVES", start_date="2020-01-01"),
            rel("NEW", "K", "SERVES", start_date="2026-03-01"),  # K is an orphan, reassigned
            rel("OLD", "L", "SERVES", start_date="2020-01-01"),
            rel("NEW", "L", "SERVES", start_date="2026-03-01"),
        ])
        # K bought nothing (a prospect) and complained about OLD; L bought from OLD, whose
        # policy NEW now services
        put(tmp_store, "interactions", [ev(1, "OLD", "K", "complaint", "2025-06-01"),
                                        ev(2, "OLD", "L", "private_talk", "2025-05-01")])
        put(tmp_store, "policies", [policy("PL", "L", 5000.0, "2021-01-01", agent_id="NEW",
                                           writing_agent_id="OLD")])
    settings = Settings()
    settings.metrics.as_of = "2026-04-01"
    ag = build_graph(tmp_store, settings)
    assert ag.serving["K"] == "NEW" and ag.serving["L"] == "NEW"
    t = trust.trust_levels(ag.interactions, ag.policies, settings, as_of=AS_OF)
    got = {(r.agent_id, r.client_id): (r.level, r.distrust) for r in t.itertuples()}
    # the purchase is OLD's evidence (OLD wrote PL); NEW has none yet
    assert got == {("OLD", "K"): ("none", True), ("OLD", "L"): ("behavioural", False)}
    ct = trust.client_trust(t, ag.serving, {"OLD"})
    assert ct.empty  # nothing concerns NEW yet
    tiers_ = client_tiers(ag)
    # K: no premium, but the complaint names OLD, not NEW: not BZ by distrust (the percentile
    # of K's score among two clients is 0.5 -> LVC)
    assert tiers_.loc["K", "value_tier"] == "LVC"
    # both orphans are high ability with no trust towards NEW yet: cultivate, not pamper
    assert tiers_.loc["K", "quadrant"] == "cultivate"
    assert tiers_.loc["L", "quadrant"] == "cultivate"
    # once NEW has evidence of its own, it counts
    with tmp_store.transaction():
        put(tmp_store, "interactions", [ev(3, "NEW", "L", "event_family", "2026-03-20")])
    ag = build_graph(tmp_store, settings)
    assert client_tiers(ag).loc["L", "quadrant"] == "pamper"


def test_docstring_examples_of_the_client_metrics_hold() -> None:
    import doctest

    from graphcrm.metrics import needs, rewards

    for module in (trust, tiers, needs, rewards):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0, module.__name__
