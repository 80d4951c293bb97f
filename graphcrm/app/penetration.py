"""Page 3: the client penetration network (客户渗透网) of a client, family or organization."""

from __future__ import annotations

from typing import Any

import streamlit as st

from graphcrm.app.common import Ctx, md, person_label, person_labels, safe
from graphcrm.app.viz import (
    EDGE_COLOURS,
    NODE_COLOURS,
    EdgeSpec,
    NodeSpec,
    colour_for,
    network_html,
)
from graphcrm.i18n import code
from graphcrm.metrics.narrate import penetration_summary, step_sentence
from graphcrm.metrics.penetration import busiest_centres, penetration_network
from graphcrm.wording import pct

TIE_TYPES = ["RELATIVE_OF", "FRIEND_OF", "COLLEAGUE_OF", "WORKS_AT", "BUSINESS_TIE", "REFERRED",
             "SERVES"]


def network_page_html(ctx: Ctx, ag: Any, net: Any, centres: list[str]) -> str:

    nodes = []
    for r in net.nodes.itertuples():
        kind = "organization" if r.label == "Organization" else (
            "agent" if r.label == "Agent" else (r.status or "prospect"))
        colour = NODE_COLOURS["center"] if r.id in centres else colour_for(kind, NODE_COLOURS)
        agent = r.serving_agent if isinstance(r.serving_agent, str) else ""
        agent_txt = f"\n{ctx.t('col_serving_agent')}: {person_label(ag, agent)}" if agent else ""
        kind_txt = (code("status", kind, ctx.lang) if kind in ("client", "prospect")
                    else ctx.t(kind))
        title = f"{r.name} ({r.id})\n{kind_txt}\n{ctx.t('hops')}: {r.hop}{agent_txt}"
        shape = "square" if kind == "organization" else ("star" if kind == "agent" else "dot")
        border = "diamond" if kind == "prospect" else shape
        nodes.append(NodeSpec(str(r.id), str(r.name), title, colour,
                              22.0 if r.id in centres else 12.0, border))
    edges = [EdgeSpec(str(e.src), str(e.dst), colour_for(e.type, EDGE_COLOURS),
                      step_sentence(ag, str(e.dst), str(e.src), str(e.type), e.kind, ctx.lang)
                      + f"\n{ctx.t('strength')}: {float(e.strength or 0.0):.2f}",
                      1.0 + 3.0 * float(e.strength or 0.0), arrows=e.type == "REFERRED")
             for e in net.edges.itertuples()]
    return network_html(nodes, edges, height=640, physics=True, fit=True)


def legend(ctx: Ctx) -> str:
    node_items = [(code("status", "client", ctx.lang), NODE_COLOURS["client"], "●"),
                  (code("status", "prospect", ctx.lang), NODE_COLOURS["prospect"], "◆"),
                  (code("label", "Organization", ctx.lang), NODE_COLOURS["organization"], "■"),
                  (code("label", "Agent", ctx.lang), NODE_COLOURS["agent"], "★"),
                  (ctx.t("centre_kind"), NODE_COLOURS["center"], "●")]
    parts = [f"<span style='color:{c}'>{s}</span> {n}" for n, c, s in node_items]
    parts += [f"<span style='color:{c}'>━</span> {code('tie', t, ctx.lang)}"
              for t, c in EDGE_COLOURS.items()]
    return " &nbsp; ".join(parts) + f" &nbsp; ({ctx.t('width_strength')})"


def summary_md(ctx: Ctx, ag: Any, net: Any, centres: list[str]) -> str:
    """The penetration summary: how many of the circle are our clients, with which agents,
    and who is not yet."""

    s = penetration_summary(ag, net, centres)
    if not s.people:
        return ctx.t("pen_nobody")
    sep = "、" if ctx.lang == "zh" else ", "
    agents = sep.join(f"{md(person_label(ag, a))} {n}" for a, n in s.by_agent[:5]) or "—"
    not_yet = sep.join(md(ag.name(i)) for i in s.not_yet[:8]) or "—"
    more = ctx.t("and_n_more", n=len(s.not_yet) - 8) if len(s.not_yet) > 8 else ""
    return "\n".join([
        ctx.t("pen_summary", people=s.people, ours=s.ours, share=pct(s.share)),
        f"- {ctx.t('pen_agents')}: {agents}",
        f"- {ctx.t('pen_not_yet', n=len(s.not_yet))}: {not_yet}{more}",
    ])


def render(ctx: Ctx) -> None:
    st.header(ctx.t("page_penetration"))
    ag = ctx.graph()
    kinds = ["client", "family", "organization"]
    kind = st.radio(ctx.t("centre_kind"), kinds, key="pen_kind", horizontal=True,
                    format_func=ctx.t)
    pool = ag.organizations.index if kind == "organization" else ag.clients.index
    default = ctx.frame("pen_default", busiest_centres, kind)
    options = list(default) + [i for i in pool[:2000] if i not in set(default)]
    options = ctx.visible(options)  # centres in the user's scope only
    c1, c2, c3 = st.columns([2, 1, 2])
    centre_labels = person_labels(ag, options)
    centre = c1.selectbox(ctx.t("centre_pick"), options, key="pen_centre",
                          format_func=centre_labels.__getitem__)
    hops = int(c2.radio(ctx.t("hops"), [1, 2], index=1, key="pen_hops", horizontal=True))
    types = c3.multiselect(ctx.t("tie_types"), TIE_TYPES, default=TIE_TYPES[:6],
                           key="pen_types", format_func=lambda v: code("tie", v, ctx.lang),
                           placeholder=ctx.t("choose"))
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
    first = min(ctx.settings.app.network_first_nodes, cap)
    view = (centre, kind, hops, tuple(types))
    if st.session_state.get("pen_view") != view:  # a new view starts small again
        st.session_state["pen_view"] = view
        st.session_state["pen_shown"] = first
    shown = int(st.session_state.get("pen_shown", first))
    whole = safe(ctx, penetration_network, ag, centres, hops=hops, types=types, max_nodes=cap)
    net = safe(ctx, penetration_network, ag, centres, hops=hops, types=types, max_nodes=shown)
    if net is None or whole is None:
        return
    net.nodes = ctx.hide(net.nodes, {"id": "name"})  # colleagues' clients: no name
    whole.nodes = ctx.hide(whole.nodes, {"id": "name"})
    st.markdown(summary_md(ctx, ag, whole, centres))
    if whole.capped:
        st.caption(ctx.t("capped", cap=cap))
    st.caption(ctx.t("network_counts_of", nodes=len(net.nodes), edges=len(net.edges),
                     total=len(whole.nodes)))
    if len(net.nodes) < len(whole.nodes) and st.button(ctx.t("show_more"), key="pen_more"):
        st.session_state["pen_shown"] = shown + first
        st.rerun()
    st.markdown(f"**{ctx.t('legend')}**: " + legend(ctx), unsafe_allow_html=True)
    st.iframe(network_page_html(ctx, ag, net, centres), height=660)

