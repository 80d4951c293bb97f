"""``graphcrm paths``, ``graphcrm map`` and ``graphcrm hubs``: agents' and managers' questions."""

from __future__ import annotations

import math
from typing import Any

import click
import pandas as pd

from graphcrm.cli.common import (
    config_option,
    echo,
    echo_json,
    fail,
    json_option,
    open_existing_store,
    settings_from,
    store_option,
)
from graphcrm.cli.people import lang_of, lang_option, positive, resolve_or_fail
from graphcrm.errors import UnknownIdError
from graphcrm.i18n import code, t
from graphcrm.metrics.influence import agent_influence, bridges, hubs
from graphcrm.metrics.lookup import closest_names
from graphcrm.metrics.narrate import bridges_table, hubs_table, opmap_table, tell_path
from graphcrm.metrics.opmap import operation_map
from graphcrm.metrics.paths import path_to_dict, warm_paths
from graphcrm.wording import table_text
from graphcrm.workspace import load_graph, save_new_metrics


def _load(store: str | None, config_path: str | None) -> Any:
    settings = settings_from(config_path)
    with open_existing_store(store, settings, require_data=True) as s:
        ag = load_graph(s, settings)
    # whole-graph tables this command computes (first use after `ingest --no-warm`) go into
    # the snapshot when it ends, so the next command reads them
    click.get_current_context().call_on_close(lambda: save_new_metrics(ag))
    return ag


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in df.to_dict(orient="records"):
        out.append({k: (None if isinstance(v, float) and math.isnan(v) else v)
                    for k, v in row.items()})
    return out


@click.command("paths")
@click.option("--from", "source", required=True, metavar="AGENT",
              help="Agent (or person): an id, or a name only one person has.")
@click.option("--to", "target", required=True, metavar="PERSON",
              help="Prospect / client: an id, or a name only one person has (graphcrm find "
                   "lists namesakes).")
@click.option("--k", "k", type=int, default=None, help="How many paths (default 3).")
@click.option("--max-hops", type=int, default=None, help="Longest path in ties (default 4).")
@store_option
@config_option
@json_option
@lang_option
def paths_command(source: str, target: str, k: int | None, max_hops: int | None,
                  store: str | None, config_path: str | None, as_json: bool,
                  lang: str | None) -> None:
    """Warm referral paths from an agent to a person (找到转介绍路径).

    The best path through each different first introducer, warmest first, each hop explained.

    \b
    --json keys: from, to, max_hops, paths: list of {distance, warmth, hops,
    first_introducer, steps: list of {person_id, name, label, tie_type, tie_kind, strength,
    last_contact, serving_agent}}. An empty list means no warm path within max_hops.
    """
    positive("--k", k)
    positive("--max-hops", max_hops)
    lng = lang_of(lang)
    ag = _load(store, config_path)
    source = resolve_or_fail(ag, source, label=None, what="person", lang=lng)
    target = resolve_or_fail(ag, target, label=None, what="person", lang=lng)
    hops = ag.settings.metrics.max_hops if max_hops is None else max_hops
    try:
        found = warm_paths(ag, source, target, k=k, max_hops=hops)
    except UnknownIdError as exc:
        fail(str(exc))
        return
    if as_json:
        echo_json({"from": source, "to": target, "max_hops": hops,
                   "paths": [path_to_dict(p) for p in found]})
        return
    head = f"{ag.name(source)} ({source}) → {ag.name(target)} ({target})"
    if not found:
        echo(f"{head}: {t('no_path_plain', lng, hops=hops)}")
        return
    echo(head)
    for i, p in enumerate(found, 1):
        story = tell_path(ag, source, p, lng)
        echo(f"  {t('path_n', lng, n=i)}: "
                   + t("warmth", lng, level=code("warmth", story.level, lng), w=p.warmth,
                       d=p.distance) + f" · {t('n_ties', lng, n=len(p.hops))}")
        for h, sentence in zip(p.hops, story.steps, strict=True):
            extra = f"  ({t('last_contact', lng)} {h.last_contact})" if h.last_contact else ""
            echo(f"     → {sentence} [{h.person_id}]{extra}")
        echo(f"     {story.opener}")


