"""Page 1: the client operation map (客户经营地图) of one agent."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import streamlit as st

from graphcrm.app.common import (
    Ctx,
    agent_options,
    contact_details,
    md,
    person_label,
    person_labels,
    safe,
)
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
from graphcrm.fieldwork import visits as vis
from graphcrm.i18n import code
from graphcrm.metrics.narrate import opmap_table
from graphcrm.metrics.opmap import operation_map
from graphcrm.model import InteractionType
from graphcrm.wording import evidence_text, num, number_column, pct, tie_words, warmth_text
from graphcrm.workspace import open_store


def hover_text(ctx: Ctx, row: pd.Series) -> str:
    """What a person's node says on hover: codes in words, numbers rounded."""

    m = ctx.settings.metrics
    lang = ctx.lang
    lines = [f"{row['name']} ({row['person_id']})",
             f"{ctx.t('col_status')}: {code('status', row.get('status'), lang)}",
             f"{ctx.t('col_warmth')}: "
             f"{warmth_text(row.get('warmth'), m.warmth_hot, m.warmth_warm, lang)}",
             f"{ctx.t('col_distance')}: {num(row.get('distance'))}",
             f"{ctx.t('col_influence')}: {pct(row.get('influence'))}",
             f"{ctx.t('col_trust')}: {code('trust', row.get('trust_level'), lang)}",
             f"{ctx.t('col_quadrant')}: {code('quadrant', row.get('quadrant'), lang)}",
             f"{ctx.t('col_value_tier')}: {code('tier', row.get('value_tier'), lang)}",
             f"{ctx.t('col_tie')}: {tie_words(row.get('tie_type'), None, lang)}"]
    intro = row.get("best_introducer_name")
    if isinstance(intro, str) and intro:
        lines.append(f"{ctx.t('col_best_introducer')}: {intro}")
    stage = row.get("stage")
    if isinstance(stage, str) and stage:
        lines.append(f"{ctx.t('col_stage')}: {stage} ({row.get('stage_evidence')})")
    ev = row.get("trust_evidence")
    if isinstance(ev, str) and ev:
        lines.append(f"{ctx.t('col_trust_evidence')}: {evidence_text(ev, lang)}")
    return "\n".join(lines)


def labelled(df: pd.DataFrame, n: int) -> set[str]:
    """Who gets a name on the map: the ``n`` nearest and the ``n`` most influential (the
    rest show on hover), so labels do not pile up."""
    near = df.nsmallest(n, "distance")["person_id"]
    infl = pd.to_numeric(df.get("influence"), errors="coerce").fillna(0.0)
    big = df.assign(_i=infl).nlargest(n, "_i")["person_id"]
    return set(near) | set(big)


