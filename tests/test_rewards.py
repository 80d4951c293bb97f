"""Chain-referral rewards (CVE) on a hand-built referral network in a real SQLite store.

Default settings: 0.01 points per unit of first-year premium, level shares 10% / 5% / 2%,
a cap of 5,000 points per client per period. Every expected line is computed by hand below.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from graphcrm.config import Settings
from graphcrm.metrics import rewards
from graphcrm.model import Label
from graphcrm.store.sqlite import SQLiteStore

from .graph_fixtures import put

PERIOD = "2026-03"

# (referrer, referee, date)
REFERRALS = [
    # a four-level chain: R1 -> R2 -> R3 -> R4 -> N
    ("R1", "R2", "2025-01-10"), ("R2", "R3", "2025-02-10"), ("R3", "R4", "2025-03-10"),
    ("R4", "N", "2026-02-01"),
    ("S", "S", "2026-01-01"),                    # self-referral
    ("P1", "P2", "2026-01-01"),                  # P1 and P2 share a phone
    ("Q", "K", "2026-01-15"),                    # K already held PK0 from 2025-06-01
    ("Q", "L", "2026-03-20"),                    # dated after L's only policy (2026-03-15)
    ("C1", "C2", "2025-05-01"), ("C2", "C3", "2025-06-01"), ("C3", "C1", "2025-07-01"),
    ("C1", "Z", "2025-08-01"),                   # out of the cycle: valid
    ("E0", "W", "2025-12-01"),                   # earliest, but E0 shares W's ID number
    ("E1", "W", "2026-01-05"), ("E2", "W", "2026-01-02"), ("E3", "W", "2026-01-02"),
    ("BIG", "V", "2026-02-01"),                  # BIG's own points already reach the cap
    ("M1", "M2", "2025-01-01"), ("M2", "M3", "2025-02-01"),  # M1 and M3: one ID number
    ("U1", "U2", None),                          # undated
    ("Y0", "Y", "2026-02-15"),                   # Y's first policy is in April
    ("T2", "T3", "2026-02-01"), ("T1", "T2", "2026-03-20"),  # T1 came in after PT3 started
]

# (policy, holder, annual premium, start, status)
POLICIES = [
    ("PN", "N", 20_000, "2026-03-05", "in_force"),
    ("PN2", "N", 3_000, "2026-03-25", "in_force"),
    ("PS", "S", 1_000, "2026-03-10", "in_force"),
    ("PP2", "P2", 5_000, "2026-03-11", "in_force"),
    ("PK0", "K", 2_500, "2025-06-01", "in_force"),
    ("PK1", "K", 2_000, "2026-03-12", "in_force"),
    ("PL", "L", 1_500, "2026-03-15", "in_force"),
    ("PC2", "C2", 700, "2026-03-03", "in_force"),
    ("PZ", "Z", 1_000, "2026-03-04", "in_force"),
    ("PW", "W", 8_000, "2026-03-08", "in_force"),
    ("PBIG", "BIG", 600_000, "2026-03-01", "in_force"),
    ("PV", "V", 10_000, "2026-03-02", "in_force"),
    ("PM3", "M3", 4_000, "2026-03-09", "in_force"),
    ("PX", "X", 900, "2026-03-31", "surrendered"),
    ("PY", "Y", 1_000, "2026-04-01", "in_force"),
    ("PU2", "U2", 1_000, "2026-04-03", "in_force"),
    ("PT3", "T3", 5_000, "2026-03-06", "in_force"),
]

#: line_id -> (earner, level, points, status), worked out by hand
EXPECTED_MARCH = {
    "PN:0": ("N", 0, 200.00, "paid"),        # 20,000 × 0.01
    "PN:1": ("R4", 1, 20.00, "paid"),        # 10% of 200
    "PN:2": ("R3", 2, 10.00, "paid"),        # 5% of 200
    "PN:3": ("R2", 3, 4.00, "paid"),         # 2% of 200; R1 would be level 4: nothing
    "PN2:0": ("N", 0, 30.00, "paid"),        # not N's first policy: own points only
    "PS:0": ("S", 0, 10.00, "paid"),
    "PP2:0": ("P2", 0, 50.00, "paid"),
    "PK1:0": ("K", 0, 20.00, "paid"),
    "PL:0": ("L", 0, 15.00, "paid"),
    "PC2:0": ("C2", 0, 7.00, "paid"),
    "PZ:0": ("Z", 0, 10.00, "paid"),
    "PZ:1": ("C1", 1, 1.00, "paid"),         # C1's own referrer (C3) is on the cycle: stop
    "PW:0": ("W", 0, 80.00, "paid"),
    "PW:1": ("E2", 1, 8.00, "paid"),         # earliest valid (E2 < E3 on the same date)
    "PBIG:0": ("BIG", 0, 5_000.00, "capped"),  # 6,000 cut to the 5,000 cap
    "PX:0": ("X", 0, 0.00, "not_eligible"),  # surrendered: a 0-point line that says why
    "PV:0": ("V", 0, 100.00, "paid"),
    "PV:1": ("BIG", 1, 0.00, "capped"),      # 10.00 uncapped, nothing left under the cap
    "PM3:0": ("M3", 0, 40.00, "paid"),
    "PM3:1": ("M2", 1, 4.00, "paid"),
    "PM3:2": ("M1", 2, 0.00, "same_person"),  # M1 is M3 (same ID number)
    "PT3:0": ("T3", 0, 50.00, "paid"),
    "PT3:1": ("T2", 1, 5.00, "paid"),        # no PT3:2: T1 referred T2 after PT3 started
}

EXPECTED_EXCLUSIONS = {
    ("S", "S"): "self_referral",
    ("P1", "P2"): "shared_identity",
    ("E0", "W"): "shared_identity",
    ("U1", "U2"): "undated",
    ("Q", "K"): "already_client",
    ("Q", "L"): "referral_after_policy",
    ("C1", "C2"): "cycle", ("C2", "C3"): "cycle", ("C3", "C1"): "cycle",
    ("E1", "W"): "not_earliest", ("E3", "W"): "not_earliest",
}


def _build(store: SQLiteStore) -> None:
    people = sorted({p for r in REFERRALS for p in r[:2]} | {p[1] for p in POLICIES})
    phone = {"P1": "13800000001", "P2": "138 0000 0001"}
    idn = {"E0": "11010519491231002X", "W": "11010519491231002x",
           "M1": "110105194912310021", "M3": "110105194912310021"}
    with store.transaction():
        put(store, "agents", [{"agent_id": "A1", "name": "a", "hire_date": "2020-01-01",
                               "status": "active"}])
        put(store, "clients", [{"client_id": c, "name": c, "phone": phone.get(c),
                                "id_number": idn.get(c)} for c in people])
        put(store, "policies", [{"policy_id": p, "holder_id": h, "category": "life",
                                 "annual_premium": float(prem), "sum_insured": 100_000.0,
                                 "start_date": d, "status": st, "servicing_agent_id": "A1"}
                                for p, h, prem, d, st in POLICIES])
        put(store, "relationships", [{"src_id": a, "dst_id": b, "type": "REFERRED",
                                      "start_date": d} for a, b, d in REFERRALS])


@pytest.fixture
def referral_store(tmp_store: SQLiteStore) -> SQLiteStore:
    _build(tmp_store)
    return tmp_store


def _ledger(store: SQLiteStore, period: str, **kw: object) -> rewards.Ledger:
    return rewards.reward_ledger(store.nodes(Label.CLIENT), store.nodes(Label.POLICY),
                                 store.relationships(types=["REFERRED"]), period, **kw)


def test_march_ledger_lines_exactly(referral_store: SQLiteStore) -> None:
    ledger = _ledger(referral_store, PERIOD)
    lines = ledger.lines.set_index("line_id")
    got = {lid: (r.earner_id, r.level, r.points, r.status) for lid, r in lines.iterrows()}
    assert got == EXPECTED_MARCH
    assert list(ledger.lines.columns) == rewards.LINE_COLUMNS
    assert list(ledger.lines["line_id"]) == sorted(EXPECTED_MARCH)
    assert (ledger.lines["period"] == PERIOD).all()
    # base points and shares of a chain line; the referee is the policy holder
    assert lines.loc["PN:2", "base_points"] == 200.0 and lines.loc["PN:2", "share"] == 0.05
    assert lines.loc["PN:2", "referee_id"] == "N"
    assert bool(lines.loc["PBIG:0", "capped"]) and bool(lines.loc["PV:1", "capped"])
    assert not lines.drop(["PBIG:0", "PV:1"])["capped"].any()


def test_every_line_explains_itself(referral_store: SQLiteStore) -> None:
    lines = _ledger(referral_store, PERIOD).lines.set_index("line_id")["reason"]
    assert lines["PN:0"] == ("own first-year premium 20,000.00 of policy PN (life, started "
                             "2026-03-05) × 0.01 points per unit = 200.00")
    assert lines["PN:3"] == ("level-3 referral: chain R2 → R3 → R4 → N; N referred by R4 on "
                             "2026-02-01; first policy PN started 2026-03-05; 2% of 200.00 "
                             "points")
    assert lines["PBIG:0"].endswith("capped at 5,000.00 points per client per period "
                                    "(0.00 already earned; uncapped 6,000.00)")
    assert lines["PV:1"].endswith("(5,000.00 already earned; uncapped 10.00)")
    assert "no points: earner M1 is the same person as referee M3" in lines["PM3:2"]


def test_exclusions_each_with_code_and_reason(referral_store: SQLiteStore) -> None:
    excl = _ledger(referral_store, PERIOD).exclusions
    got = {(r.referrer_id, r.referee_id): r.code for r in excl.itertuples()}
    assert got == EXPECTED_EXCLUSIONS
    why = {(r.referrer_id, r.referee_id): r.reason for r in excl.itertuples()}
    assert why["S", "S"] == "self-referral: S referred themself"
    assert why["P1", "P2"] == ("shared identity: referrer P1 and referee P2 have the same "
                               "phone 13800000001")
    assert why["E0", "W"] == ("shared identity: referrer E0 and referee W have the same "
                              "id_number 11010519491231002X")
    assert why["Q", "K"] == ("already a client: K held policy PK0 from 2025-06-01, before the "
                             "referral of 2026-01-15")
    assert why["Q", "L"] == ("referral dated 2026-03-20 is after the referee's policy PL of "
                             "2026-03-15")
    assert why["C3", "C1"] == "referral cycle: C3 → C1 lies on a cycle among C1, C2, C3"
    assert why["E1", "W"] == "one referee, one referrer: W was referred earlier by E2 on 2026-01-02"


def test_totals_per_earner(referral_store: SQLiteStore) -> None:
    totals = _ledger(referral_store, PERIOD).totals.set_index("earner_id")
    assert totals.loc["N", ["own_points", "referral_points", "points"]].tolist() == [230, 0, 230]
    assert totals.loc["BIG", ["own_points", "referral_points", "points", "lines",
                              "capped_lines"]].tolist() == [5000, 0, 5000, 2, 2]
    assert totals.loc["R4", "referral_points"] == 20.0
    assert totals.index[0] == "BIG"  # most points first
    assert totals["points"].sum() == pytest.approx(sum(v[2] for v in EXPECTED_MARCH.values()))


def test_cap_and_shares_follow_the_config(referral_store: SQLiteStore) -> None:
    s = Settings()
    s.rewards.level_shares = (0.5,)
    s.rewards.cap_per_client_per_period = 205.0
    lines = _ledger(referral_store, PERIOD, settings=s).lines.set_index("line_id")
    # N: PN 200 then PN2 30 -> 5 left for PN2; only one level: R4 gets 50% of 200
    assert lines.loc["PN2:0", ["points", "status"]].tolist() == [5.0, "capped"]
    assert lines.loc["PN:1", ["earner_id", "points"]].tolist() == ["R4", 100.0]
    assert "PN:2" not in lines.index
    assert lines.loc["PV:1", "points"] == 0.0 and lines.loc["PBIG:0", "points"] == 205.0


def test_running_a_period_twice_gives_the_same_ledger(referral_store: SQLiteStore,
                                                       tmp_path: Path) -> None:
    a, b = _ledger(referral_store, PERIOD), _ledger(referral_store, PERIOD)
    pd.testing.assert_frame_equal(a.lines, b.lines)
    pd.testing.assert_frame_equal(a.totals, b.totals)
    pd.testing.assert_frame_equal(a.exclusions, b.exclusions)
    a.to_csv(tmp_path / "one.csv")
    b.to_csv(tmp_path / "two.csv")
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()
    # a re-run that is given its own earlier output pays the same, not zero
    again = _ledger(referral_store, PERIOD, paid=rewards.read_paid([tmp_path / "one.csv"]))
    pd.testing.assert_frame_equal(a.lines, again.lines)


def test_summing_all_periods_pays_each_policy_and_level_at_most_once(
        referral_store: SQLiteStore) -> None:
    months = pd.period_range("2024-01", "2026-12", freq="M").strftime("%Y-%m")
    all_lines = pd.concat([_ledger(referral_store, m).lines for m in months],
                          ignore_index=True)
    assert all_lines["line_id"].is_unique
    # each (policy, level) in the period its policy starts, and April's chain arrives then
    by_id = all_lines.set_index("line_id")
    assert by_id.loc["PY:0", "period"] == "2026-04" and by_id.loc["PY:1", "earner_id"] == "Y0"
    assert by_id.loc["PK0:0", "period"] == "2025-06"
    # surrendered: listed once, with 0 points and why (rule change: every 0-point line says why)
    assert (by_id.loc["PX:0", "points"], by_id.loc["PX:0", "status"]) == (0.0, "not_eligible")
    assert "PU2:1" not in by_id.index  # undated referral earns nothing
    assert set(all_lines["source_policy_id"]) == {p[0] for p in POLICIES}


def test_a_line_paid_in_an_earlier_period_is_never_paid_again(referral_store: SQLiteStore,
                                                                tmp_path: Path) -> None:
    march = _ledger(referral_store, PERIOD)
    march.to_csv(tmp_path / "ledger-2026-03.csv")
    # after March was settled, PV's start date is corrected to April
    with referral_store.transaction():
        put(referral_store, "policies", [{
            "policy_id": "PV", "holder_id": "V", "category": "life", "annual_premium": 10_000.0,
            "sum_insured": 100_000.0, "start_date": "2026-04-02", "status": "in_force",
            "servicing_agent_id": "A1"}])
    paid = rewards.read_paid([tmp_path / "ledger-2026-03.csv"])
    april = _ledger(referral_store, "2026-04", paid=paid).lines.set_index("line_id")
    assert april.loc["PV:0", ["points", "status"]].tolist() == [0.0, "already_paid"]
    assert april.loc["PV:0", "reason"].endswith("no points: line PV:0 was already paid in "
                                                "period 2026-03")
    # PV:1 paid nothing in March (capped), so BIG earns its 10% in April
    assert april.loc["PV:1", ["earner_id", "points", "status"]].tolist() == ["BIG", 10.0, "paid"]
    assert april.loc["PY:0", "points"] == 10.0
    # without the earlier ledger the corrected policy would pay twice: the guard is needed
    naive = _ledger(referral_store, "2026-04").lines.set_index("line_id")
    assert naive.loc["PV:0", "points"] == 100.0


def test_identity_groups_follow_chains_and_aliases() -> None:
    clients = pd.DataFrame({
        "client_id": ["a", "b", "c", "d"],
        "phone": ["+86 138-0013-8000", "13800138000", None, None],
        "id_number": [None, "11010519491231002x", "11010519491231002X", None],
    })
    groups = rewards.identity_groups(clients, {"old": "d"})
    assert groups.to_dict() == {"a": "a", "b": "a", "c": "a", "d": "d", "old": "d"}


def test_merged_alias_is_a_self_referral() -> None:
    clients = pd.DataFrame({"client_id": ["a", "b"], "phone": [None, None],
                            "id_number": [None, None]})
    rel = pd.DataFrame({"src_id": ["old", "a"], "dst_id": ["a", "b"],
                        "type": ["REFERRED", "REFERRED"], "start_date": ["2026-01-01"] * 2})
    pol = pd.DataFrame(columns=["policy_id", "holder_id", "start_date"])
    accepted, excl = rewards.referral_decisions(clients, pol, rel, {"old": "a"})
    assert accepted.to_dict("records") == [{"referrer_id": "a", "referee_id": "b",
                                            "referral_date": "2026-01-01"}]
    assert excl.to_dict("records") == [{
        "referrer_id": "a", "referee_id": "a", "referral_date": "2026-01-01",
        "code": "self_referral",
        "reason": "self-referral: a referred themself (recorded as old → a) "
                  "(merged identity: old → a)"}]


@pytest.mark.parametrize("bad", ["2026-13", "2026-3", "26-03", "2026/03", "", "2026-00"])
def test_bad_period_is_a_clear_error(bad: str) -> None:
    with pytest.raises(ValueError, match="is not YYYY-MM"):
        rewards.check_period(bad)


def test_read_paid_names_the_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "notes.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"notes.csv: not a ledger CSV, column\(s\) line_id"):
        rewards.read_paid([bad])
    with pytest.raises(ValueError, match="paid ledger not found"):
        rewards.read_paid([tmp_path / "missing.csv"])


def test_referral_on_the_policy_day_counts_and_chain_stops_at_an_invalid_edge() -> None:
    clients = pd.DataFrame({"client_id": ["a", "b", "c"], "phone": [None] * 3,
                            "id_number": [None] * 3})
    pol = pd.DataFrame({"policy_id": ["Pb", "Pc"], "holder_id": ["b", "c"],
                        "category": ["life", "life"], "annual_premium": [1000.0, 2000.0],
                        "start_date": ["2025-05-01", "2026-03-10"],
                        "status": ["in_force", "in_force"]})
    # a -> b is dated after b's only policy: b's chain stops at b; b -> c on c's policy day
    rel = pd.DataFrame({"src_id": ["a", "b"], "dst_id": ["b", "c"],
                        "type": ["REFERRED", "REFERRED"],
                        "start_date": ["2025-06-01", "2026-03-10"]})
    ledger = rewards.reward_ledger(clients, pol, rel, "2026-03")
    got = {r.line_id: (r.earner_id, r.points) for r in ledger.lines.itertuples()}
    assert got == {"Pc:0": ("c", 20.0), "Pc:1": ("b", 2.0)}
    assert ledger.exclusions[["referrer_id", "code"]].values.tolist() == [
        ["a", "referral_after_policy"]]


# -- settled once -----------------------------------------------------------------------------
SETTLE_CLIENTS = pd.DataFrame({"client_id": ["R1", "R2", "N", "Q", "G"],
                               "phone": [None] * 5, "id_number": [None] * 5})
# R1 -> R2 -> N: N's first policy PN (10,000) starts in March
SETTLE_REFERRALS = pd.DataFrame({"src_id": ["R1", "R2", "Q"], "dst_id": ["R2", "N", "G"],
                                 "type": "REFERRED",
                                 "start_date": ["2025-06-01", "2026-01-10", "2026-01-05"]})


def _pol(rows: list[tuple[str, str, float, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["policy_id", "holder_id", "annual_premium",
                                       "start_date", "status"]).assign(category="life")


def _settle(policies: pd.DataFrame, period: str, settled: pd.DataFrame | None = None
            ) -> tuple[rewards.Ledger, pd.DataFrame]:
    """The ledger of ``period`` given what was settled, and the settled lines after settling
    it (as `graphcrm rewards --settle` stores them)."""
    ledger = rewards.reward_ledger(SETTLE_CLIENTS, policies, SETTLE_REFERRALS, period,
                                   settled=settled)
    new = pd.DataFrame(ledger.settlement(), columns=rewards.SETTLED_COLUMNS)
    parts = [f for f in (settled, new) if f is not None and len(f)]
    both = pd.concat(parts, ignore_index=True) if parts else new
    return ledger, both


def _lines(ledger: rewards.Ledger) -> dict[str, tuple[str, float, str]]:
    return {r.line_id: (r.earner_id, r.points, r.status) for r in ledger.lines.itertuples()}


MARCH = [("PN", "N", 10_000.0, "2026-03-05", "in_force")]


def test_settled_lines_and_a_settled_period_rerun() -> None:
    march, settled = _settle(_pol(MARCH), "2026-03")
    assert _lines(march) == {"PN:0": ("N", 100.0, "paid"), "PN:1": ("R2", 10.0, "paid"),
                             "PN:2": ("R1", 5.0, "paid")}
    assert settled[["line_id", "earner_id", "referee_id", "level", "points", "entitled"]
                   ].values.tolist() == [["PN:0", "N", "N", 0, 100.0, 100.0],
                                         ["PN:1", "R2", "N", 1, 10.0, 10.0],
                                         ["PN:2", "R1", "N", 2, 5.0, 5.0]]
    again, settled2 = _settle(_pol(MARCH), "2026-03", settled)
    assert {k: v[1:] for k, v in _lines(again).items()} == {
        "PN:0": (0.0, "already_settled"), "PN:1": (0.0, "already_settled"),
        "PN:2": (0.0, "already_settled")}
    assert again.lines.set_index("line_id").loc["PN:1", "reason"].endswith(
        "; no points: (R2, N, level 1) was settled in period 2026-03")
    assert len(settled2) == len(settled)  # settling again stores nothing new


def test_moved_start_date_is_not_paid_again_next_month() -> None:
    _, settled = _settle(_pol(MARCH), "2026-03")
    moved = _pol([("PN", "N", 10_000.0, "2026-04-02", "in_force")])
    april, _ = _settle(moved, "2026-04", settled)
    assert _lines(april) == {"PN:0": ("N", 0.0, "already_settled"),
                             "PN:1": ("R2", 0.0, "already_settled"),
                             "PN:2": ("R1", 0.0, "already_settled")}
    assert april.totals["points"].sum() == 0.0


def test_back_filled_policy_in_a_settled_period_becomes_adjustments() -> None:
    # March settled; then a 5,000 policy of N dated February is back-filled: it is N's first
    # policy now, so the chain is entitled to 10% / 5% of 50 points instead of 100
    _, settled = _settle(_pol(MARCH), "2026-03")
    backfilled = _pol([*MARCH, ("PB", "N", 5_000.0, "2026-02-20", "in_force")])
    feb, settled = _settle(backfilled, "2026-02", settled)
    assert _lines(feb) == {
        "PB:0": ("N", 50.0, "paid"),                 # N's own, never settled: paid
        "PB:1": ("R2", 0.0, "already_settled"),      # (R2, N, 1) was settled in March
        "PB:1:adj": ("R2", -5.0, "adjustment"),      # entitled 5.00 now, 10.00 settled
        "PB:2": ("R1", 0.0, "already_settled"),
        "PB:2:adj": ("R1", -2.5, "adjustment"),
    }
    reason = feb.lines.set_index("line_id").loc["PB:1:adj", "reason"]
    assert reason.startswith("adjustment of a settled line: (R2, N, level 1) settled 10.00 "
                             "points in period 2026-03; entitled now to 5.00")
    # a re-run of March pays nothing more: PN is no longer N's first policy and its own line
    # was settled; February settled, nothing is owed twice
    march, _ = _settle(backfilled, "2026-03", settled)
    assert _lines(march) == {"PN:0": ("N", 0.0, "already_settled")}
    feb2, _ = _settle(backfilled, "2026-02", settled)
    assert {v[2] for v in _lines(feb2).values()} == {"already_settled"}
    assert feb2.totals["points"].sum() == 0.0


def test_surrendered_first_policy_and_a_rebuy_the_same_month() -> None:
    # G's first policy was surrendered (or cancelled in the cooling-off period), then G bought
    # again the same month: the rebuy is G's first purchase and pays the chain
    pol = _pol([("PG1", "G", 4_000.0, "2026-03-02", "surrendered"),
                ("PG2", "G", 3_000.0, "2026-03-20", "in_force")])
    march, _ = _settle(pol, "2026-03")
    assert _lines(march) == {"PG1:0": ("G", 0.0, "not_eligible"),
                             "PG2:0": ("G", 30.0, "paid"),
                             "PG2:1": ("Q", 3.0, "paid")}
    assert march.lines.set_index("line_id").loc["PG1:0", "reason"] == (
        "no points: policy PG1 (life, started 2026-03-02) is surrendered, which earns nothing "
        "and is not a purchase for the referral chain")
    # every 0-point line says why
    zero = march.lines[march.lines["points"] == 0]
    assert zero["reason"].str.contains("no points").all()


def test_lapsed_policy_earns_and_a_client_without_policy_is_a_prospect() -> None:
    # G is marked status=client in the file but holds no policy: a prospect for rewards; the
    # referral Q -> G pays when G's first policy starts, even if it lapsed since
    pol = _pol([("PG", "G", 2_000.0, "2026-05-03", "lapsed")])
    clients = SETTLE_CLIENTS.assign(status="client")
    may = rewards.reward_ledger(clients, pol, SETTLE_REFERRALS, "2026-05")
    assert _lines(may) == {"PG:0": ("G", 20.0, "paid"), "PG:1": ("Q", 2.0, "paid")}
    assert may.exclusions.empty


def test_a_second_correction_adjusts_against_what_was_settled_in_total() -> None:
    # March settled at 10,000 premium; corrected to 12,000 (adjusted +20/+2/+1 in a settled
    # run), then to 11,000: the new adjustment is against the 120 now settled in total
    _, settled = _settle(_pol(MARCH), "2026-03")
    up = _pol([("PN", "N", 12_000.0, "2026-03-05", "in_force")])
    first, settled = _settle(up, "2026-03", settled)
    assert {k: v for k, v in _lines(first).items() if k.endswith(":adj")} == {
        "PN:0:adj": ("N", 20.0, "adjustment"), "PN:1:adj": ("R2", 2.0, "adjustment"),
        "PN:2:adj": ("R1", 1.0, "adjustment")}
    down = _pol([("PN", "N", 11_000.0, "2026-03-05", "in_force")])
    second, settled = _settle(down, "2026-03", settled)
    assert {k: v for k, v in _lines(second).items() if k.endswith(":adj")} == {
        "PN:0:adj": ("N", -10.0, "adjustment"), "PN:1:adj": ("R2", -1.0, "adjustment"),
        "PN:2:adj": ("R1", -0.5, "adjustment")}
    third, _ = _settle(down, "2026-03", settled)
    assert {v[2] for v in _lines(third).values()} == {"already_settled"}


def test_graph_ledger_is_the_store_ledger_in_every_period(referral_store: SQLiteStore) -> None:
    """The app's path (the period-independent basis kept on the analysis graph and in its
    snapshot, then one month) gives exactly what ``graphcrm rewards`` computes from the
    store's frames: lines, totals and exclusions, with merged ids and settled lines."""
    from pandas.testing import assert_frame_equal

    from graphcrm.workspace import read_snapshot, warm_graph

    store = referral_store
    with store.transaction():
        # R5 was merged into R4 (an ingest merge); R4 referred PT, who bought in April
        store.add_aliases(pd.DataFrame([{"alias_id": "R5", "client_id": "R4",
                                         "source_file": "clients.csv", "source_row": 9,
                                         "reason": "same phone"}]))
        put(store, "clients", [{"client_id": "PT", "name": "PT"}])
        put(store, "relationships", [{"src_id": "R4", "dst_id": "PT", "type": "REFERRED",
                                      "start_date": "2026-01-01"}])
        put(store, "policies", [{"policy_id": "PPT", "holder_id": "PT", "category": "life",
                                 "annual_premium": 3_000.0, "start_date": "2026-04-09",
                                 "status": "in_force", "servicing_agent_id": "A1"}])
        # March settled, then April's first policy of N's chain would re-pay nothing
        store.append_journal("reward_settled", _ledger(store, PERIOD).settlement())
    aliases = store.aliases()
    settled = pd.DataFrame(store.journal("reward_settled"), columns=rewards.SETTLED_COLUMNS)
    assert len(settled) > 0 and aliases == {"R5": "R4"}

    ag = warm_graph(store)
    saved = read_snapshot(store, Settings())
    assert saved is not None and isinstance(saved._cache.get(rewards.BASIS_KEY), dict)
    for period in ("2026-03", "2026-04", "2025-06", "2026-05"):
        want = _ledger(store, period, aliases=aliases, settled=settled)
        for graph in (ag, saved):
            got = rewards.graph_ledger(graph, period, aliases, settled)
            assert_frame_equal(got.lines, want.lines)
            assert_frame_equal(got.totals, want.totals)
            assert_frame_equal(got.exclusions, want.exclusions)
    # the warm-up also kept the latest month's ledger (the page's default), and only that one
    assert rewards.warmed_ledger(saved, "2026-03") is None
    warm = rewards.warmed_ledger(saved, "2026-04")
    assert warm is not None
    want = _ledger(store, "2026-04", aliases=aliases, settled=settled)
    assert_frame_equal(warm.lines, want.lines)
    assert_frame_equal(warm.totals, want.totals)
    march = rewards.graph_ledger(saved, PERIOD, aliases, settled).lines
    assert set(march["status"]) == {"already_settled", "not_eligible", "same_person"}
    april = rewards.graph_ledger(saved, "2026-04", aliases, settled).lines
    assert april.set_index("line_id").loc["PPT:1", "earner_id"] == "R4"
    # a basis built with other merged ids is not reused
    assert "R5" not in rewards.graph_reward_basis(saved, {}).groups.index
    assert "R5" in rewards.graph_reward_basis(saved, aliases).groups.index


def test_a_basis_of_other_policies_or_statuses_is_refused(referral_store: SQLiteStore) -> None:
    clients, policies = referral_store.nodes(Label.CLIENT), referral_store.nodes(Label.POLICY)
    rels = referral_store.relationships(types=["REFERRED"])
    basis = rewards.reward_basis(clients, policies, rels)
    with pytest.raises(ValueError, match="built from 17 policies, not these 16"):
        rewards.period_ledger(basis, policies.iloc[1:], PERIOD)
    other = Settings()
    other.rewards.excluded_statuses = ("surrendered", "lapsed")
    with pytest.raises(ValueError, match=r"other rewards\.excluded_statuses"):
        rewards.period_ledger(basis, policies, PERIOD, other)
