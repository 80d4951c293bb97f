"""Page 4: influence hubs (影响力中心) for managers, by team, branch or region."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from graphcrm.app.common import Ctx, md, person_label, safe
from graphcrm.metrics.influence import agent_influence, bridges, hubs, influence_table


def _hubs_all(ag: Any) -> pd.DataFrame:
    return hubs(ag, top=len(ag.clients), table=influence_table(ag))


def _agent_influence(ag: Any) -> pd.DataFrame:
    return agent_influence(ag)


def _bridges(ag: Any, top: int) -> pd.DataFrame:
    return bridges(ag, top=top)


def render(ctx: Ctx) -> None:
    st.header(ctx.t("page_hubs"))
    ag = ctx.graph()
    c1, c2 = st.columns(2)
    scope = c1.radio(ctx.t("group_by"), ["all", "team", "branch", "region"], key="hubs_scope",
                     horizontal=True, format_func=ctx.t)
    agents = ag.agents
    if scope == "all":
        members = set(agents.index)
        value = ""
    else:
        mine = agents if ctx.scope.agents is None else agents.loc[
            agents.index.isin(list(ctx.scope.agents))]
        values = sorted(mine[scope].dropna().unique())
        value = c2.selectbox(ctx.t(scope), values, key="hubs_value")
        members = set(agents.index[agents[scope] == value])
    if ctx.scope.agents is not None:  # a manager's teams, an agent's own book
        members &= set(ctx.scope.agents)
    table = safe(ctx, ctx.frame, "influence_table", influence_table)
    every = safe(ctx, ctx.frame, "hubs_all", _hubs_all)
    if table is None or every is None:
        return
    top = ctx.settings.metrics.hubs_top
    mine = every.loc[every["serving_agent"].isin(members)].head(top)
    st.subheader(ctx.t("top_hubs"))
    show = mine[[c for c in ["id", "name", "status", "serving_agent", "influence",
                             "power_circle", "referral_descendants", "referral_premium",
                             "circle"] if c in mine.columns]]
    st.dataframe(show.rename(columns={"name": ctx.t("col_name"), "status": ctx.t("col_status"),
                                      "serving_agent": ctx.t("agent"),
                                      "influence": ctx.t("col_influence"),
                                      "power_circle": ctx.t("col_power_circle"),
                                      "referral_descendants": ctx.t("col_reach"),
                                      "circle": ctx.t("col_circle")}),
                 hide_index=True, key="hubs_table")
    st.subheader(ctx.t("agent_influence"))
    agents_table = safe(ctx, ctx.frame, "agent_influence", _agent_influence)
    if agents_table is not None:
        st.dataframe(agents_table.loc[agents_table["id"].isin(members)].head(top),
                     hide_index=True, key="hubs_agents")
    st.subheader(ctx.t("bridges"))
    # exact betweenness takes seconds on a first load; computed on request, then cached
    if st.toggle(ctx.t("show_bridges"), key="hubs_show_bridges"):
        br = safe(ctx, ctx.frame, "bridges", _bridges, top)
        if br is not None:
            st.dataframe(ctx.rows(br, "id"), hide_index=True, key="hubs_bridges")
    st.subheader(ctx.t("influence_chart"))
    people = table.loc[table["label"] == "Client", "influence"]
    hist = pd.cut(people, bins=20).value_counts(sort=False)
    st.bar_chart(pd.DataFrame({ctx.t("col_members"): hist.to_numpy()},
                              index=[f"{i.left:.2f}" for i in hist.index]))
    st.subheader(ctx.t("circle_penetration") + (f" — {value}" if value else ""))
    clients = table.loc[(table["label"] == "Client") & table["circle"].notna(), ["id", "circle"]]
    clients = clients.assign(served=ag.serving.reindex(clients["id"]).isin(members).to_numpy())
    pen = clients.groupby("circle").agg(members=("id", "size"), served=("served", "sum"))
    pen = pen.sort_values("members", ascending=False).head(10)
    pen["share"] = (pen["served"] / pen["members"]).round(3)
    st.dataframe(pen.reset_index().rename(columns={
        "circle": ctx.t("col_circle"), "members": ctx.t("col_members"),
        "served": ctx.t("col_served"), "share": ctx.t("col_share")}),
        hide_index=True, key="hubs_circles")
    if not mine.empty:
        st.caption(md(person_label(ag, str(mine.iloc[0]["id"]))))