def map_html(ctx: Ctx, agent: str, agent_name: str, df: pd.DataFrame, by: str) -> str:
    """The radial map: agent at the centre, radius = connection distance, size = influence,
    dashed rings where warmth turns from hot to warm and warm to cold."""
    df = df.sort_values(["distance", "person_id"]).reset_index(drop=True)
    radius = 380.0
    top_d = float(df["distance"].max() or 1.0)
    pos = radial_positions(list(df["person_id"]), list(df["distance"]), radius=radius)
    infl = pd.to_numeric(df.get("influence", pd.Series(0.0, index=df.index)),
                         errors="coerce").fillna(0.0)
    top = float(infl.max()) or 1.0
    palette = TRUST_COLOURS if by == "trust_level" else QUADRANT_COLOURS
    names = labelled(df, max(1, ctx.settings.app.opmap_labels // 2))
    nodes = [NodeSpec(agent, agent_name, agent_name, NODE_COLOURS["center"], 28.0, "star",
                      0.0, 0.0)]
    edges = []
    for i, row in df.iterrows():
        pid = str(row["person_id"])
        size = 6.0 + 14.0 * math.sqrt(max(float(infl.iloc[i]), 0.0) / top)
        nodes.append(NodeSpec(pid, str(row["name"]) if pid in names else " ",
                              hover_text(ctx, row), colour_for(row.get(by), palette), size,
                              "dot", float(pos.at[i, "x"]), float(pos.at[i, "y"])))
        edges.append(EdgeSpec(agent, pid, "#eeeeee", "", 0.5))
    m = ctx.settings.metrics
    rings = []
    for w, key in ((m.warmth_hot, "ring_hot"), (m.warmth_warm, "ring_warm")):
        d = -math.log(w) if w > 0 else top_d
        if d < top_d:
            rings.append((60.0 + (radius - 60.0) * d / top_d, ctx.t(key, w=w)))
    # the outer edge: how warm the farthest person drawn still is
    rings.append((radius + 12.0, ctx.t("ring_edge", w=f"{math.exp(-top_d):.2f}")))
    return network_html(nodes, edges, height=620, physics=False, rings=rings)


def legend_html(ctx: Ctx, by: str) -> str:
    """The colour legend of the map in the page's language (fixed colours and our own words)."""
    if by == "trust_level":
        items = [(TRUST_COLOURS[k], code("trust", k, ctx.lang))
                 for k in ("behavioural", "emotional", "perceived", "none")]
    else:
        items = [(QUADRANT_COLOURS[k], code("quadrant", k, ctx.lang))
                 for k in ("pamper", "cultivate", "maintain", "develop")]
    dots = " ".join(f"<span style='color:{c};font-size:1.3em'>●</span> {label}"
                    for c, label in items)
    return (f"{ctx.t('legend')}: <span style='color:{NODE_COLOURS['center']}'>★</span> "
            f"{ctx.t('agent')} · {dots} · {ctx.t('legend_size')}")


def readable(ctx: Ctx, df: pd.DataFrame) -> pd.DataFrame:
    """The operation map table in the page's language: words, levels, rounded numbers."""

    out = opmap_table(df, ctx.settings, ctx.lang)
    out.insert(3, ctx.t("col_distance"), number_column(df["distance"]).to_numpy())
    infl = pd.to_numeric(df["influence"], errors="coerce")
    out.insert(5, ctx.t("col_influence"),
               (infl * 100).round().map("{:.0f}%".format, na_action="ignore").fillna("—")
               .to_numpy())
    out.insert(6, ctx.t("col_power_circle"), number_column(df["power_circle"], 0).to_numpy())
    out[ctx.t("col_trust_evidence")] = df["trust_evidence"].map(
        lambda v: evidence_text(v, ctx.lang)).to_numpy()
    return out


def render(ctx: Ctx) -> None:
    st.header(ctx.t("page_opmap"))
    st.caption(ctx.t("opmap_caption"))
    ag = ctx.graph()
    agents = agent_options(ctx)
    if not agents:
        st.info(ctx.t("no_results"))
        return
    c1, c2, c3 = st.columns([2, 1, 1])
    agent_labels = person_labels(ag, agents)
    agent = c1.selectbox(ctx.t("agent_pick"), agents, key="opmap_agent",
                         format_func=agent_labels.__getitem__)
    by = c2.radio(ctx.t("colour_by"), ["trust_level", "quadrant"], key="opmap_colour",
                  format_func=lambda v: ctx.t("colour_trust" if v == "trust_level"
                                              else "colour_quadrant"), horizontal=True)
    limit = int(c3.number_input(ctx.t("max_people"), 10, 2000,
                                ctx.settings.app.opmap_people, key="opmap_limit"))
    st.caption(ctx.t("book_size", n=len(ag.book(agent))))
    df = safe(ctx, ctx.frame, "operation_map", operation_map, agent)
    if df is None:
        return
    if df.empty:
        st.info(ctx.t("no_results"))
        return
    df = ctx.hide(df, {"person_id": "name", "best_introducer": "best_introducer_name"})
    # operation_map's rows are already by (distance, id): the first ``limit`` are the nearest
    # (a sort of everyone within reach cost 0.3 s at 10^6 clients)
    shown = df.head(limit).reset_index(drop=True)
    left, right = st.columns([3, 2])
    with left:
        st.iframe(map_html(ctx, agent, ag.name(agent), shown, by), height=640)
        st.markdown(legend_html(ctx, by), unsafe_allow_html=True)
    with right:
        # the grid holds the people drawn (the browser slows down on 10^4 rows); the CSV
        # holds everyone within reach, worded when the button is clicked
        st.dataframe(readable(ctx, df.head(limit)), hide_index=True, height=560,
                     key="opmap_table")
        st.caption(ctx.t("rows_shown", n=min(limit, len(df)), total=len(df)))
        name = f"operation-map-{agent}.csv"
        ctx.download(ctx.t("download_file", file=name), lambda: readable(ctx, df), name,
                     key="opmap_csv", rows=len(df))
    # labels made now, in the signed-in session (a format function called later, outside the
    # script run, would not know the user and mask every name)
    labels = {"": "", **{p: person_label(ag, p) for p in shown["person_id"]}}
    person = st.selectbox(ctx.t("open_person"), list(labels), key="opmap_person",
                          format_func=labels.__getitem__)
    if person:
        ctx.audit("view", person, "operation map")
        st.subheader(ctx.t("person_detail"))
        pos = int((df["person_id"].to_numpy() == person).nonzero()[0][0])
        row = readable(ctx, df.iloc[[pos]]).iloc[0]
        st.table(pd.DataFrame({"": list(row.index), " ": [md(v) for v in row]}))
        contact_details(ctx, person)
        if df["status"].to_numpy()[pos] in ("client", "prospect"):
            visit_form(ctx, agent, person)


def visit_form(ctx: Ctx, agent: str, client: str) -> None:
    """The same record as ``graphcrm visits log``: checked, stored once, one-line errors."""
    st.markdown(f"**{ctx.t('log_visit')}**")
    with st.form(key="visit_form"):
        c1, c2, c3 = st.columns(3)
        typ = c1.selectbox(ctx.t("visit_type"), [t.value for t in InteractionType],
                           key="visit_type")
        outcome = c2.selectbox(ctx.t("outcome"), list(ctx.settings.visits.outcomes),
                               key="visit_outcome")
        day = c3.date_input(ctx.t("visit_date"), date.today(), key="visit_date")
        rating = st.text_input(ctx.t("rating"), key="visit_rating")
        note = st.text_input(ctx.t("note"), key="visit_note")
        if not st.form_submit_button(ctx.t("save")):
            return
    with open_store(ctx.location, create=False, settings=ctx.settings) as s:
        try:
            row = vis.visit_record(s, ctx.settings, agent_id=agent, client_id=client,
                                   type_=typ, outcome=outcome, day=day,
                                   rating=rating or None, note=note or None)
        except vis.VisitRecordError as exc:
            st.warning(ctx.t("not_written", error=exc))
            return
        written = vis.record_visit(s, row)
    st.success(ctx.t("saved") if written else ctx.t("already_saved"))
