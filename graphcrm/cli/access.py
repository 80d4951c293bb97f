"""``graphcrm users ...`` and ``graphcrm audit`` (registered by :mod:`graphcrm.cli`)."""

from __future__ import annotations

import getpass
import os
import secrets
import sys
from datetime import datetime
from pathlib import Path

import click
import pandas as pd

from graphcrm.cli.common import (
    config_option,
    echo,
    echo_json,
    fail,
    json_option,
    settings_from,
    store_option,
)
from graphcrm.config import store_location
from graphcrm.model import Label
from graphcrm.store.access import ROLES, AccessStore
from graphcrm.store.base import StoreError
from graphcrm.workspace import open_access_store, open_store, snapshot_path, warm_graph

__all__ = ["COMMANDS", "cli_user", "open_access_cli"]


def cli_user() -> str:
    """Who ran a command, for the audit trail (``cli:<login name>``)."""
    try:
        login = getpass.getuser()
    except Exception:
        login = str(os.getuid()) if hasattr(os, "getuid") else "?"
    return f"cli:{login}"


def open_access_cli(store: str | None, config_path: str | None) -> AccessStore:
    settings = settings_from(config_path)
    try:
        return open_access_store(store_location(store), settings)
    except StoreError as exc:
        fail(str(exc))
        raise


def new_password() -> str:
    """A random password for a new user (16 URL-safe characters, ~96 bits)."""
    return secrets.token_urlsafe(12)


def _password(password_stdin: bool, generate: bool) -> tuple[str, bool]:
    if generate:
        return new_password(), True
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return click.prompt("password", hide_input=True, confirmation_prompt=True), False


def _check_agent(store: str | None, agent_id: str) -> None:
    loc = store_location(store)
    try:
        with open_store(loc, create=False) as s:
            ids = set(s.nodes(Label.AGENT, ["agent_id"])["agent_id"].astype(str))
    except StoreError:
        return  # no data yet: the agent id is checked when the store has agents
    if agent_id not in ids:
        fail(f"unknown agent id '{agent_id}': no such agent in {loc}")


PASSWORD_OPTIONS = [
    click.option("--password-stdin", is_flag=True,
                 help="Read the password from the first line of stdin (never on the command "
                 "line)."),
    click.option("--generate", is_flag=True,
                 help="Make a random password and print it once."),
]


def _password_options(func: object) -> object:
    for option in reversed(PASSWORD_OPTIONS):
        func = option(func)  # type: ignore[operator]
    return func


@click.group("users")
def users() -> None:
    """App users: who may sign in, with which role (agent, manager, admin).

    \b
    Roles: agent (linked to an agent id: its own book and warm paths), manager (one or more
    teams or branches), admin (everything, the Data page). Passwords are stored as argon2id
    hashes only. Users live in the store file (Neo4j: [access] side_file).
    """


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--agent", "agent_id", default=None, metavar="AGENT_ID",
              help="The agent an agent user signs in as.")
@click.option("--team", "teams", multiple=True, help="A team a manager manages (repeatable).")
@click.option("--branch", "branches", multiple=True,
              help="A branch a manager manages (repeatable).")
@_password_options  # type: ignore[arg-type]
@store_option
@config_option
@json_option
def users_add(name: str, role: str, agent_id: str | None, teams: tuple[str, ...],
              branches: tuple[str, ...], password_stdin: bool, generate: bool,
              store: str | None, config_path: str | None, as_json: bool) -> None:
    """Add a user.

    \b
    Examples:
      graphcrm users add wang --role agent --agent A000123 --generate
      graphcrm users add li --role manager --team 华中一部 --team 华中二部
      echo "$PW" | graphcrm users add root --role admin --password-stdin
    """
    if role == "agent" and agent_id:
        _check_agent(store, agent_id)
    password, shown = _password(password_stdin, generate)
    with open_access_cli(store, config_path) as acc:
        try:
            user = acc.add_user(name, password, role, agent_id=agent_id, teams=teams,
                                branches=branches, by=cli_user())
        except ValueError as exc:
            fail(str(exc))
            return
    if as_json:
        echo_json({**user.as_dict(), **({"password": password} if shown else {})})
        return
    line = f"user: {user.name}  role: {user.role}"
    if shown:
        line = f"user: {user.name}  password: {password}  role: {user.role}"
    echo(line)


