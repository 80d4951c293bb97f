"""``graphcrm bench ingest``: generate, ingest, and compare with a plain pandas baseline."""

from __future__ import annotations

import click

BENCH_COMMANDS: list[click.Command] = []
