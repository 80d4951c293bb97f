"""The ``graphcrm`` command: one subcommand per user task.

Feature modules own their commands and expose them as ``COMMANDS`` (and ``BENCH_COMMANDS`` for
``graphcrm bench``); this module only holds the shared options and puts them together.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from graphcrm import __version__
from graphcrm.config import ENV_CONFIG, ENV_STORE, ConfigError, Settings, load_settings
from graphcrm.store.base import GraphStore, StoreError, open_store

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


def open_existing_store(store: str | None, settings: Settings | None = None) -> GraphStore:
    """Open a store that must already exist (reads never create an empty file); ``settings``
    carry the ``[neo4j]`` connection settings of ``--config`` for a Neo4j store."""
    try:
        return open_store(store, create=False, settings=settings)
    except StoreError as exc:
        fail(str(exc))
        raise


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="graphcrm")
def main() -> None:
    """GraphCRM: warm referral paths, influence hubs and client value for insurance agents.

    \b
    Typical session:
      graphcrm generate data/big --clients 100000   # synthetic data (or use your own files)
      graphcrm ingest data/big --store crm.db       # build the graph
      graphcrm stats --store crm.db                 # what is in it
      graphcrm demo                                 # the app on the bundled sample
    """


@main.command()
@store_option
@json_option
def stats(store: str | None, as_json: bool) -> None:
    """Counts of every node and relationship type in the store.

    Keys in --json: every node label (Agent, Client, Organization, Policy), Prospect (clients
    without an in-force policy), every relationship type, INTERACTION, merged_ids, and
    data_version.
    """
    with open_existing_store(store) as s:
        counts = s.counts()
        version = s.data_version()
        location = s.location
    if as_json:
        echo_json({**counts, "data_version": version, "store": location})
        return
    click.echo(f"store: {location}   data version: {version}")
    width = max(len(k) for k in counts)
    for key, value in counts.items():
        click.echo(f"  {key:<{width}}  {value:>12,}")


@main.command("config")
@config_option
def config_command(config_path: str | None) -> None:
    """Print the effective settings as TOML (defaults, overridden by --config / $GRAPHCRM_CONFIG).

    Copy the output to a file, keep the keys you change, and pass it with --config or
    GRAPHCRM_CONFIG. Every tunable constant of GraphCRM is here; docs/config.md explains them.
    """
    from graphcrm.config import settings_toml

    click.echo(settings_toml(settings_from(config_path)), nl=False)


@main.group()
def bench() -> None:
    """Benchmarks, reproducible with one command, reported as ratios to the baselines."""


def _register() -> None:
    from graphcrm import demo
    from graphcrm.ingest import bench as ingest_bench
    from graphcrm.ingest import cli as ingest_cli
    from graphcrm.ingest import generate as ingest_generate
    from graphcrm.metrics import bench as metrics_bench
    from graphcrm.metrics import cli as metrics_cli
    from graphcrm.metrics import cli_tables
    from graphcrm.store import cli as store_cli

    for module in (ingest_cli, ingest_generate, ingest_bench, metrics_cli, cli_tables,
                   metrics_bench, store_cli, demo):
        for command in getattr(module, "COMMANDS", []):
            main.add_command(command)
        for command in getattr(module, "BENCH_COMMANDS", []):
            bench.add_command(command)


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
