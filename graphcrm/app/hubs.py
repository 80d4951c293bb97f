"""Page 4: influence hubs (影响力中心) for managers, by team, branch or region."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from graphcrm.app.common import Ctx, md, person_label, safe
from graphcrm.i18n import code
from graphcrm.metrics.bridges import betweenness
from graphcrm.metrics.hub_scope import HubsInScope, hubs_in_scope
from graphcrm.metrics.influence import agent_influence, bridges
from graphcrm.metrics.narrate import circle_names, hubs_table
from graphcrm.wording import pct


def _agent_influence(ag: Any) -> pd.DataFrame:
    return agent_influence(ag)


def _bridges(ctx: Ctx, ag: Any, top: int) -> pd.DataFrame:
    """The bridges table: read from the warm-up's snapshot, or computed here with a progress
    bar (after ``ingest --no-warm``, or on a Neo4j store) and then kept on the graph."""
    if "betweenness" not in ag._cache:
        bar = st.progress(0.0, text=ctx.t("bridges_progress", done=0, total="…"))

        def step(done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=ctx.t("bridges_progress", done=done,
                                                           total=total))

        betweenness(ag, progress=step)
        bar.empty()
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
    top = ctx.settings.metrics.hubs_top
    # the whole-graph pass comes from the warm-up's snapshot; here only this scope's rows
    # (the full graph's tables: every row kept is served by the scope's agents)
    view = safe(ctx, hubs_in_scope, ctx.full_graph(), members, scope == "all", top)
    if view is None:
        return
    names = scoped_circle_names(ctx, view)
    # members are within the user's scope; hidden all the same, should that ever change
    mine = ctx.hide(view.hubs, {"id": "name"})
    st.subheader(ctx.t("top_hubs") + (f" — {value}" if value else ""))
    st.caption(ctx.t("hubs_caption"))
    st.dataframe(hubs_table(ag, mine, ctx.lang, names), hide_index=True, key="hubs_table")
    st.subheader(ctx.t("agent_influence"))
    agents_table = safe(ctx, ctx.frame, "agent_influence", _agent_influence)
    if agents_table is not None:
        ai = agents_table.loc[agents_table["id"].isin(members)].head(top)
        st.dataframe(pd.DataFrame({
            ctx.t("agent"): [f"{n} ({i})" for n, i in zip(ai["name"], ai["id"], strict=True)],
            ctx.t("team"): ai["team"].fillna("—").astype(str).to_numpy(),
            ctx.t("col_status"): [code("status", s, ctx.lang) for s in ai["status"]],
            ctx.t("col_clients"): ai["clients"].to_numpy(),
            ctx.t("col_influence"): [pct(v) for v in ai["influence"]],
        }), hide_index=True, key="hubs_agents")
    st.subheader(ctx.t("bridges") + (f" — {value}" if value else ""))
    # computed in the post-ingest warm-up (snapshot); otherwise here, with a progress bar
    if st.toggle(ctx.t("show_bridges"), key="hubs_show_bridges"):
        br = safe(ctx, _bridges, ctx, ag, max(top * 20, 200))
        if br is not None:
            br = br.loc[ag.serving.reindex(br["id"]).isin(members).to_numpy()
                        | (scope == "all")]
            br = ctx.hide(ctx.rows(br, "id").head(top), {"id": "name"})
            st.dataframe(pd.DataFrame({
                ctx.t("col_name"): [f"{n} ({i})" for n, i in zip(br["name"], br["id"],
                                                                 strict=True)],
                ctx.t("col_status"): [code("status", ag.status(i), ctx.lang)
                                      for i in br["id"]],
                ctx.t("col_betweenness"): [f"{v:.4f}" for v in br["betweenness"]],
            }), hide_index=True, key="hubs_bridges")
            st.caption(ctx.t("bridges_sample", k=br.attrs.get("sample_size", 0),
                             n=len(ag.nodes)))
    st.subheader(ctx.t("influence_chart") + (f" — {value}" if value else ""))
    people = pd.Series(view.influence * 100)
    if len(people):
        hist = pd.cut(people, bins=list(range(0, 101, 10)), include_lowest=True)
        counts = hist.value_counts(sort=False)
        st.bar_chart(pd.DataFrame({ctx.t("col_members"): counts.to_numpy()},
                                  index=[f"{int(i.left)}–{int(i.right)}%" for i in counts.index]),
                     x_label=ctx.t("col_influence"), y_label=ctx.t("col_members"))
        st.caption(ctx.t("influence_legend"))
    st.subheader(ctx.t("circle_penetration") + (f" — {value}" if value else ""))
    pen = view.circles
    st.dataframe(pd.DataFrame({
        ctx.t("col_circle"): [names.get(int(c), "—") for c in pen.index],
        ctx.t("col_members"): pen["members"].to_numpy(),
        ctx.t("col_served"): pen["served"].astype(int).to_numpy(),
        ctx.t("col_share"): [pct(v) for v in pen["served"] / pen["members"]],
    }), hide_index=True, key="hubs_circles")
    if not mine.empty:
        st.caption(md(person_label(ag, str(mine.iloc[0]["id"]))))


def scoped_circle_names(ctx: Ctx, view: HubsInScope) -> dict[int, str]:
    """Each circle of the page named after its two most influential members, with the names
    the signed-in user may see ("a client of 同事 X (team)" for colleagues' clients)."""
    return circle_names(ctx.graph(), ctx.hide(view.circle_top, {"id": "name"}))
