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
from graphcrm.errors import UnknownIdError
from graphcrm.metrics.influence import agent_influence, bridges, hubs
from graphcrm.metrics.opmap import operation_map
from graphcrm.metrics.paths import path_to_dict, warm_paths
from graphcrm.workspace import load_graph


def _load(store: str | None, config_path: str | None) -> Any:
    settings = settings_from(config_path)
    with open_existing_store(store, settings) as s:
        return load_graph(s, settings)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in df.to_dict(orient="records"):
        out.append({k: (None if isinstance(v, float) and math.isnan(v) else v)
                    for k, v in row.items()})
    return out


@click.command("paths")
@click.option("--from", "source", required=True, metavar="AGENT", help="Agent (or person) id.")
@click.option("--to", "target", required=True, metavar="PERSON", help="Prospect / client id.")
@click.option("--k", "k", type=int, default=None, help="How many paths (default 3).")
@click.option("--max-hops", type=int, default=None, help="Longest path in ties (default 4).")
@store_option
@config_option
@json_option
def paths_command(source: str, target: str, k: int | None, max_hops: int | None,
                  store: str | None, config_path: str | None, as_json: bool) -> None:
    """Warm referral paths from an agent to a person (找到转介绍路径).

    The best path through each different first introducer, warmest first, each hop explained.

    \b
    --json keys: from, to, max_hops, paths: list of {distance, warmth, hops,
    first_introducer, steps: list of {person_id, name, label, tie_type, tie_kind, strength,
    last_contact, serving_agent}}. An empty list means no warm path within max_hops.
    """
    ag = _load(store, config_path)
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
    head = f"{ag.name(source)} ({source}) -> {ag.name(target)} ({target})"
    if not found:
        echo(f"{head}: no warm path within {hops} hops / {hops} 跳内没有转介绍路径")
        return
    echo(head)
    for i, p in enumerate(found, 1):
        echo(f"  {i}. warmth {p.warmth:.3f}  distance {p.distance:.3f}  "
                   f"{len(p.hops)} hops")
        for h in p.hops:
            kind = f":{h.tie_kind}" if h.tie_kind else ""
            extra = f"  last contact {h.last_contact}" if h.last_contact else ""
            serve = f"  served by {h.serving_agent}" if h.serving_agent else ""
            echo(f"     -[{h.tie_type}{kind} {h.strength:.2f}]-> {h.name} "
                       f"({h.person_id}){extra}{serve}")


@click.command("map")
@click.option("--agent", "agent_id", required=True, metavar="AGENT", help="Agent id.")
@click.option("--limit", type=int, default=30, help="Rows shown in the table (not --json).")
@store_option
@config_option
@json_option
def map_command(agent_id: str, limit: int, store: str | None, config_path: str | None,
                as_json: bool) -> None:
    """The agent's operation map (作战地图): everyone within reach, warmest first.

    \b
    --json keys: agent, rows: list of {person_id, name, status, distance, warmth, hops,
    influence, power_circle, trust_level, trust_evidence, quadrant, value_tier, abc,
    best_introducer, best_introducer_name, tie_type}.
    """
    ag = _load(store, config_path)
    try:
        df = operation_map(ag, agent_id)
    except UnknownIdError as exc:
        fail(str(exc))
        return
    if as_json:
        echo_json({"agent": agent_id, "rows": _records(df)})
        return
    echo(f"{ag.name(agent_id)} ({agent_id}): {len(df):,} people within reach")
    cols = ["person_id", "name", "status", "warmth", "hops", "trust_level", "quadrant",
            "value_tier", "abc", "best_introducer_name"]
    echo(df[cols].head(limit).to_string(index=False))


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
def hubs_command(top: int | None, team: str | None, with_bridges: bool, with_agents: bool,
                 store: str | None, config_path: str | None, as_json: bool) -> None:
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
    ag = _load(store, config_path)
    if team is not None and team not in set(ag.agents["team"].dropna()):
        fail(f"unknown team '{team}' (no agent in agents.team has it)")
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
    cols = ["id", "name", "status", "influence", "pagerank", "power_circle",
            "referral_descendants", "circle", "serving_agent"]
    echo(df[cols].to_string(index=False))
    if br is not None:
        echo(f"\nbridges (betweenness over {br.attrs['sample_size']} sources):")
        echo(br.to_string(index=False))
    if ai is not None:
        echo("\nagents' own influence / 业务员影响力:")
        echo(ai.to_string(index=False))


COMMANDS: list[click.Command] = [paths_command, map_command, hubs_command]
