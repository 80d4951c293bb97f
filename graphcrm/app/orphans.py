"""Page: orphan clients (孤儿单): the list, the proposal with reasons, the manager's approval,
and the follow-up of the three visits.

Scoped (docs/privacy.md): a manager sees, is proposed and approves only the orphans of the
departed agents of their teams or branches, and follows up only the assignments to or from
those agents; an admin sees all. Every table is worded by :mod:`graphcrm.fieldwork.words`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from graphcrm.app.common import Ctx, safe
from graphcrm.fieldwork import orphans as orph
from graphcrm.fieldwork import visits as vis
from graphcrm.fieldwork import words
from graphcrm.model import TABLES_BY_NAME, Label
from graphcrm.scope import Scope
from graphcrm.workspace import open_store


def in_scope(scope: Scope, ids: pd.Series) -> pd.Series:
    """True where the agent id is one whose book the user may see (an admin: everywhere; an
    orphan with no agent at all belongs to no team: admins only)."""
    if scope.agents is None:
        return pd.Series(True, index=ids.index)
    return ids.isin(list(scope.agents)) & ids.notna()


def scoped_orphans(scope: Scope, frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of an orphan list or proposal whose departed agent is in the user's scope."""
    return frame.loc[in_scope(scope, frame["departed_agent"]).to_numpy()] if len(frame) \
        else frame


def scoped_assignments(scope: Scope, assigned: pd.DataFrame) -> pd.DataFrame:
    """Assignments to or from an agent in the user's scope (the follow-up a manager owns)."""
    if not len(assigned) or scope.agents is None:
        return assigned
    keep = in_scope(scope, assigned["agent_id"]) | in_scope(scope, assigned["from_agent"])
    return assigned.loc[keep.to_numpy()]


def _approve(ctx: Ctx, proposal: pd.DataFrame, month: str, day: date, approver: str
             ) -> tuple[int, pd.DataFrame]:
    """Write the proposal's lines and return (ties written, the notices of these clients)."""
    with open_store(ctx.location, create=False, settings=ctx.settings) as s:
        ties = orph.assignment_ties(proposal, month, day, approver)
        with s.transaction():
            written = s.upsert(TABLES_BY_NAME["relationships"], ties)
        assigned = orph.assignments(s.relationships(["SERVES"]), month)
        assigned = assigned.loc[assigned["client_id"].isin(proposal["client_id"]).to_numpy()]
        clients = s.get_nodes(Label.CLIENT, assigned["client_id"])
        agents = s.get_nodes(Label.AGENT, assigned["agent_id"])
    notes = orph.notices(assigned, clients, agents, month=month, language=ctx.lang,
                         client_template=ctx.t("notice_client"),
                         agent_template=ctx.t("notice_agent"),
                         first_visit_days=ctx.settings.orphans.first_visit_days,
                         separator=ctx.t("notice_separator"))
    return written, notes


def render(ctx: Ctx) -> None:
    st.header(ctx.t("page_orphans"))
    ag: Any = ctx.graph()
    scope = ctx.scope
    lang = ctx.lang
    today = date.today()
    if not scope.everything:
        st.caption(ctx.t("orphans_scope_note"))
    c1, c2, c3 = st.columns(3)
    month = c1.text_input(ctx.t("month"), today.strftime("%Y-%m"), key="orphans_month")
    try:
        first, last = orph.month_bounds(month.strip())
    except ValueError:
        st.warning(ctx.t("bad_month", value=month))
        return
    default_day = today if first <= today <= last else first
    day = c2.date_input(ctx.t("assign_date"), default_day, min_value=first, max_value=last,
                        key="orphans_date", format="YYYY-MM-DD")
    mine = ag.agents if scope.everything else ag.agents.loc[
        ag.agents.index.isin(list(scope.agents or ()))]
    branches = sorted(str(b) for b in mine["branch"].dropna().unique())
    branch = c3.selectbox(ctx.t("branch"), ["", *branches], key="orphans_branch",
                          format_func=lambda b: b or ctx.t("all"))
    st.subheader(ctx.t("orphans_list"))
    listing = safe(ctx, orph.find_orphans, ag, day, branch or None)
    if listing is None:
        return
    listing = scoped_orphans(scope, listing)
    st.caption(ctx.t("orphans_count", n=len(listing)))
    st.dataframe(words.orphans_table(ag, listing, lang), hide_index=True, key="orphans_table")

    st.subheader(ctx.t("proposal"))
    # proposed over every orphan (the caps are shared), then kept to the user's orphans
    proposal = safe(ctx, orph.propose, ag, month.strip(), day, branch or None)
    if proposal is None:
        return
    proposal = scoped_orphans(scope, proposal)
    placed = int(proposal["agent_id"].notna().sum()) if len(proposal) else 0
    st.caption(ctx.t("proposal_count", n=placed, m=len(proposal) - placed))
    st.dataframe(words.proposal_table(ag, proposal, lang), hide_index=True,
                 key="orphans_proposal")
    approver = ctx.user.name if ctx.user is not None else ""
    a1, a2 = st.columns([2, 1])
    if approver:
        a1.caption(ctx.t("approve_as", user=approver))
    if a2.button(ctx.t("approve"), key="orphans_approve", disabled=placed == 0):
        if not approver:
            st.warning(ctx.t("approver_needed"))
        else:
            done = safe(ctx, _approve, ctx, proposal, month.strip(), day, approver)
            if done is not None:  # show it after a rerun that reads the new data
                ctx.audit("approve orphans", proposal.loc[proposal["agent_id"].notna(),
                                                          "client_id"].tolist(),
                          f"month={month.strip()} written={done[0]}")
                st.session_state["orphans_notices"] = (month.strip(), done[0], done[1])
                st.rerun()
    notes = st.session_state.get("orphans_notices")
    if notes is not None:
        st.success(ctx.t("approved", n=notes[1]))
        # for a person: phones masked, formulas neutralised (privacy.csv_frame); the file
        # for the SMS gateway comes from `graphcrm orphans assign --apply` (docs/fieldwork.md)
        ctx.download(ctx.t("download_notices"), notes[2], f"orphans-notices-{notes[0]}.csv",
                     key="orphans_notices_csv")

    st.subheader(ctx.t("followup"))
    assigned = scoped_assignments(scope, orph.assignments(ag.relationships))
    status = vis.visit_status(assigned, ag.interactions, ctx.settings, today)
    st.dataframe(words.status_table(ag, status, lang), hide_index=True, key="orphans_followup")
    roll = vis.rollup(status, ag.agents.reset_index(drop=True)[["agent_id", "team"]])
    left, right = st.columns(2)
    left.markdown(f"**{ctx.t('rollup_agents')}**")
    left.dataframe(words.rollup_table(ag, roll["agents"], "agent_id", lang), hide_index=True,
                   key="orphans_roll_agents")
    right.markdown(f"**{ctx.t('rollup_teams')}**")
    right.dataframe(words.rollup_table(ag, roll["teams"], "team", lang), hide_index=True,
                    key="orphans_roll_teams")
