"""``graphcrm generate``: realistic synthetic data in the six file templates."""

from __future__ import annotations

import time

import click

from graphcrm.cli.common import fail
from graphcrm.synth import GenerateError, generate


@click.command("generate")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--clients", "clients", type=int, default=3000, show_default=True,
              help="People to generate (clients and prospects).")
@click.option("--seed", type=int, default=7, show_default=True, help="Random seed.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv",
              show_default=True, help="File format (xlsx only for small data).")
@click.option("--quiet", is_flag=True, help="No progress output.")
def generate_command(out_dir: str, clients: int, seed: int, fmt: str, quiet: bool) -> None:
    """Write synthetic agents, organizations, clients, policies, relationships and interactions.

    生成合成数据: 业务员、机构、客户、保单、关系、互动六个文件 (确定性: 同一 seed 同一结果)。

    \b
    Example:
      graphcrm generate data/big --clients 1000000 --seed 7
    """

    t0 = time.perf_counter()
    last: dict[str, int] = {}

    def show(stage: str, done: int, total: int) -> None:
        if quiet or last.get(stage) == done:
            return
        last[stage] = done
        click.echo(f"  {stage:<14} {done:>10,}/{total:,}  {time.perf_counter() - t0:6.1f}s",
                   err=True)

    try:
        paths = generate(out_dir, clients, seed, fmt, show)
    except GenerateError as exc:
        fail(str(exc))
        return
    rows = 0
    for name, path in paths.items():
        if fmt == "csv":
            with path.open("rb") as fh:
                count = sum(1 for _ in fh) - 1
        else:
            count = -1
        rows += max(count, 0)
        click.echo(f"{name:<14} {count:>10,} rows  {path}")
    click.echo(f"total {rows:,} rows in {time.perf_counter() - t0:.1f}s (seed {seed})")


COMMANDS: list[click.Command] = [generate_command]