@users.command("set-password")
@click.argument("name")
@_password_options  # type: ignore[arg-type]
@store_option
@config_option
def users_set_password(name: str, password_stdin: bool, generate: bool, store: str | None,
                       config_path: str | None) -> None:
    """Set a user's password (also lifts a sign-in throttle)."""
    password, shown = _password(password_stdin, generate)
    with open_access_cli(store, config_path) as acc:
        try:
            acc.set_password(name, password, by=cli_user())
        except ValueError as exc:
            fail(str(exc))
    echo(f"user: {name}  password: {password}" if shown else f"password of {name} changed")


@users.command("disable")
@click.argument("name")
@click.option("--enable", is_flag=True, help="Enable the user again.")
@store_option
@config_option
def users_disable(name: str, enable: bool, store: str | None, config_path: str | None) -> None:
    """Stop a user from signing in (sessions end at their next click)."""
    with open_access_cli(store, config_path) as acc:
        try:
            acc.set_disabled(name, not enable, by=cli_user())
        except ValueError as exc:
            fail(str(exc))
    echo(f"{name} {'enabled' if enable else 'disabled'}")


@users.command("list")
@store_option
@config_option
@json_option
def users_list(store: str | None, config_path: str | None, as_json: bool) -> None:
    """Every user with role, agent id, teams, branches and whether disabled.

    Keys in --json: users: [{name, role, agent_id, teams, branches, disabled}].
    """
    with open_access_cli(store, config_path) as acc:
        found = acc.users()
    if as_json:
        echo_json({"users": [u.as_dict() for u in found]})
        return
    for u in found:
        scope = (u.agent_id or "") if u.role == "agent" else \
            ",".join([*u.teams, *u.branches]) if u.role == "manager" else "all"
        echo(f"{u.name:<20} {u.role:<8} {scope:<30}{' disabled' if u.disabled else ''}")


@click.command("audit")
@click.option("--user", "user", default=None, help="Only this user's rows.")
@click.option("--since", "since", type=click.DateTime(formats=["%Y-%m-%d",
                                                              "%Y-%m-%dT%H:%M:%S"]),
              default=None, metavar="DATE", help="Only rows from this date (UTC) on.")
@click.option("--person", "person", default=None, metavar="ID",
              help="Only rows that name this person (viewed, searched, numbers revealed).")
@click.option("--verify", is_flag=True, help="Check the hash chain; exit 1 if broken.")
@store_option
@config_option
@json_option
def audit_command(user: str | None, since: datetime | None, person: str | None, verify: bool,
                  store: str | None, config_path: str | None, as_json: bool) -> None:
    """The audit trail: sign-ins (and failures), people viewed, searches, downloads, exports,
    user changes, erasures. Append-only: the store refuses updates and deletes of its rows.

    \b
    People are stored as tokens (p:...) keyed per person; they are shown as the person's id
    while the person is in the store. After `graphcrm forget` the key is gone and the token
    names nobody (the rows stay, append-only).
    Keys in --json: rows: [{seq, at, user, action, target, detail}], intact (with --verify).
    """
    since_text = None
    if since is not None:
        since_text = (since.date().isoformat() if since.time() == datetime.min.time()
                      else since.strftime("%Y-%m-%dT%H:%M:%S"))
    with open_access_cli(store, config_path) as acc:
        rows = acc.audit(user=user, since=since_text, person=person)
        broken = acc.verify_audit() if verify else None
        rows["target"] = _resolve_people(acc, rows, store, config_path)
    if as_json:
        data: dict[str, object] = {"rows": rows.to_dict(orient="records")}
        if verify:
            data["intact"] = broken is None
        echo_json(data)
    else:
        for r in rows.itertuples(index=False):
            echo(f"{r.seq:>6} {r.at} {r.user:<16} {r.action:<18} {r.target} {r.detail}".rstrip())
        if verify:
            echo("audit trail intact" if broken is None else
                 f"audit trail BROKEN at row {broken}")
    if verify and broken is not None:
        fail(f"audit trail broken at row {broken}")


def _resolve_people(acc: AccessStore, rows: pd.DataFrame, store: str | None,
                    config_path: str | None) -> pd.Series:
    """Audit targets with person tokens shown as the ids of the people still in the store."""
    targets = rows["target"].astype(str)
    if not targets.str.contains("p:", regex=False).any():
        return targets
    try:
        with open_store(store, create=False, settings=settings_from(config_path)) as source:
            ids = source.nodes(Label.CLIENT, ["client_id"])["client_id"].astype(str)
    except StoreError:
        return targets
    known = acc.people_of_tokens(ids)
    return targets.map(lambda t: " ".join(known.get(x, x) for x in t.split()))


