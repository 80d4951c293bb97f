"""Page 3: the client penetration network (客户渗透网) of a client, family or organization."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from graphcrm.app.common import Ctx, md, person_label, safe
from graphcrm.app.viz import (
    EDGE_COLOURS,
    NODE_COLOURS,
    EdgeSpec,
    NodeSpec,
    colour_for,
    network_html,
)
from graphcrm.metrics.penetration import penetration_network

TIE_TYPES = ["RELATIVE_OF", "FRIEND_OF", "COLLEAGUE_OF", "WORKS_AT", "BUSINESS_TIE", "REFERRED",
             "SERVES"]


def network_page_html(ctx: Ctx, ag: Any, net: Any, centres: list[str]) -> str:
    nodes = []
    for r in net.nodes.itertuples():
        kind = "organization" if r.label == "Organization" else (
            "agent" if r.label == "Agent" else (r.status or "prospect"))
        colour = NODE_COLOURS["center"] if r.id in centres else colour_for(kind, NODE_COLOURS)
        agent = r.serving_agent if isinstance(r.serving_agent, str) else ""
        agent_txt = f"\n{ctx.t('agent')}: {person_label(ag, agent)}" if agent else ""
        kind_txt = ctx.t(kind if kind in ("client", "prospect", "agent", "organization")
                         else "client")
        title = f"{r.name} ({r.id})\n{kind_txt}\n{ctx.t('hops')}: {r.hop}{agent_txt}"
        shape = "square" if kind == "organization" else ("star" if kind == "agent" else "dot")
        border = "diamond" if kind == "prospect" else shape
        nodes.append(NodeSpec(str(r.id), str(r.name), title, colour,
                              22.0 if r.id in centres else 12.0, border))
    edges = [EdgeSpec(str(e.src), str(e.dst), colour_for(e.type, EDGE_COLOURS),
                      f"{ctx.t(e.type) if e.type in EDGE_COLOURS else e.type}"
                      f"{'/' + e.kind if isinstance(e.kind, str) and e.kind else ''}",
                      1.0 + 3.0 * float(e.strength or 0.0), arrows=e.type == "REFERRED")
             for e in net.edges.itertuples()]
    return network_html(nodes, edges, height=640, physics=True)


def legend(ctx: Ctx) -> str:
    node_items = [(ctx.t("client"), NODE_COLOURS["client"], "●"),
                  (ctx.t("prospect"), NODE_COLOURS["prospect"], "◆"),
                  (ctx.t("organization"), NODE_COLOURS["organization"], "■"),
                  (ctx.t("agent"), NODE_COLOURS["agent"], "★")]
    parts = [f"<span style='color:{c}'>{s}</span> {n}" for n, c, s in node_items]
    parts += [f"<span style='color:{c}'>━</span> {ctx.t(t)}" for t, c in EDGE_COLOURS.items()]
    return " &nbsp; ".join(parts)


def render(ctx: Ctx) -> None:
    st.header(ctx.t("page_penetration"))
    ag = ctx.graph()
    kinds = ["client", "family", "organization"]
    kind = st.radio(ctx.t("centre_kind"), kinds, key="pen_kind", horizontal=True,
                    format_func=ctx.t)
    pool = ag.organizations.index if kind == "organization" else ag.clients.index
    default = ctx.frame("pen_default", _busiest, kind)
    options = list(default) + [i for i in pool[:2000] if i not in set(default)]
    options = [i for i in options if ctx.sees(i)]  # centres in the user's scope only
    c1, c2, c3 = st.columns([2, 1, 2])
    centre = c1.selectbox(ctx.t("centre_pick"), options, key="pen_centre",
                          format_func=lambda i: person_label(ag, i))
    hops = int(c2.radio(ctx.t("hops"), [1, 2], index=1, key="pen_hops", horizontal=True))
    types = c3.multiselect(ctx.t("tie_types"), TIE_TYPES, default=TIE_TYPES[:6],
                           key="pen_types", format_func=ctx.t)
    if not types:
        st.info(ctx.t("no_results"))
        return
    centres = [centre]
    if kind == "family":
        fam = ag.relationships
        fam = fam.loc[(fam["type"] == "RELATIVE_OF")
                      & ((fam["src_id"] == centre) | (fam["dst_id"] == centre))]
        centres += sorted(set(fam["src_id"]) | set(fam["dst_id"]) - {centre})
        st.caption(ctx.t("family_of", name=md(person_label(ag, centre))) + ": "
                   + ", ".join(md(ctx.name(c)) for c in centres))
    cap = ctx.settings.app.max_network_nodes
    net = safe(ctx, penetration_network, ag, centres, hops=hops, types=types, max_nodes=cap)
    if net is None:
        return
    net.nodes = ctx.hide(net.nodes, {"id": "name"})  # colleagues' clients: no name
    if net.capped:
        st.warning(ctx.t("capped", cap=cap))
    st.caption(ctx.t("network_counts", nodes=len(net.nodes), edges=len(net.edges)))
    st.markdown(f"**{ctx.t('legend')}**: " + legend(ctx), unsafe_allow_html=True)
    st.iframe(network_page_html(ctx, ag, net, centres), height=660)


def _busiest(ag: Any, kind: str) -> list[str]:
    """Centres with the most ties first, so the default view is a rich one."""
    deg = pd.Series(dict(ag.G.degree()))
    if kind == "organization":
        deg = deg.reindex(ag.organizations.index).dropna()
    else:
        deg = deg.reindex(ag.clients.index).dropna()
    return list(deg.sort_values(ascending=False, kind="stable").index[:50])
