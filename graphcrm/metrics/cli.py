"""Commands of this feature area, registered by :mod:`graphcrm.cli`."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
BENCH_COMMANDS: list[click.Command] = []
