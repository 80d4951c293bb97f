"""Life stages from the family subgraph and coverage-gap findings on a real SQLite store.

Families and findings are chosen so that every expected value can be worked out by hand from
DOMAIN.md's stage needs and the default settings (income by band low 60k / middle 150k / high
400k, recommended sum = 5 × income, core needs = the first two of the ordered list).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from graphcrm.config import Settings
from graphcrm.metrics import needs
from graphcrm.model import Label
from graphcrm.store.sqlite import SQLiteStore

from .graph_fixtures import put

AS_OF = date(2026, 6, 30)

CLIENTS = [
    # a young family: H married Wf in 2018, their child K1 was born in 2021; the parent
    # edge is H's only, Wf's household child comes through the spouse edge
    {"client_id": "H", "birth_date": "1990-03-01", "income_band": "middle"},
    {"client_id": "Wf", "birth_date": "1992-07-01", "income_band": "middle"},
    {"client_id": "K1", "birth_date": "2021-09-01"},
    # a couple (undated marriage) and Cp1's retired mother Pa
    {"client_id": "Cp1", "birth_date": "1998-01-01", "income_band": "high"},
    {"client_id": "Cp2", "birth_date": "1999-01-01", "income_band": "middle"},
    {"client_id": "Pa", "birth_date": "1960-01-01"},
    # a mature family: Mo's only child Ad is 23 (the edge is written from the child)
    {"client_id": "Mo", "birth_date": "1975-01-01"},
    {"client_id": "Ad", "birth_date": "2003-01-01"},
    # a child of exactly 18 and a child of unknown age
    {"client_id": "M18", "birth_date": "1980-01-01"},
    {"client_id": "K18", "birth_date": "2008-06-30"},
    {"client_id": "Mx", "birth_date": "1985-01-01"},
    {"client_id": "Kx"},
    # singles aged 30, one per finding
    {"client_id": "F2", "birth_date": "1996-01-01", "income_band": "low"},
    {"client_id": "F3", "birth_date": "1996-01-01", "income_band": "middle"},
    {"client_id": "F4", "birth_date": "1996-01-01", "income_band": "middle"},
    {"client_id": "F5", "birth_date": "1996-01-01", "income_band": "middle"},
    # no family ties: the column is used when given; nothing at all -> unknown
    {"client_id": "Col", "age": 40, "life_stage": "couple"},
    {"client_id": "Unk"},
]

RELATIVES = [
    ("H", "Wf", "spouse", "2018-05-01"), ("H", "K1", "parent", None),
    ("Cp1", "Cp2", "spouse", None), ("Pa", "Cp1", "parent", None),
    ("Ad", "Mo", "child", None),
    ("M18", "K18", "parent", None), ("Mx", "Kx", "parent", None),
]

# (policy, holder, insured, category, sum insured, start, status)
POLICIES = [
    ("PH", "H", None, "life", 1_000_000, "2016-01-01", "in_force"),
    ("PK", "H", "K1", "education", 50_000, "2022-01-01", "in_force"),
    ("PC1", "Cp1", None, "critical_illness", 2_000_000, "2025-01-01", "in_force"),
    ("PPa", "Cp1", "Pa", "annuity", 0, "2025-02-01", "in_force"),
    ("PF2a", "F2", None, "accident", 100_000, "2024-01-01", "in_force"),
    ("PF2b", "F2", None, "critical_illness", 250_000, "2024-01-01", "in_force"),
    ("PF3", "F3", None, "savings", 50_000, "2020-01-01", "in_force"),
    ("PF3x", "F3", None, "critical_illness", 300_000, "2019-01-01", "lapsed"),
    ("PF4a", "F4", None, "accident", 100_000, "2020-01-01", "in_force"),
    ("PF4b", "F4", None, "critical_illness", 200_000, "2020-01-01", "in_force"),
    ("PF5", "F5", None, "life", 800_000, "2020-01-01", "in_force"),
    ("PLate", "F5", None, "accident", 900_000, "2026-09-01", "in_force"),  # after as_of
]


@pytest.fixture
def family_store(tmp_store: SQLiteStore) -> SQLiteStore:
    with tmp_store.transaction():
        put(tmp_store, "agents", [
            {"agent_id": a, "name": a, "hire_date": "2020-01-01", "status": "active"}
            for a in ("A1", "A2")])
        put(tmp_store, "clients", [{"name": c["client_id"], **c} for c in CLIENTS])
        put(tmp_store, "policies", [
            {"policy_id": p, "holder_id": h, "insured_id": i, "category": cat,
             "annual_premium": 1000.0, "sum_insured": float(si), "start_date": d, "status": st,
             "servicing_agent_id": "A1"} for p, h, i, cat, si, d, st in POLICIES])
        put(tmp_store, "relationships", [
            {"src_id": a, "dst_id": b, "type": "RELATIVE_OF", "kind": k, "start_date": d}
            for a, b, k, d in RELATIVES] + [
            {"src_id": "A1", "dst_id": c, "type": "SERVES", "start_date": "2020-01-01"}
            for c in ("H", "Wf", "F2", "F3", "F4", "F5")] + [
            # F5 was re-assigned to A2 later: A2's book, not A1's
            {"src_id": "A2", "dst_id": "F5", "type": "SERVES", "start_date": "2025-01-01"}])
    return tmp_store


def _frames(store: SQLiteStore) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return store.nodes(Label.CLIENT), store.nodes(Label.POLICY), store.relationships()


def test_life_stages_from_the_family_graph(family_store: SQLiteStore) -> None:
    clients, _, rels = _frames(family_store)
    st = needs.life_stages(clients, rels, AS_OF).set_index("client_id")
    expected = {
        "H": "young_family", "Wf": "young_family", "K1": "dependent",
        "Cp1": "couple", "Cp2": "couple", "Pa": "retired",
        "Mo": "mature_family", "Ad": "single",
        "M18": "mature_family", "K18": "single", "Mx": "young_family", "Kx": "unknown",
        "F2": "single", "Col": "couple", "Unk": "unknown",
    }
    assert st["life_stage"].to_dict() == {**expected, "F3": "single", "F4": "single",
                                          "F5": "single"}
    assert st.loc["H", "stage_reason"] == ("age 36; spouse Wf; child K1 aged 4 "
                                           "(youngest under 18)")
    assert st.loc["Wf", "stage_reason"] == ("age 33; spouse H; child K1 aged 4 "
                                            "(youngest under 18)")
    assert st.loc["Mo", "stage_reason"] == ("age 51; child Ad aged 23 "
                                            "(all children 18 or older)")
    assert st.loc["M18", "stage_reason"] == ("age 46; child K18 aged 18 "
                                             "(all children 18 or older)")
    assert st.loc["Mx", "stage_reason"] == "age 41; child Kx (youngest under 18)"
    assert st.loc["Cp1", "stage_reason"] == "age 28; spouse Cp2, no children"
    assert st.loc["Pa", "stage_reason"] == "age 66 >= retirement age 60"
    assert st.loc["K1", "stage_reason"] == "age 4 < 18: a dependent, covered through the parents"
    assert st.loc["Col", "stage_reason"] == ("age 40, no spouse or children in the family "
                                             "graph: from the life_stage column")
    assert st.loc["Unk", "stage_reason"] == "no age, no family ties and no life_stage column"


@pytest.mark.parametrize(("when", "stage"), [
    (date(2017, 1, 1), "single"),        # before the wedding
    (date(2019, 1, 1), "couple"),        # married, K1 not born yet
    (date(2022, 1, 1), "young_family"),  # K1 born 2021-09-01
    (date(2040, 1, 1), "mature_family"),  # K1 is 18
    (date(2050, 3, 1), "retired"),       # H is 60
])
def test_stage_follows_the_family_over_time(family_store: SQLiteStore, when: date,
                                            stage: str) -> None:
    clients, _, rels = _frames(family_store)
    st = needs.life_stages(clients, rels, when).set_index("client_id")
    assert st.loc["H", "life_stage"] == stage


def test_needs_order_by_income_and_education() -> None:
    assert needs.ordered_needs("couple", "middle", "middle") == [
        "critical_illness", "accident", "savings", "parents_pension"]
    assert needs.ordered_needs("couple", "high", None) == [
        "critical_illness", "savings", "parents_pension", "accident"]
    # rule change: education alone does not promote savings (the stage x income x education
    # table: high income does; average or low income puts protection first)
    assert needs.ordered_needs("couple", "low", "high") == [
        "critical_illness", "accident", "savings", "parents_pension"]
    assert needs.ordered_needs("retired", "high", None) == [
        "medical", "savings", "grandchild_education", "accident"]
    assert needs.ordered_needs("young_family", "middle", None) == [
        "own_life", "critical_illness", "child_health", "child_accident", "education",
        "savings", "pension"]
    assert needs.ordered_needs("dependent", "high", "high") == []


def test_one_finding_per_client_with_reasons(family_store: SQLiteStore) -> None:
    clients, policies, rels = _frames(family_store)
    gaps = needs.coverage_gaps(clients, policies, rels, AS_OF).set_index("client_id")
    assert list(gaps.columns) == needs.GAP_COLUMNS[1:]
    assert gaps["finding"].isin(range(6)).all()
    findings = gaps["finding"].to_dict()
    assert {k: findings[k] for k in ("H", "F2", "F3", "F4", "F5", "Cp1", "Wf", "K1", "Unk")} == {
        "H": 1, "F2": 2, "F3": 3, "F4": 4, "F5": 5, "Cp1": 5, "Wf": 3, "K1": 2, "Unk": 0}
    assert gaps.loc["F3", "finding_code"] == "wrong_products"

    def reasons(cid: str) -> list[tuple[str, str]]:
        return [(r["code"], r["text"]) for r in gaps.loc[cid, "reasons"]]

    # (1) H bought life cover as a single in 2016; now married with a child
    h = gaps.loc["H"]
    assert (h["stage_then"], h["life_stage"]) == ("single", "young_family")
    assert h["held"] == ["education (insures child K1)", "life"]
    assert h["missing"] == ["critical_illness", "child_health", "child_accident", "savings",
                            "pension"]
    assert reasons("H")[0] == ("stage_changed", "life stage moved from single to young_family "
                               "since the first policy of 2016-01-01")
    # (2) fits: accident + critical illness, 350k >= 5 x 60k
    assert reasons("F2") == [
        ("fits_unchanged", "cover fits and needs are unchanged"),
        ("missing_parents_medical", "no parents' medical cover"),
        ("missing_pension", "no pension / annuity"),
        ("rebuy_window", "first policy 2024-01-01 within 3 years: clients usually buy again "
                         "now"),
    ]
    # (3) savings only; the lapsed critical-illness policy covers nothing but is a reason
    assert gaps.loc["F3", "missing"] == ["accident", "critical_illness", "parents_medical",
                                         "pension"]
    assert reasons("F3") == [
        ("wrong_products", "the chosen products do not meet the need: holds savings, core "
                           "needs accident, critical_illness not covered"),
        ("missing_accident", "no accident cover"),
        ("missing_critical_illness", "no critical-illness cover"),
        ("missing_parents_medical", "no parents' medical cover"),
        ("missing_pension", "no pension / annuity"),
        ("sum_too_low", "protection sum insured 0 is below 5x income (750,000): a larger sum "
                        "insured is due"),
        ("lapsed_cover", "policy PF3x (critical_illness) is lapsed: reinstate or replace"),
    ]
    # (4) the right products, 300k < 5 x 150k
    assert gaps.loc["F4", ["protection_sum", "recommended_sum"]].tolist() == [300_000, 750_000]
    assert reasons("F4")[0] == ("sum_too_low", "protection sum insured 300,000 is below 5x "
                                "income (750,000): a larger sum insured is due")
    assert [c for c, _ in reasons("F4")] == ["sum_too_low", "missing_parents_medical",
                                             "missing_pension"]
    # (5) 800k of life cover (the accident policy starting after as_of does not count)
    assert gaps.loc["F5", "held"] == ["life"]
    assert gaps.loc["F5", "total_sum"] == 800_000
    assert reasons("F5")[0] == ("large_but_other", "large cover, but for other needs: total "
                                "sum insured 800,000 in life, but core needs accident, "
                                "critical_illness not covered")
    # Cp1 (high income): CI 2M covers the first need, the mother's annuity the parents'
    # pension, but savings (second core need) is open
    cp = gaps.loc["Cp1"]
    assert cp["needs"] == ["critical_illness", "savings", "parents_pension", "accident"]
    assert cp["missing"] == ["savings", "accident"]
    assert cp["held"] == ["annuity (insures parent Pa)", "critical_illness"]
    # rule change: Wf has no cover of her own, but her household has (H's life cover, H's
    # education fund for K1, which covers Wf's education need too): not finding 0
    assert gaps.loc["Wf", "held"] == ["education (insures child K1, held by spouse H)"]
    assert gaps.loc["Wf", "missing"] == ["own_life", "critical_illness", "child_health",
                                         "child_accident", "savings", "pension"]
    assert reasons("Wf")[0] == (
        "wrong_products", "the chosen products do not meet the need: holds education (insures "
        "child K1, held by spouse H), core needs own_life, critical_illness not covered")
    # Unk: no household, no cover: every need is open (none for an unknown stage)
    assert reasons("Unk")[0] == ("no_cover", "no in-force cover in the household: every need "
                                 "of the stage is open")
    assert reasons("Unk")[1] == ("stage_unknown",
                                 "life stage unknown: record a birth date or family ties")


def test_core_needs_setting_changes_the_finding(family_store: SQLiteStore) -> None:
    clients, policies, rels = _frames(family_store)
    s = Settings()
    s.needs.core_needs = 1  # only critical illness is core for Cp1: now it fits
    gaps = needs.coverage_gaps(clients, policies, rels, AS_OF, s, client_ids=["Cp1"])
    assert gaps["finding"].tolist() == [2]


def test_agent_book_uses_the_serving_agent(family_store: SQLiteStore) -> None:
    _, policies, rels = _frames(family_store)
    book = needs.agent_book(rels, "A1", policies)
    # SERVES ties, plus holders whose latest policy A1 services (Cp1); F5 moved to A2
    assert book == ["Cp1", "F2", "F3", "F4", "H", "Wf"]
    assert needs.agent_book(rels, "A2", policies) == ["F5"]
    assert needs.agent_book(rels, "nobody", policies) == []


def test_agent_book_equals_the_analysis_graph_book(tmp_store: SQLiteStore) -> None:
    from graphcrm.graph import build_graph
    from graphcrm.ingest.job import ingest_paths

    from .conftest import SAMPLE_DIR

    ingest_paths([SAMPLE_DIR], tmp_store)
    ag = build_graph(tmp_store)
    rels, policies = tmp_store.relationships(), tmp_store.nodes(Label.POLICY)
    agents = tmp_store.nodes(Label.AGENT)["agent_id"]
    assert len(agents) > 3
    for a in agents:
        assert needs.agent_book(rels, a, policies) == sorted(ag.book(a)), a


def test_a_book_subset_gives_the_same_rows_as_the_whole_store(family_store: SQLiteStore
                                                              ) -> None:
    clients, policies, rels = _frames(family_store)
    whole = needs.coverage_gaps(clients, policies, rels, AS_OF).set_index("client_id")
    some = ["Cp1", "H", "K1", "Wf"]
    part = needs.coverage_gaps(clients, policies, rels, AS_OF, client_ids=some)
    pd.testing.assert_frame_equal(part, whole.loc[some].reset_index())


def test_critical_illness_is_not_medical_and_a_spouse_policy_covers(tmp_store: SQLiteStore
                                                                    ) -> None:
    """A mature family: Ma holds critical illness for herself and for her husband Pb; Pb's
    mother Gm holds medical cover. Critical illness covers no medical (hospital) need."""
    with tmp_store.transaction():
        put(tmp_store, "clients", [
            {"client_id": c, "name": c, "birth_date": b, "income_band": "middle"}
            for c, b in [("Ma", "1975-01-01"), ("Pb", "1974-01-01"), ("Kd", "2002-01-01"),
                         ("Gm", "1950-01-01")]])
        put(tmp_store, "relationships", [
            {"src_id": s_, "dst_id": d, "type": "RELATIVE_OF", "kind": k}
            for s_, d, k in [("Ma", "Pb", "spouse"), ("Ma", "Kd", "parent"),
                             ("Gm", "Pb", "parent")]])
        put(tmp_store, "policies", [
            {"policy_id": p, "holder_id": h, "insured_id": i, "category": cat,
             "annual_premium": 1000.0, "sum_insured": si, "start_date": "2021-01-01",
             "status": "in_force"}
            for p, h, i, cat, si in [("CIa", "Ma", None, "critical_illness", 500_000.0),
                                     ("CIb", "Ma", "Pb", "critical_illness", 500_000.0),
                                     ("MG", "Gm", None, "medical", 20_000.0)]])
    clients, policies, rels = _frames(tmp_store)
    gaps = needs.coverage_gaps(clients, policies, rels, AS_OF).set_index("client_id")
    # mature family, middle income: medical, critical_illness, accident, pension, savings
    ma, pb = gaps.loc["Ma"], gaps.loc["Pb"]
    assert ma["needs"] == ["medical", "critical_illness", "accident", "pension", "savings"]
    assert ma["held"] == ["critical_illness", "critical_illness (insures spouse Pb)"]
    assert ma["missing"] == ["medical", "accident", "pension", "savings"]  # CI is not medical
    assert pb["held"] == ["critical_illness (held by spouse Ma)", "medical (parent Gm's own)"]
    assert pb["missing"] == ["medical", "accident", "pension", "savings"]
    # Kd (24, single) has nothing of their own, but the household does: not "every need open"
    kd = gaps.loc["Kd"]
    assert kd["held"] == ["critical_illness (parent Ma's own)"]
    assert kd["needs"][:2] == ["accident", "critical_illness"] and kd["finding"] == 3
    # the same finding for both (Kd was already grown up in 2021, so the stage has not moved):
    # a core need (medical) is open and the cover (500k) is below 5 x 150k
    assert (ma["finding"], pb["finding"]) == (3, 3)


def test_category_table_in_the_docs_matches_the_settings() -> None:
    from .conftest import ROOT

    docs = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    start = docs.index("| category | covers, for the person it insures")
    section = docs[start:docs.index("\n\n", start)]
    rows = [ln for ln in section.splitlines() if ln.startswith("| `")]
    table = {}
    for ln in rows:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        cat = cells[0].split("`")[1]
        table[cat] = [set() if c == "–" else {x.strip() for x in c.split(",")}
                      for c in cells[1:5]]
    want: dict[str, list[set[str]]] = {}
    for need, spec in Settings().needs.need_categories.items():
        whom, cats = spec.split(":", 1)
        col = {"self": 0, "child": 1, "parent": 2, "any": 3}[whom]
        for c in cats.split("|"):
            want.setdefault(c, [set(), set(), set(), set()])[col].add(need)
    assert table == want


def test_graph_gaps_of_a_book_read_from_the_index_equal_the_whole_store(
        tmp_store: SQLiteStore) -> None:
    """The app's path (clients looked up by the graph's id index, family ties and reference date
    kept on the graph, only the book's households and policies read) gives, for every agent's
    book, the rows of the whole-store computation and of the scanning path."""
    from graphcrm.graph import build_graph
    from graphcrm.graph.strength import reference_date
    from graphcrm.ingest.job import ingest_paths

    from .conftest import SAMPLE_DIR

    ingest_paths([SAMPLE_DIR], tmp_store)
    ag = build_graph(tmp_store)
    as_of = reference_date(ag.interactions, ag.policies, ag.settings.metrics).date()
    assert needs.gaps_inputs(ag)[1] == as_of
    whole = needs.coverage_gaps(ag.clients, ag.policies, ag.relationships, as_of,
                                ag.settings).set_index("client_id")
    scan = ag.clients.reset_index(drop=True)  # no id index: the column is scanned
    books = [sorted(ag.book(a)) for a in ag.agents.index]
    assert sum(len(b) for b in books) > 100
    for book in [b for b in books if b][:6]:
        part = needs.graph_gaps(ag, book)
        pd.testing.assert_frame_equal(part, whole.loc[book].reset_index())
        pd.testing.assert_frame_equal(part, needs.coverage_gaps(
            scan, ag.policies, ag.relationships, as_of, ag.settings, client_ids=book))
