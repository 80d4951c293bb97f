"""What every ``graphcrm`` command shares: options, one-line errors, JSON, opening a store."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from graphcrm.config import (
    ENV_CONFIG,
    ENV_STORE,
    ConfigError,
    Settings,
    load_settings,
    store_location,
)
from graphcrm.privacy import (
    OutputPathError,
    check_output_path,
    store_companions,
    term_json,
    term_text,
)
from graphcrm.store.base import GraphStore, StoreError
from graphcrm.workspace import open_store

F = TypeVar("F", bound=Callable[..., Any])

#: Exit codes: 0 = done, 1 = nothing usable / user error, 2 = usage error (click's own).
EXIT_ERROR = 1


def store_option(func: F) -> F:
    """``--store URL``: a SQLite file path or a neo4j:// URL (default $GRAPHCRM_STORE)."""
    return click.option(
        "--store", "store", default=None, metavar="URL",
        help=f"Store: a SQLite file, or neo4j://HOST:7687. Default ${ENV_STORE} or graphcrm.db.",
    )(func)


def json_option(func: F) -> F:
    """``--json``: print machine-readable JSON instead of a table."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON (documented keys).")(
        func
    )


def config_option(func: F) -> F:
    return click.option(
        "--config", "config_path", default=None, metavar="FILE",
        help=f"TOML file overriding the defaults in docs/config.md (default ${ENV_CONFIG}).",
    )(func)


def fail(message: str) -> None:
    """Stop with a one-line error and exit code 1."""
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def settings_from(config_path: str | None) -> Settings:
    try:
        return load_settings(config_path)
    except ConfigError as exc:
        fail(str(exc))
        raise  # unreachable; keeps type checkers happy


#: what a metric command says on a store with no agents and no clients
EMPTY_STORE = "the store is empty: run graphcrm ingest"


def open_existing_store(store: str | None, settings: Settings | None = None, *,
                        require_data: bool = False) -> GraphStore:
    """Open a store that must already exist (reads never create an empty file); ``settings``
    carry the ``[neo4j]`` connection settings of ``--config`` for a Neo4j store. With
    ``require_data`` a store without agents and clients stops with :data:`EMPTY_STORE`."""
    try:
        opened = open_store(store, create=False, settings=settings)
    except StoreError as exc:
        fail(str(exc))
        raise
    if require_data:
        counts = opened.counts()
        if not (counts.get("Agent", 0) or counts.get("Client", 0)):
            opened.close()
            fail(f"{EMPTY_STORE} PATH... --store {opened.location}"
                 if store else f"{EMPTY_STORE} PATH...")
    return opened


def echo_json(data: Any) -> None:
    click.echo(term_json(json.dumps(data, ensure_ascii=False, indent=2, default=str)))


def echo(message: object = "", *, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` for text that holds data: control and escape characters (ESC, OSC, BEL,
    C1) from names never reach the terminal raw (graphcrm.privacy.term_text)."""
    click.echo(term_text(message), err=err, nl=nl)


def check_out(path: str, *, store: str | None = None, inputs: tuple[str, ...] | list[str] = (),
              what: str = "output") -> None:
    """Stop with a one-line error when ``path`` is an input file, the store or one of its files
    (WAL, journal, analysis snapshot)."""
    try:
        check_output_path(path, inputs=inputs, what=what,
                          protected=store_companions(store_location(store)))
    except OutputPathError as exc:
        fail(str(exc))
