"""A hand-built branch for the field-work tests (orphans, visits, calendar), in a real SQLite file.

Agents (hire date, region, supervisor, book before any assignment):

* ``S1`` supervisor of team T1 (华北), ``S2`` supervisor of team T2 (华北); books empty.
* ``D1`` departed 2026-10-01 (T1, 华东, supervisor S1): serves O1..O8 (in-force policies).
* ``D2`` departed 2026-11-20 (T1, 华东, supervisor S1): serves W1 (in force).
* ``A1`` T1, 华东, hired 2026-06-01 (first year on 2026-12-01), book empty.
* ``A2`` T1, 华东, hired 2018, book K1, which it received as an orphan on 2026-12-01
  (so it already has 1 orphan this month).
* ``R1`` T2, 华东, hired 2016, book empty; ``R2`` T2, 华东, hired 2017, book K2, K3, Y.
* ``N1`` T3, 华中, hired 2015.

Ties: O5 =spouse= X =colleague= Y, and R2 serves Y: R2 knows O5 through three ties (warmth
0.95 * 0.45 * 0.50; the three ties are dated at the data's reference date, so none decays).
NA1 holds an in-force policy and never had an agent (no region).
"""

from __future__ import annotations

from graphcrm.store.sqlite import SQLiteStore

from .graph_fixtures import put


def _agent(aid: str, team: str, region: str, hired: str, sup: str | None = None,
           status: str = "active", left: str | None = None) -> dict[str, object]:
    return {"agent_id": aid, "name": f"agent {aid}", "team": team, "branch": "B1",
            "region": region, "hire_date": hired, "status": status, "departure_date": left,
            "supervisor_id": sup, "phone": "13800000000"}


def _policy(pid: str, holder: str, agent: str, premium: float = 1000.0) -> dict[str, object]:
    return {"policy_id": pid, "holder_id": holder, "category": "accident",
            "annual_premium": premium, "start_date": "2026-01-01", "status": "in_force",
            "writing_agent_id": agent, "servicing_agent_id": agent}


def build_branch(store: SQLiteStore) -> None:
    """Write the branch described in the module docstring."""
    orphans = [f"O{i}" for i in range(1, 9)]
    with store.transaction():
        put(store, "agents", [
            _agent("S1", "T1", "华北", "2010-01-01"), _agent("S2", "T2", "华北", "2010-01-01"),
            _agent("D1", "T1", "华东", "2019-01-01", "S1", "departed", "2026-10-01"),
            _agent("D2", "T1", "华东", "2019-01-01", "S1", "departed", "2026-11-20"),
            _agent("A1", "T1", "华东", "2026-06-01", "S1"),
            _agent("A2", "T1", "华东", "2018-01-01", "S1"),
            _agent("R1", "T2", "华东", "2016-01-01", "S2"),
            _agent("R2", "T2", "华东", "2017-01-01", "S2"),
            _agent("N1", "T3", "华中", "2015-01-01"),
        ])
        people = [*orphans, "W1", "NA1", "K1", "K2", "K3", "X", "Y"]
        put(store, "clients", [
            {"client_id": c, "name": f"name {c}", "phone": f"139000000{i:02d}",
             "region": None if c == "NA1" else "华东"}
            for i, c in enumerate(people)
        ])
        put(store, "policies", [
            *[_policy(f"P{c}", c, "D1", 1000.0 + 100 * i) for i, c in enumerate(orphans)],
            _policy("PW1", "W1", "D2"), _policy("PNA1", "NA1", None),  # type: ignore[arg-type]
        ])
        put(store, "relationships", [
            *[{"src_id": "D1", "dst_id": c, "type": "SERVES", "start_date": "2020-01-01"}
              for c in orphans],
            {"src_id": "D2", "dst_id": "W1", "type": "SERVES", "start_date": "2020-01-01"},
            {"src_id": "A2", "dst_id": "K1", "type": "SERVES", "start_date": "2026-12-01",
             "source": "orphans:2026-12;approved:S1;from:D9;rule:team"},
            *[{"src_id": "R2", "dst_id": c, "type": "SERVES", "start_date": "2021-01-01"}
              for c in ("K2", "K3")],
            # dated at the data's reference date (its latest date), so no decay applies
            {"src_id": "R2", "dst_id": "Y", "type": "SERVES", "start_date": "2026-12-01"},
            {"src_id": "O5", "dst_id": "X", "type": "RELATIVE_OF", "kind": "spouse",
             "start_date": "2026-12-01"},
            {"src_id": "X", "dst_id": "Y", "type": "COLLEAGUE_OF", "start_date": "2026-12-01"},
        ])
