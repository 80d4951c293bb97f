"""``graphcrm find``, ``graphcrm agents``, ``graphcrm teams``: find people and teams by what
the user knows (a name, part of it, the last digits of a phone, an id), and the shared
``--lang`` option and name resolution the other commands use."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
import pandas as pd

from graphcrm.cli.common import (
    EXIT_ERROR,
    config_option,
    echo,
    echo_json,
    fail,
    json_option,
    open_existing_store,
    settings_from,
    store_option,
)
from graphcrm.i18n import LANGUAGES, code, language_from_locale, t
from graphcrm.metrics.lookup import (
    AmbiguousNameError,
    NoMatchError,
    agents_table,
    find_people,
    resolve_person,
    teams_table,
)
from graphcrm.wording import blank
from graphcrm.workspace import load_graph

F = TypeVar("F", bound=Callable[..., Any])

#: candidates listed when a name fits several people
CANDIDATES_SHOWN = 20


def lang_option(func: F) -> F:
    """``--lang zh|en``: the language of the human output (default: from the locale)."""
    return click.option(
        "--lang", "lang", type=click.Choice(list(LANGUAGES)), default=None,
        help="Language of the table and messages (zh / en; default from $GRAPHCRM_LANG or the "
             "locale). --json keys stay English.",
    )(func)


def lang_of(lang: str | None) -> str:
    return lang or language_from_locale()


def load_graph_for(store: str | None, config_path: str | None) -> Any:
    """The analysis graph of a store with data (stops with a one-line error otherwise)."""
    settings = settings_from(config_path)
    with open_existing_store(store, settings, require_data=True) as s:
        return load_graph(s, settings)


#: human headers of the people table (column -> i18n key)
_PEOPLE_HEADERS = {"id": "col_id", "label": "col_kind", "name": "col_name", "city": "col_city",
                   "age": "col_age", "serving_agent_name": "col_serving_agent",
                   "status": "col_status", "phone_tail": "col_phone_tail"}


def people_text(df: pd.DataFrame, lang: str) -> str:
    """A people table (:func:`graphcrm.metrics.lookup.find_people`) for reading: words for the
    codes, the serving agent's name and id together, — for what is missing."""
    out = pd.DataFrame({
        "id": df["id"], "label": [code("label", v, lang) for v in df["label"]],
        "name": df["name"].map(blank), "city": df["city"].map(blank),
        "age": [blank(v) for v in df["age"]],
        "serving_agent_name": [
            "—" if blank(a) == "—" else f"{blank(n)} ({a})"
            for a, n in zip(df["serving_agent"], df["serving_agent_name"], strict=True)],
        "status": [code("status", v, lang) for v in df["status"]],
        "phone_tail": ["—" if blank(p) == "—" else f"…{p}" for p in df["phone_tail"]],
    })
    out.columns = [t(_PEOPLE_HEADERS[c], lang) for c in out.columns]
    return out.to_string(index=False)


def resolve_or_fail(ag: Any, text: str, *, label: str | None, what: str, lang: str) -> str:
    """The id ``text`` names (an id, or a name only one person has); otherwise stop: list the
    candidates of an ambiguous name, or the closest names of an unknown one."""
    try:
        return resolve_person(ag, text, label=label, what=what)
    except AmbiguousNameError as exc:
        n = len(exc.candidates)
        echo(f"error: {t('ambiguous_name', lang, text=text, n=n)}", err=True)
        echo(people_text(exc.candidates.head(CANDIDATES_SHOWN), lang), err=True)
        if n > CANDIDATES_SHOWN:
            echo(t("more_rows", lang, n=n - CANDIDATES_SHOWN), err=True)
        sys.exit(EXIT_ERROR)
    except NoMatchError as exc:
        fail(t("no_such_person", lang, what=t(f"what_{what}", lang), text=text)
             + (t("closest", lang, names=", ".join(exc.suggestions)) if exc.suggestions
                else ""))
    raise AssertionError("unreachable")


def positive(name: str, value: int | None, *, minimum: int = 1) -> None:
    """A one-line error for a count flag below its minimum (``--top -5``)."""
    if value is not None and value < minimum:
        fail(f"{name} must be {minimum} or more, not {value}")


@click.command("find")
@click.argument("text")
@click.option("--agents", "only_agents", is_flag=True, help="Only agents.")
@click.option("--clients", "only_clients", is_flag=True, help="Only clients and prospects.")
@click.option("--limit", type=int, default=50, show_default=True, help="Rows shown at most.")
@store_option
@config_option
@json_option
@lang_option
def find_command(text: str, only_agents: bool, only_clients: bool, limit: int,
                 store: str | None, config_path: str | None, as_json: bool,
                 lang: str | None) -> None:
    """Find people by name, part of a name, the last digits of a phone, or id (查找客户/业务员).

    Namesakes are told apart by city, age, serving agent and status.

    \b
    --json keys: text, count, people: list of {id, label, name, city, age, serving_agent,
    serving_agent_name, status, phone_tail}.
    """
    positive("--limit", limit)
    lng = lang_of(lang)
    label = "Agent" if only_agents and not only_clients else (
        "Client" if only_clients and not only_agents else None)
    ag = load_graph_for(store, config_path)
    found = find_people(ag, text, label=label, limit=None)
    if as_json:
        rows = found.head(limit).astype(object).where(found.head(limit).notna(), None)
        echo_json({"text": text, "count": len(found), "people": rows.to_dict("records")})
        return
    if found.empty:
        fail(t("no_match", lng, text=text))
    echo(t("found_n", lng, n=len(found), text=text))
    echo(people_text(found.head(limit), lng))
    if len(found) > limit:
        echo(t("more_rows", lng, n=len(found) - limit))


@click.command("agents")
@click.option("--team", default=None, help="Only this team's agents (agents.team).")
@store_option
@config_option
@json_option
@lang_option
def agents_command(team: str | None, store: str | None, config_path: str | None,
                   as_json: bool, lang: str | None) -> None:
    """Agents with team, branch, status and book size (业务员列表).

    \b
    --json keys: team, agents: list of {agent_id, name, team, branch, region, status,
    clients, prospects}.
    """
    lng = lang_of(lang)
    ag = load_graph_for(store, config_path)
    try:
        df = agents_table(ag, team=team)
    except NoMatchError as exc:
        fail(t("no_such_team", lng, text=team)
             + (t("closest", lng, names=", ".join(exc.suggestions)) if exc.suggestions else ""))
        return
    if as_json:
        echo_json({"team": team, "agents": df.astype(object).where(df.notna(), None)
                   .to_dict("records")})
        return
    out = df.assign(status=[code("status", v, lng) for v in df["status"]])
    out = out.map(blank)
    out.columns = [t(f"col_{c}", lng) for c in out.columns]
    echo(out.to_string(index=False))


@click.command("teams")
@store_option
@config_option
@json_option
@lang_option
def teams_command(store: str | None, config_path: str | None, as_json: bool,
                  lang: str | None) -> None:
    """Teams with their branch, region, agents and the people they serve (团队列表).

    \b
    --json keys: teams: list of {team, branch, region, agents, clients, prospects}.
    """
    lng = lang_of(lang)
    df = teams_table(load_graph_for(store, config_path))
    if as_json:
        echo_json({"teams": df.astype(object).where(df.notna(), None).to_dict("records")})
        return
    out = df.map(blank)
    out.columns = [t(f"col_{c}", lng) for c in out.columns]
    echo(out.to_string(index=False))


COMMANDS: list[click.Command] = [find_command, agents_command, teams_command]
BENCH_COMMANDS: list[click.Command] = []
