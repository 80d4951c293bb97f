"""Page: the weekly visit plan (拜访计划) of one agent, with the .ics download, and the
referral funnel per agent and team.

Scoped (docs/privacy.md): an agent plans only their own week and sees only their own funnel
line; a manager the agents and teams in their scope; an admin everyone. Tables are worded by
:mod:`graphcrm.fieldwork.words`.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pandas as pd
import streamlit as st

from graphcrm.app.common import Ctx, agent_options, person_label, safe, uploader_in_words
from graphcrm.fieldwork import calendar as cal
from graphcrm.fieldwork import orphans as orph
from graphcrm.fieldwork import visits as vis
from graphcrm.fieldwork import words
from graphcrm.metrics.stages import referral_funnel


def _events(ctx: Ctx, upload: object) -> pd.DataFrame | None:
    if upload is None:
        return None
    suffix = Path(getattr(upload, "name", "events.csv")).suffix or ".csv"
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as fh:
        fh.write(upload.getvalue())  # type: ignore[attr-defined]
        path = fh.name
    try:
        return cal.read_events(path)
    except ValueError as exc:
        st.warning(str(exc))
        return None
    finally:
        Path(path).unlink(missing_ok=True)


def render(ctx: Ctx) -> None:
    st.header(ctx.t("page_visits"))
    ag = ctx.graph()
    agents = agent_options(ctx)
    if not agents:
        st.info(ctx.t("no_results"))
        return
    c1, c2 = st.columns([2, 1])
    agent = c1.selectbox(ctx.t("agent_pick"), agents, key="visits_agent",
                         format_func=lambda a: person_label(ag, a))
    week = c2.text_input(ctx.t("week"), vis.week_of(date.today()), key="visits_week").strip()
    try:
        vis.iso_week(week)
    except ValueError:
        st.warning(ctx.t("bad_week", value=week))
        return
    uploader_in_words(ctx)
    events = _events(ctx, st.file_uploader(ctx.t("events_upload"), type=["csv", "xlsx"],
                                           key="visits_events"))
    if agent not in agents:  # a stale choice from another session's scope: never plan it
        st.warning(ctx.t("not_in_scope", id=agent))
        return
    assigned = orph.assignments(ag.relationships)
    assigned = assigned.loc[assigned["agent_id"] == agent]
    due = vis.visit_status(assigned, ag.interactions, ctx.settings, date.today())
    plan = safe(ctx, cal.week_plan, ag, agent, week, events=events, due=due)
    if plan is None:
        return
    planned = plan["planned"].astype(bool) if len(plan) else pd.Series(dtype=bool)
    st.caption(ctx.t("planned_count", n=int(planned.sum()), m=int((~planned).sum())))
    st.caption(ctx.t("highlight_note"))
    st.dataframe(words.plan_table(plan, ctx.lang), hide_index=True, key="visits_plan")
    st.download_button(ctx.t("download_ics"), cal.to_ics(plan, ag.name(agent), week),
                       f"visits-{agent}-{week}.ics", "text/calendar", key="visits_ics",
                       on_click=ctx.audit, args=("download", f"visits-{agent}-{week}.ics",
                                                 f"slots={int(planned.sum())}"))

    st.subheader(ctx.t("funnel"))
    funnel = safe(ctx, ctx.frame, "referral_funnel", referral_funnel)
    if funnel is None:
        return
    scope = ctx.scope
    if scope.role == "agent":  # their own line only, never their colleagues' or the team's
        table = funnel["agents"].loc[funnel["agents"]["agent_id"] == scope.agent_id]
        by = "agent_id"
    else:
        table, by = funnel["teams"], "team"
        if not scope.everything:
            teams = set(ag.agents["team"].reindex(list(scope.agents or ())).dropna())
            table = table.loc[table["team"].isin(teams)]
    if table.empty:
        st.info(ctx.t("no_results"))
        return
    shown = words.funnel_table(ag, table, by, ctx.lang)
    st.dataframe(shown, hide_index=True, key="visits_funnel")
    steps = [ctx.t(f"col_{c}") for c in ("received", "contacted", "met", "converted")]
    chart = shown.set_index(shown.columns[0])[steps].apply(
        lambda col: pd.to_numeric(col.str.replace(",", ""), errors="coerce"))
    st.bar_chart(chart.astype(float).T, stack=False)
