"""``graphcrm bench``: every benchmark, reproducible with one command, reported as ratios."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click

from graphcrm.bench import app as app_bench
from graphcrm.bench import faults as faults_bench
from graphcrm.bench import fieldwork as fieldwork_bench
from graphcrm.bench import ingest as ingest_bench
from graphcrm.bench import metrics as metrics_bench
from graphcrm.cli.common import echo_json, fail


@click.group("bench")
def bench() -> None:
    """Benchmarks, reproducible with one command, reported as ratios to the baselines."""


@bench.command("ingest")
@click.option("--clients", type=int, default=100_000, show_default=True,
              help="People to generate (10^6 gives about 6 million rows).")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--workdir", default=None, metavar="DIR",
              help="Folder for the data and stores (kept). Default: a temporary folder.")
@click.option("--keep", is_flag=True, help="Keep the temporary folder.")
@click.option("--rerun", is_flag=True,
              help="Then re-run into the loaded store: the same files, and a copy with "
                   "--changed-share of each file's rows edited.")
@click.option("--changed-share", type=float, default=0.01, show_default=True,
              help="Share of each file's rows edited for the second re-run.")
@click.option("--narrow", type=int, default=None, metavar="ROWS",
              help="Instead: an edge-list relationships file (src_id,dst_id,type) of ROWS "
                   "rows into a store holding the generated people.")
@click.option("--rounds", type=click.IntRange(min=1), default=ingest_bench.NARROW_ROUNDS,
              show_default=True,
              help="With --narrow: run ours and the baselines in turn this many times and "
                   "report medians (one fresh process of either varies up to 2x).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def bench_ingest_command(clients: int, seed: int, workdir: str | None, keep: bool,
                         rerun: bool, changed_share: float, narrow: int | None,
                         rounds: int, as_json: bool) -> None:
    """Generate data, ingest it, and compare with pandas read_csv + to_sql in the same run.

    导入基准测试: 生成数据并导入, 与 pandas read_csv + to_sql 基线对比
    (每秒行数、各文件耗时、峰值内存)。

    \b
    Example:
      graphcrm bench ingest --clients 1000000
      graphcrm bench ingest --clients 100000 --rerun
      graphcrm bench ingest --clients 100000 --narrow 300000
    """
    echo = None if as_json else (lambda s: click.echo(s, err=True))
    try:
        if narrow is not None:
            res = ingest_bench.bench_narrow(clients, narrow, seed, workdir, echo, rounds)
        else:
            res = ingest_bench.bench_ingest(clients, seed, workdir, keep, echo, rerun,
                                            changed_share)
    except click.ClickException as exc:
        fail(exc.message)
        return
    if as_json:
        echo_json(res)
    elif narrow is not None:
        click.echo(ingest_bench.format_narrow(res))
    else:
        click.echo(ingest_bench.format_table(res))


@bench.command("metrics")
@click.option("--clients", type=int, default=100_000, show_default=True,
              help="Generated clients (ignored with --dataset).")
@click.option("--dataset", type=click.Choice(["email", "bitcoin"]), default=None,
              help="Use a real SNAP network (the shared datasets folder) instead.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Reuse generated files in this folder.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--pairs", type=int, default=1000, show_default=True,
              help="Random agent-prospect pairs for warm-path latency.")
@click.option("--baseline-budget", type=float, default=600.0, show_default=True,
              help="Seconds after which a plain-NetworkX baseline is stopped.")
@click.option("--part", "parts", multiple=True, default=("influence", "bridges", "paths"),
              type=click.Choice(["influence", "bridges", "paths"]), show_default=True,
              help="What to measure (repeat the option for several).")
@click.option("--exact-networkx", is_flag=True,
              help="Bridges: also NetworkX's exact betweenness as the reference (slow).")
@click.option("--bridges-reference", "reference_sources", type=int, default=0,
              show_default=True,
              help="Bridges above 12,000 nodes: also the top-100 agreement with igraph "
                   "sampling from this many other sources (slow; 0 = off).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (keys as in the report).")
def bench_metrics(clients: int, dataset: str | None, data_dir: Path | None, seed: int,
                  pairs: int, baseline_budget: float, parts: tuple[str, ...],
                  exact_networkx: bool, reference_sources: int, as_json: bool) -> None:
    """Influence pass and warm paths vs plain NetworkX and igraph (docs/benchmarks-metrics.md).

    Times this project's influence pass (PageRank + power circle + referral reach on the CSR
    view) against igraph's PageRank alone and against plain NetworkX (nx.pagerank default and
    pure-Python PageRank + a Python two-hop loop + nx.descendants), each NetworkX baseline in a
    forked child stopped after --baseline-budget seconds; then warm-path latency over --pairs
    random agent-prospect pairs and a hard set (agents to the 100 best-connected people,
    max_hops 5 and 6, against NetworkX's shortest_path); bridges (ours vs the former igraph
    source sampling with the same sources count and NetworkX's sampled betweenness; top-100
    agreement with exact betweenness up to 12,000 nodes, above with --bridges-reference;
    --baseline-budget 0 skips NetworkX). Keys: every key printed below (seconds *_s, megabytes *_mb,
    ratios ratio_*/ *_speedup; a speedup given as ">x" means the baseline hit the budget).
    """
    with tempfile.TemporaryDirectory(prefix="graphcrm-bench-") as tmp:
        out = metrics_bench.run_bench(clients, dataset, seed, pairs, baseline_budget, data_dir,
                                      Path(tmp), tuple(parts), exact_networkx,
                                      reference_sources)
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    width = max(len(k) for k in out)
    for key, value in out.items():
        click.echo(f"  {key:<{width}}  {value}")


@bench.command("app")
@click.option("--clients", default=0, help="Generate this many clients (0 = data/sample).")
@click.option("--seed", default=7, show_default=True)
@click.option("--warm/--no-warm", default=True, show_default=True,
              help="Warm the analysis graph after the load, as `graphcrm ingest` does (timed "
                   "separately as warm_s); --no-warm times pages on a cold store.")
@click.option("--browser", "use_browser", is_flag=True,
              help="Also open every page once in a real Chromium (/usr/bin/chromium) against "
                   "`streamlit run`: each page's first-visit time as a person sees it.")
@click.option("--store", "store_path", default=None, type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="Time the pages of this existing (warmed) store instead "
              "of loading one.")
@click.option("--user", default=None, help="With --store: the admin user to sign in as "
              "(password from --password-stdin). A store the benchmark loads gets its own.")
@click.option("--password-stdin", is_flag=True,
              help="Read --user's password from the first line of stdin.")
@click.option("--apptest/--no-apptest", default=True, show_default=True,
              help="Also render every page twice with Streamlit's AppTest (server side only).")
@click.option("--baseline", default=None, type=click.Path(exists=True, file_okay=False,
              path_type=Path), help="With --browser: also time the app of this other checkout "
              "(e.g. `git worktree add ../base main`) on the same store, before this one in "
              "each round: before/after ratios measured under the same load.")
@click.option("--rounds", default=1, show_default=True, type=click.IntRange(1, 20),
              help="With --browser: browser passes per app (medians reported).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def bench_app(clients: int, seed: int, warm: bool, use_browser: bool, store_path: Path | None,
              user: str | None, password_stdin: bool, apptest: bool, baseline: Path | None,
              rounds: int, as_json: bool) -> None:
    """Render time of every app page on the sample (or a generated store), first and cached.

    Targets: sample < 2 s per page after the first load; 10^5 clients < 5 s.

    Example (an existing store, signed in as its admin):
      echo "$PW" | graphcrm bench app --store crm.db --user admin --password-stdin --browser
    """
    sign_in = None
    if user is not None:
        if not password_stdin:
            raise click.ClickException("--user needs --password-stdin (never a password on "
                                       "the command line)")
        sign_in = (user, click.get_text_stream("stdin").readline().rstrip("\r\n"))
    if baseline is not None and not use_browser:
        raise click.ClickException("--baseline needs --browser")
    result = app_bench.run_app_bench(clients, seed, warm, browser=use_browser, store=store_path,
                                     user=sign_in, app_test=apptest, baseline=baseline,
                                     rounds=rounds)
    rows, load_s, warm_s = result["pages"], result["load_s"], result["warm_s"]
    label = (str(store_path) if store_path else f"{clients:,} clients" if clients
             else "data/sample")
    if as_json:
        click.echo(json.dumps({"data": label, "load_s": round(load_s, 2), "warm_s": warm_s,
                               "pages": rows, "browser": result["browser"],
                               "passes": result["passes"], "compare": result["compare"]},
                              ensure_ascii=False, indent=2))
        return
    click.echo(f"data: {label}   store load {load_s:.1f} s   warm-up after ingest: "
               + (f"{warm_s:.1f} s" if warm_s is not None else "off"))
    click.echo(f"{'page':<24} {'first s':>9} {'cached s':>9}")
    for r in rows:
        click.echo(f"{r['page']:<24} {r['first_s']:>9} {r.get('cached_s', ''):>9} "
                   f"{'; '.join(map(str, r.get('errors') or []))}")
    if result["browser"]:
        click.echo("\nreal browser (Chromium, first visit of each page in one session):")
        for r in result["browser"]:
            over = ("" if float(r["browser_first_s"]) < 5 or r["page"] == "server_start"
                    else "   over the 5 s goal")
            click.echo(f"{r['page']:<24} {r['browser_first_s']:>9}{over}")
    if result["compare"]:
        click.echo(f"\nbefore/after (medians of {rounds} round(s), baseline {baseline}):")
        click.echo(f"{'page':<24} {'baseline s':>10} {'this s':>8} {'ratio':>6}")
        for r in result["compare"]:
            click.echo(f"{r['page']:<24} {r['baseline_s']!s:>10} {r['this_s']!s:>8} "
                       f"{r['ratio']!s:>6}")


@bench.command("scope")
@click.option("--clients", default=100_000, show_default=True,
              help="Generate this many clients (0 = data/sample).")
@click.option("--seed", default=7, show_default=True)
@click.option("--repeats", default=3, show_default=True, help="Timings per user (median).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def bench_scope(clients: int, seed: int, repeats: int, as_json: bool) -> None:
    """The scoped graph copy of a non-admin against building the analysis graph (same run).

    非管理员的范围图副本耗时, 与同次构建整张分析图对比。
    """
    result = app_bench.run_scope_bench(clients, seed, repeats)
    if as_json:
        echo_json(result)
        return
    click.echo(f"clients {result['clients']:,}   whole analysis graph build (baseline) "
               f"{result['build_s']:.2f} s")
    click.echo(f"{'user':<10} {'hidden':>8} {'best s':>8} {'median s':>9} {'/ build':>8}")
    for r in result["rows"]:
        click.echo(f"{r['user']:<10} {r['hidden_clients']:>8,} {r['best_s']:>8} "
                   f"{r['median_s']:>9} {r['ratio_to_build']:>8}")


@bench.command("faults")
@click.option("--kills", type=int, default=100, show_default=True,
              help="Rounds: each starts an ingest and kills it with SIGKILL at a random moment.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the kill moments.")
@click.option("--clients", type=int, default=500, show_default=True,
              help="People in the generated input.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Input folder instead of generated files.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def bench_faults(kills: int, seed: int, clients: int, data_dir: Path | None,
                 as_json: bool) -> None:
    """The kill -9 loop: ingest killed at random moments, both ingest modes, checked each time.

    故障注入: 在随机时刻 kill -9 导入进程 (两种导入方式), 每次检查数据库完整性、每个文件
    全有或全无、无残留进程和临时文件, 重跑后计数完全一致。

    \b
    After every kill: PRAGMA integrity_check, each file all or nothing (and a prefix of the
    ingest order, the data version counting the committed files), no checker process and no
    temporary file left, and re-runs ending with the exact counts of an uninterrupted run.
    Exit code 1 when any check failed. Keys in --json: kills, by_mode, committed_files,
    finished_before_kill, integrity_ok, all_or_nothing_ok, no_orphan_checker, no_temp_files,
    rerun_exact, second_reruns, rerun_idempotent, failures, seconds, full_counts, ok.

    \b
    Example:
      graphcrm bench faults --kills 1000
    """
    echo = None if as_json else (lambda s: click.echo(s, err=True))
    report = faults_bench.run_faults(kills, seed, data_dir, echo=echo, clients=clients)
    if as_json:
        echo_json(report.as_dict())
    else:
        click.echo(faults_bench.format_report(report))
    if not report.ok:
        fail(f"{len(report.failures)} of {report.kills} kills broke a check")


@bench.command("fieldwork")
@click.option("--clients", type=int, default=100_000, show_default=True,
              help="Generated clients (the issue's target is 1000000).")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--departed", type=float, default=0.05, show_default=True,
              help="Share of agents who have departed.")
@click.option("--month", default="2026-12", show_default=True, help="Month of the proposal.")
@click.option("--week", default="2026-W49", show_default=True, help="Week of the calendar.")
@click.option("--sample", type=int, default=200, show_default=True,
              help="Orphans timed for the one-search-per-orphan baseline.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (keys as in the report).")
@click.option("--profile", "profile_path", default=None, metavar="FILE",
              help="After the timed runs, run orphans assign and the calendar once more under "
              "cProfile and write the top functions (cumulative time) to FILE.")
def bench_fieldwork(clients: int, seed: int, departed: float, month: str, week: str,
                    sample: int, as_json: bool, profile_path: str | None) -> None:
    """orphans assign for every orphan (< 60 s at 10^6) and one agent's calendar (< 1 s),
    with their baselines in the same run (docs/benchmarks-fieldwork.md).

    Keys: every key printed below (seconds *_s, ratios ratio_*).
    """
    echo = None if as_json else (lambda s: click.echo(s, err=True))
    out = fieldwork_bench.run_fieldwork_bench(clients, seed, departed, month, week, sample,
                                              echo, profile_path=profile_path)
    if as_json:
        echo_json(out)
        return
    width = max(len(k) for k in out)
    for key, value in out.items():
        click.echo(f"  {key:<{width}}  {value}")
