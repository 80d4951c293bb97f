"""Page 1: the client operation map (客户经营地图) of one agent."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from graphcrm.app.common import Ctx, agent_options, md, person_label, safe
from graphcrm.app.viz import (
    NODE_COLOURS,
    QUADRANT_COLOURS,
    TRUST_COLOURS,
    EdgeSpec,
    NodeSpec,
    colour_for,
    network_html,
    radial_positions,
)
from graphcrm.metrics.opmap import operation_map

COLUMNS = ["person_id", "name", "status", "distance", "warmth", "hops", "influence",
           "power_circle", "trust_level", "trust_evidence", "quadrant", "value_tier", "abc",
           "best_introducer_name", "tie_type"]
HEADERS = {"name": "col_name", "status": "col_status", "distance": "col_distance",
           "warmth": "col_warmth", "hops": "col_hops", "influence": "col_influence",
           "power_circle": "col_power_circle", "trust_level": "col_trust",
           "trust_evidence": "col_trust_evidence", "quadrant": "col_quadrant",
           "value_tier": "col_value_tier", "abc": "col_abc",
           "best_introducer_name": "col_best_introducer", "tie_type": "col_tie"}


def map_html(ctx: Ctx, agent: str, agent_name: str, df: pd.DataFrame, by: str) -> str:
    """The radial map: agent at the centre, radius = connection distance, size = influence."""
    df = df.sort_values(["distance", "person_id"]).reset_index(drop=True)
    pos = radial_positions(list(df["person_id"]), list(df["distance"]), radius=380.0)
    infl = pd.to_numeric(df.get("influence", pd.Series(0.0, index=df.index)),
                         errors="coerce").fillna(0.0)
    top = float(infl.max()) or 1.0
    palette = TRUST_COLOURS if by == "trust_level" else QUADRANT_COLOURS
    nodes = [NodeSpec(agent, agent_name, agent_name, NODE_COLOURS["center"], 28.0, "star",
                      0.0, 0.0)]
    edges = []
    for i, row in df.iterrows():
        pid = str(row["person_id"])
        title = "\n".join(
            f"{ctx.t(HEADERS[c])}: {row[c]}" for c in COLUMNS[1:]
            if c in df.columns and pd.notna(row[c]) and row[c] != ""
        )
        size = 6.0 + 14.0 * math.sqrt(max(float(infl.iloc[i]), 0.0) / top)
        nodes.append(NodeSpec(pid, str(row["name"]), f"{pid}\n{title}",
                              colour_for(row.get(by), palette), size, "dot",
                              float(pos.at[i, "x"]), float(pos.at[i, "y"])))
        edges.append(EdgeSpec(agent, pid, "#dddddd", f"{row['distance']:.2f}", 1.0))
    return network_html(nodes, edges, height=620, physics=False)


def render(ctx: Ctx) -> None:
    st.header(ctx.t("page_opmap"))
    st.caption(ctx.t("opmap_caption"))
    ag = ctx.graph()
    agents = agent_options(ctx)
    if not agents:
        st.info(ctx.t("no_results"))
        return
    c1, c2, c3 = st.columns([2, 1, 1])
    agent = c1.selectbox(ctx.t("agent_pick"), agents, key="opmap_agent",
                         format_func=lambda a: person_label(ag, a))
    by = c2.radio(ctx.t("colour_by"), ["trust_level", "quadrant"], key="opmap_colour",
                  format_func=lambda v: ctx.t("colour_trust" if v == "trust_level"
                                              else "colour_quadrant"), horizontal=True)
    limit = int(c3.number_input(ctx.t("max_people"), 10, 2000,
                                ctx.settings.app.max_network_nodes, key="opmap_limit"))
    st.caption(ctx.t("book_size", n=len(ag.book(agent))))
    df = safe(ctx, ctx.frame, "operation_map", operation_map, agent)
    if df is None:
        return
    if df.empty:
        st.info(ctx.t("no_results"))
        return
    df = ctx.hide(df, {"person_id": "name", "best_introducer": "best_introducer_name"})
    shown = df.sort_values(["distance", "person_id"]).head(limit).reset_index(drop=True)
    left, right = st.columns([3, 2])
    with left:
        st.iframe(map_html(ctx, agent, ag.name(agent), shown, by), height=640)
    with right:
        cols = [c for c in COLUMNS if c in df.columns]
        table = df[cols].assign(status=df["status"].map(
            lambda v: ctx.t(v) if v in ("client", "prospect") else v))
        table = table.rename(columns={"person_id": "ID",
                                      **{c: ctx.t(h) for c, h in HEADERS.items()}})
        st.dataframe(table, hide_index=True, height=560, key="opmap_table")
        ctx.download(ctx.t("download_csv"), df[cols], f"operation-map-{agent}.csv",
                     key="opmap_csv")
    person = st.selectbox(ctx.t("open_person"), ["", *shown["person_id"]],
                          key="opmap_person",
                          format_func=lambda p: "" if not p else person_label(ag, p))
    if person:
        ctx.audit("view", person, "operation map")
        st.subheader(ctx.t("person_detail"))
        row = df.loc[df["person_id"] == person].iloc[0]
        st.table(pd.DataFrame({"": [ctx.t(HEADERS[c]) for c in cols if c in HEADERS],
                               " ": [md(row[c]) for c in cols if c in HEADERS]}))
