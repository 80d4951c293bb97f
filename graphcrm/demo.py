"""``graphcrm demo``: load the bundled sample into a fresh embedded store and open the app."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