def _wipe(path: object) -> None:
    """Overwrite a file with zeros, then remove it (an old analysis snapshot)."""
    p = Path(str(path))
    if not p.exists():
        return
    size = p.stat().st_size
    with p.open("r+b") as fh:
        fh.write(b"\0" * size)
        fh.flush()
        os.fsync(fh.fileno())
    p.unlink()


@click.command("forget")
@click.argument("person")
@click.option("--reason", required=True,
              help="Why (a request number, never personal data): kept in the audit trail.")
@store_option
@config_option
@json_option
def forget_command(person: str, reason: str, store: str | None, config_path: str | None,
                   as_json: bool) -> None:
    """Erase a client: personal data and ties, from the store, its snapshot and caches.

    删除客户个人信息 (个人信息保护法 删除权)。

    \b
    The client row, interactions, merged ids and every tie are deleted; policies and
    referral records move to a pseudonym (ERASED-...) with no personal data, so settled
    reward lines keep their points. The database is rebuilt (VACUUM) and its WAL truncated
    so no freed page keeps a copy; the analysis snapshot is overwritten and rebuilt; a
    running app drops its caches at its next click. The erasure is audited (who, when,
    pseudonym, reason). Files outside the store (rejects files, ledgers, exports, backups)
    are not touched: erase the person there too.

    \b
    Keys in --json: client_id, pseudonym, changed (rows per table), snapshot_rebuilt,
    still_found (Neo4j: nodes/ties still holding the mobile, ID number or ids; [] expected).
    """
    settings = settings_from(config_path)
    try:
        target = open_store(store, create=False, settings=settings)
    except StoreError as exc:
        fail(str(exc))
        return
    with target, open_access_cli(store, config_path) as acc:
        pseudonym = "ERASED-" + acc.digest("forget:" + person)[:12].upper()
        find_text = getattr(target, "find_text", None)  # a server: check after the erasure
        try:
            aliases = target.aliases()
            cid = aliases.get(person, person)
            row = target.get_nodes(Label.CLIENT, [cid])
            ids = {person, cid, *(a for a, c in aliases.items() if c == cid)}
            # the audit rows naming the person stay; their per-person key goes
            # (crypto-shredding). An embedded store's file holds the keys and is rebuilt by
            # the erasure right after; a side file is rebuilt here.
            shredded = acc.shred_people(ids, rebuild=acc.path != getattr(target, "path", None)
                                        ) if len(row) else 0
            changed = target.forget_client(person, pseudonym)
        except StoreError as exc:
            fail(str(exc))
            return
        client_id = str(changed.pop("client_id", person))
        changed["audit.person_keys"] = shredded
        left: list[dict[str, object]] = []
        if find_text is not None:
            # mobile, ID number and ids (a name can be a namesake's): a hit is shown, not
            # fatal, since an id can also be part of a longer one
            needles = [str(v) for v in row.iloc[0][["phone", "id_number"]]
                       if isinstance(v, str) and len(v.strip()) >= 6] if len(row) else []
            left = find_text([*needles, client_id, *(a for a, c in aliases.items()
                                                       if c == client_id)])
        snap = snapshot_path(target)
        if snap is not None:
            _wipe(snap)
            warm_graph(target, settings)
        acc.record(cli_user(), "forget", pseudonym,
                   f"reason={reason}; " + ", ".join(f"{k}={v}" for k, v in changed.items()))
    if as_json:
        echo_json({"client_id": client_id, "pseudonym": pseudonym, "changed": changed,
                   "snapshot_rebuilt": snap is not None, "still_found": left})
        return
    echo(f"erased {client_id}: now {pseudonym} (no personal data); "
         + ", ".join(f"{k} {v}" for k, v in changed.items()))
    echo("not touched: files outside the store (rejects files, ledgers, exports, backups)")
    if find_text is not None:
        echo("Neo4j keeps the person in its transaction logs and backups until they are "
             "pruned or expired: see docs/neo4j.md, \"Erasure\"")
        if left:
            echo(f"check: {len(left)} nodes or ties still hold the person's mobile, ID number "
                 f"or an id (a longer id containing it?): {left[:5]}")
        else:
            echo("check: no node or tie holds the person's mobile, ID number or ids")


COMMANDS: list[click.Command] = [users, audit_command, forget_command]
