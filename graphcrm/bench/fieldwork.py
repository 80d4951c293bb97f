"""Field-work benchmark (docs/benchmarks-fieldwork.md): ``orphans assign`` for every orphan and
``calendar`` for one agent on generated data, with baselines measured in the same run.

* **orphans**: :func:`graphcrm.fieldwork.orphans.propose` for the month (every orphan gets a
  line: an agent or the reason it has none). Baseline: what a straightforward implementation
  does for the warmest connection, one hop-bounded search from each orphan
  (:func:`graphcrm.metrics.paths.connection_distances`, the operation map's search), timed on
  a sample of orphans and scaled to all of them.
* **calendar**: :func:`graphcrm.fieldwork.calendar.week_plan` (with last week's plan for the
  carry-over, the orphan visits due and the coverage-gap reasons) for the agent with the
  biggest book. Baseline: that agent's operation map (:func:`graphcrm.metrics.opmap.
  operation_map`), the per-agent view the app already serves, in the same run.

Both run on a warm analysis graph (built and warmed as ``graphcrm ingest`` does, timed apart),
as the commands find it in the snapshot beside the store.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import time
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from graphcrm.fieldwork import calendar as cal
from graphcrm.fieldwork import orphans as orph
from graphcrm.fieldwork import visits as vis
from graphcrm.graph import build_graph_frames
from graphcrm.metrics.opmap import operation_map
from graphcrm.metrics.paths import connection_distances
from graphcrm.synth import SPEC, build_tables
from graphcrm.workspace import warm_graph_tables


def _peak_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _top_up_departures(agents: pd.DataFrame, share: float, month: str, seed: int
                       ) -> pd.DataFrame:
    """The generator lets only experienced non-leaders leave, so fewer than ``share`` of the
    agents have departed; mark more (agents nobody reports to, at random, seeded) as departed
    within the year before ``month`` until the share is reached."""
    agents = agents.copy()
    want = round(share * len(agents))
    have = int((agents["status"] == "departed").sum())
    if have >= want:
        return agents
    bosses = set(agents["supervisor_id"].dropna())
    cand = np.flatnonzero(((agents["status"] == "active") & ~agents["agent_id"].isin(bosses))
                          .to_numpy())
    rng = np.random.default_rng(seed + 1)
    pick = rng.choice(cand, size=min(len(cand), want - have), replace=False)
    first, _ = orph.month_bounds(month)
    days = rng.integers(31, 365, size=len(pick))
    agents.iloc[pick, agents.columns.get_loc("status")] = "departed"
    agents.iloc[pick, agents.columns.get_loc("departure_date")] = [
        (pd.Timestamp(first) - pd.Timedelta(days=int(d))).date().isoformat() for d in days]
    return agents


def run_fieldwork_bench(clients: int, seed: int = 7, departed_share: float = 0.05,
                        month: str = "2026-12", week: str = "2026-W49",
                        baseline_sample: int = 200, echo: Any = None,
                        profile_path: str | None = None) -> dict[str, Any]:
    """Everything ``graphcrm bench fieldwork`` reports (documented keys, seconds ``*_s``).

    ``profile_path``: after the timed runs, run the proposal and the calendar once more under
    :mod:`cProfile` (not timed: the profiler slows Python code) and write the functions with
    the most cumulative time to that file, to find the hot spots at the size measured.
    """
    say = echo or (lambda _s: None)
    out: dict[str, Any] = {"clients": clients, "seed": seed, "departed_share_asked": departed_share,
                           "month": month, "week": week}
    t = time.perf_counter()
    spec = dataclasses.replace(SPEC, departed_agent_share=departed_share)
    frames = build_tables(clients, seed=seed, spec=spec)
    frames = {k: v.astype(object).where(v.notna(), None) for k, v in frames.items()}
    frames["agents"] = _top_up_departures(frames["agents"], departed_share, month, seed)
    out["generate_s"] = round(time.perf_counter() - t, 2)
    say(f"generated {clients:,} clients in {out['generate_s']} s")
    t = time.perf_counter()
    ag = build_graph_frames(frames)
    _ = ag.csr
    out["build_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    warm_graph_tables(ag)  # what `graphcrm ingest` warms and snapshots
    out["warm_s"] = round(time.perf_counter() - t, 2)
    agents = ag.agents
    out["agents"] = len(agents)
    out["departed_share"] = round(float((agents["status"] == "departed").mean()), 4)
    say(f"analysis graph in {out['build_s']} s, warmed in {out['warm_s']} s")

    first, _last = orph.month_bounds(month)
    t = time.perf_counter()
    listing = orph.find_orphans(ag, first)
    out["orphans_list_s"] = round(time.perf_counter() - t, 2)
    t, cpu = time.perf_counter(), time.process_time()
    proposal = orph.propose(ag, month, first)
    ours = time.perf_counter() - t
    out["orphans_assign_cpu_s"] = round(time.process_time() - cpu, 2)
    out["orphans"] = len(listing)
    out["orphans_assign_s"] = round(ours, 2)
    out["orphans_lines"] = len(proposal)
    out["orphans_placed"] = int(proposal["agent_id"].notna().sum())
    out["orphans_by_rule"] = {str(k): int(v) for k, v in
                              proposal["rule"].value_counts().sort_index().items()}
    out["orphans_warm"] = int(proposal["hops"].notna().sum())
    out["orphans_assign_target_met"] = ours < 60.0
    say(f"orphans assign: {len(proposal):,} lines in {ours:.1f} s")

    rng = np.random.default_rng(seed)
    sample = rng.choice(listing["client_id"].to_numpy(dtype=object),
                        size=min(baseline_sample, len(listing)), replace=False)
    hops = ag.settings.orphans.connection_max_hops
    t = time.perf_counter()
    for c in sample:
        connection_distances(ag, str(c), hops)
    per = (time.perf_counter() - t) / max(1, len(sample))
    out["baseline_per_orphan_search_ms"] = round(per * 1000, 2)
    out["baseline_sample"] = len(sample)
    out["baseline_orphans_s_scaled"] = round(per * len(listing), 2)
    out["ratio_ours_vs_baseline"] = (round(ours / (per * len(listing)), 3)
                                     if per * len(listing) else None)

    book_sizes = ag.serving.value_counts()
    agent = str(book_sizes.index[0])
    out["calendar_agent"] = agent
    out["calendar_book"] = int(book_sizes.iloc[0])
    assigned = proposal.loc[proposal["agent_id"] == agent, ["client_id", "agent_id"]].assign(
        assigned=first.isoformat())
    monday, _ = vis.iso_week(week)
    runs, runs_nogap, cpus = [], [], []
    plan = pd.DataFrame()
    for _ in range(3):
        t, cpu = time.perf_counter(), time.process_time()
        due = vis.visit_status(assigned, ag.interactions, ag.settings, monday)
        plan = cal.week_plan(ag, agent, week, due=due)
        planned = plan.loc[plan["planned"].astype(bool), "client_id"].tolist()
        plan = cal.add_findings(plan, cal.gap_findings(ag, planned, monday))
        runs.append(time.perf_counter() - t)
        cpus.append(time.process_time() - cpu)
        t = time.perf_counter()
        cal.week_plan(ag, agent, week, due=due)
        runs_nogap.append(time.perf_counter() - t)
    out["calendar_s"] = round(min(runs), 3)
    out["calendar_first_s"] = round(runs[0], 3)
    out["calendar_cpu_s"] = round(min(cpus), 3)
    out["calendar_without_gaps_s"] = round(min(runs_nogap), 3)
    out["calendar_planned"] = int(plan["planned"].sum()) if len(plan) else 0
    out["calendar_target_met"] = min(runs) < 1.0
    base = []
    for _ in range(3):
        t = time.perf_counter()
        operation_map(ag, agent)
        base.append(time.perf_counter() - t)
    out["baseline_operation_map_s"] = round(min(base), 3)
    out["ratio_calendar_vs_operation_map"] = round(min(runs) / min(base), 3) if min(base) else None
    if profile_path:
        _profile(profile_path, ag, month, first, agent, week, assigned, monday)
    out["peak_rss_mb"] = round(_peak_mb(), 1)
    out["load_average_1m"] = round(os.getloadavg()[0], 1)
    out["cpu_count"] = os.cpu_count()
    out["as_of"] = date.today().isoformat()
    say(f"calendar for {agent} ({out['calendar_book']} clients): {out['calendar_s']} s")
    return out


def _profile(path: str, ag: Any, month: str, first: date, agent: str, week: str,
             assigned: pd.DataFrame, monday: date) -> None:
    """cProfile of one proposal and one calendar, the top 40 functions of each to ``path``."""
    import cProfile
    import io
    import pstats

    text = io.StringIO()
    for label, run in (
            ("orphans assign", lambda: orph.propose(ag, month, first)),
            ("calendar", lambda: cal.add_findings(
                cal.week_plan(ag, agent, week, due=vis.visit_status(
                    assigned, ag.interactions, ag.settings, monday)),
                cal.gap_findings(ag, list(ag.book(agent)), monday)))):
        prof = cProfile.Profile()
        prof.enable()
        run()
        prof.disable()
        text.write(f"== {label}\n")
        pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(40)
        text.write(f"== {label}, by own time\n")
        pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(20)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text.getvalue())