@click.command("map")
@click.option("--agent", "agent_id", required=True, metavar="AGENT",
              help="Agent: an id, or a name only one agent has.")
@click.option("--limit", type=int, default=30, help="Rows shown in the table (not --json).")
@store_option
@config_option
@json_option
@lang_option
def map_command(agent_id: str, limit: int, store: str | None, config_path: str | None,
                as_json: bool, lang: str | None) -> None:
    """The agent's operation map (作战地图): everyone within reach, warmest first.

    \b
    --json keys: agent, rows: list of {person_id, name, status, distance, warmth, hops,
    influence, power_circle, trust_level, trust_evidence, quadrant, value_tier, abc,
    best_introducer, best_introducer_name, tie_type, stage (hunt / farm / harvest / chain),
    stage_evidence}.
    """
    positive("--limit", limit)
    lng = lang_of(lang)
    ag = _load(store, config_path)
    agent_id = resolve_or_fail(ag, agent_id, label="Agent", what="agent", lang=lng)
    try:
        df = operation_map(ag, agent_id)
    except UnknownIdError as exc:
        fail(str(exc))
        return
    if as_json:
        echo_json({"agent": agent_id, "rows": _records(df)})
        return
    echo(t("map_head", lng, name=ag.name(agent_id), id=agent_id, n=f"{len(df):,}"))
    echo(table_text(opmap_table(df.head(limit), ag.settings, lng)))
    echo(t("map_legend", lng, hot=ag.settings.metrics.warmth_hot,
                 warm=ag.settings.metrics.warmth_warm))


@click.command("hubs")
@click.option("--top", type=int, default=None, help="How many (default 20).")
@click.option("--team", default=None, help="Only people served by this team's agents.")
@click.option("--bridges", "with_bridges", is_flag=True,
              help="Also list bridges (betweenness; sampled on large graphs).")
@click.option("--agents", "with_agents", is_flag=True,
              help="Also list the agents' own influence (for managers; never mixed with the "
                   "clients').")
@store_option
@config_option
@json_option
@lang_option
def hubs_command(top: int | None, team: str | None, with_bridges: bool, with_agents: bool,
                 store: str | None, config_path: str | None, as_json: bool,
                 lang: str | None) -> None:
    """Influence hubs (动力圈中心): the most influential clients and prospects.

    \b
    --json keys: team, hubs: list of {id, name, label, pagerank, power_circle,
    referral_descendants, referral_premium, influence, circle, status, serving_agent};
    with --bridges also bridges: list of {id, name, label, betweenness} and
    bridges_sample_size; with --agents also agents: list of {id, name, team, status, clients,
    book_influence, book_referral_premium, pagerank, influence}.

    A client's influence is the client's own (relatives, colleagues, friends, business ties,
    referrals); agents and their SERVES ties are not part of it.
    """
    positive("--top", top)
    lng = lang_of(lang)
    ag = _load(store, config_path)
    teams = sorted(set(ag.agents["team"].dropna().astype(str)))
    if team is not None and team not in teams:
        near = closest_names(team, teams)
        fail(t("no_such_team", lng, text=team)
             + (t("closest", lng, names=", ".join(near)) if near else ""))
    df = hubs(ag, top=top, team=team)
    out: dict[str, Any] = {"team": team, "hubs": _records(df)}
    br = None
    if with_bridges:
        br = bridges(ag, top=top)
        out["bridges"] = _records(br)
        out["bridges_sample_size"] = br.attrs["sample_size"]
    ai = None
    if with_agents:
        ai = agent_influence(ag)
        if team is not None:
            ai = ai.loc[ai["team"] == team]
        ai = ai.head(ag.settings.metrics.hubs_top if top is None else top)
        out["agents"] = _records(ai)
    if as_json:
        echo_json(out)
        return
    echo(table_text(hubs_table(ag, df, lng)))
    if br is not None:
        echo("\n" + t("bridges_head", lng, n=br.attrs["sample_size"]))
        echo(table_text(bridges_table(br, lng)))
    if ai is not None:
        echo("\n" + t("agent_influence", lng) + ":")
        echo(table_text(ai))


COMMANDS: list[click.Command] = [paths_command, map_command, hubs_command]
