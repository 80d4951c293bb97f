"""The ``graphcrm`` command: one subcommand per user task.

Each module of this package holds the commands of one task group and lists them in
``COMMANDS``; :mod:`graphcrm.cli.common` holds what they share; ``graphcrm bench`` is the group
in :mod:`graphcrm.cli.bench`. This module only puts them together.
"""

from __future__ import annotations

import click

from graphcrm import __version__
from graphcrm.cli import (
    access,
    analysis,
    demo,
    fieldwork,
    generate,
    ingest,
    people,
    store,
    tables,
)
from graphcrm.cli.bench import bench


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


for _module in (ingest, generate, analysis, tables, people, store, access, demo, fieldwork):
    for _command in _module.COMMANDS:
        main.add_command(_command)
main.add_command(bench)

__all__ = ["main"]
