"""``graphcrm bench app``: page render times of the app (first load and cached) via AppTest."""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import click

from graphcrm.config import Settings, load_settings
from graphcrm.graph import build_graph
from graphcrm.i18n import t
from graphcrm.ingest.job import ingest_paths
from graphcrm.scope import scope_for, scoped_graph
from graphcrm.store.access import User
from graphcrm.store.sqlite import SQLiteStore
from graphcrm.synth import generate
from graphcrm.workspace import free_port, open_access_store, streamlit_command, warm_graph

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
#: the admin user the benchmark adds to a store it loaded itself (the app shows nothing but the
#: sign-in form before a user signs in)
BENCH_USER = "bench-admin"
PAGES = ["page_opmap", "page_paths", "page_penetration", "page_hubs", "page_rewards",
         "page_gaps", "page_data"]


def load_files(files_dir: Path, store_path: Path) -> Path:
    """Load the six template files of ``files_dir`` into a new SQLite store with the ingest
    job (:func:`graphcrm.ingest.job.ingest_paths`)."""
    store = SQLiteStore(store_path)
    try:
        ingest_paths(sorted(files_dir.glob("*.csv")), store)
    finally:
        store.close()
    return store_path


def add_bench_user(store_path: Path) -> tuple[str, str]:
    """An admin user with a fresh random password in a store the benchmark made."""
    password = secrets.token_urlsafe(18)
    acc = open_access_store(str(store_path), load_settings())
    try:
        acc.add_user(BENCH_USER, password, "admin", by="bench")
    finally:
        acc.close()
    return BENCH_USER, password


def time_pages(store_path: Path, user: tuple[str, str], lang: str = "en",
               timeout: float = 900.0) -> list[dict[str, object]]:
    """Render every page twice in one AppTest session, signed in as ``user`` (name, password)
    through the app's form; seconds for the first and cached run."""
    # imported on use: Streamlit costs every other `graphcrm` command a second of start-up
    from streamlit.testing.v1 import AppTest

    os.environ["GRAPHCRM_STORE"] = str(store_path)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.run()  # the sign-in form
    at.text_input(key="signin_user").input(user[0])
    at.text_input(key="signin_password").input(user[1])
    t0 = time.perf_counter()
    at.button[0].click().run()  # sign in (one argon2 check), then the first page
    if not at.sidebar.radio:
        raise click.ClickException(f"could not sign in to {store_path} as {user[0]}")
    rows: list[dict[str, object]] = [{"page": "app start (sign-in, page_opmap)",
                                      "first_s": round(time.perf_counter() - t0, 3)}]
    at.sidebar.radio(key="lang").set_value(lang)
    for page in PAGES:
        t0 = time.perf_counter()
        at.sidebar.radio(key="page").set_value(page).run()
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        at.run()
        again = time.perf_counter() - t0
        errors = [e.value for e in at.exception] + [e.value for e in at.error]
        rows.append({"page": page, "first_s": round(first, 3), "cached_s": round(again, 3),
                     "errors": errors[:1]})
        click.echo(f"  {page}: first {first:.2f} s, cached {again:.2f} s", err=True)
    return rows


CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _script_done(page: object, timeout_s: float) -> None:
    """Wait until the app's script run has finished: Streamlit's root element says
    ``data-test-script-state="notRunning"`` (called once the page's heading shows, which is
    drawn during the page's own run). Streamlit's "running" badge is not enough: it shows only
    after a delay, so a check right after the heading passed while the page still ran."""
    deadline = time.monotonic() + timeout_s
    app = page.locator("[data-testid='stApp']")  # type: ignore[attr-defined]
    while time.monotonic() < deadline:
        state = app.get_attribute("data-test-script-state") if app.count() else None
        if state == "notRunning" or (state is None and not page.locator(  # type: ignore[attr-defined]
                "[data-testid='stStatusWidget']").count()):
            return
        time.sleep(0.05)
    raise TimeoutError("the page did not finish within the time limit")


def _network_drawn(page: object, timeout_s: float) -> None:
    """Wait until a vis network in a component frame has drawn its nodes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames:  # type: ignore[attr-defined]
            try:
                if frame.evaluate("() => typeof network !== 'undefined' && "
                                  "network.body.data.nodes.length > 0"):
                    return
            except Exception:  # frames come and go while Streamlit reruns
                continue
        time.sleep(0.1)
    raise TimeoutError("the network was not drawn within the time limit")


def browser_times(store_path: Path, user: tuple[str, str], lang: str = "zh",
                  timeout: float = 600.0, app_root: Path | None = None
                  ) -> list[dict[str, object]]:
    """Every page's first visit in a real Chromium against ``streamlit run`` (a fresh app
    process), signed in as ``user`` through the form: seconds from the click (on the sign-in
    button, for the first page) until the page's script has finished and, on map pages, the
    network is drawn. The first row is the sign-in page itself (the browser's first load of
    Streamlit's front end). ``app_root``: serve the app of that checkout instead of this one
    (its own ``graphcrm`` package, serve.py and .streamlit/config.toml: the baseline)."""
    # imported on use: only this benchmark drives a browser
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise click.ClickException(f"--browser needs {CHROMIUM} (apt-get install chromium)")
    port = free_port()
    env = {**os.environ, "GRAPHCRM_STORE": str(store_path)}
    root = ROOT
    if app_root is not None:
        root = app_root.resolve()
        if not (root / "serve.py").is_file() or not (root / "graphcrm").is_dir():
            raise click.ClickException(f"--baseline {app_root}: not a GraphCRM checkout "
                                       "(no serve.py and graphcrm/ there)")
        env["PYTHONPATH"] = str(root)
    log = tempfile.TemporaryFile()  # noqa: SIM115 - the app's output, closed in finally
    proc = subprocess.Popen(streamlit_command(port, script=root / "serve.py"), cwd=str(root),
                            env=env, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    rows: list[dict[str, object]] = []
    started = time.perf_counter()
    try:
        deadline = time.monotonic() + 900
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read()
                seconds = time.perf_counter() - started
                # the server's own start (imports, reading the analysis graph): once per process
                rows.append({"page": "server_start", "browser_first_s": round(seconds, 2),
                             "errors": 0})
                click.echo(f"  server start (until it answers): {seconds:.2f} s", err=True)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise click.ClickException("the app did not start") from None
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                        args=BROWSER_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1500, "height": 1000})
                t0 = time.perf_counter()
                page.goto(url, wait_until="domcontentloaded")
                page.wait_for_selector("input[type='password']", timeout=timeout * 1000)
                seconds = time.perf_counter() - t0
                rows.append({"page": "signin", "browser_first_s": round(seconds, 2),
                             "errors": 0})
                click.echo(f"  browser sign-in page: {seconds:.2f} s", err=True)
                page.get_by_label(t("signin_user", lang)).fill(user[0])
                page.get_by_label(t("signin_password", lang)).fill(user[1])
                for i, name in enumerate(PAGES):
                    title = t(name, lang)
                    t0 = time.perf_counter()
                    try:
                        if i == 0:
                            page.get_by_role("button", name=t("signin_submit", lang)).click()
                        else:
                            page.locator("[data-testid='stSidebar'] label").filter(
                                has_text=title).first.click()
                        page.wait_for_selector(f"h2:has-text('{title}')",
                                               timeout=timeout * 1000)
                        _script_done(page, timeout)
                        if name in ("page_opmap", "page_penetration"):
                            _network_drawn(page, timeout)
                    except Exception as exc:
                        log.seek(0)
                        shown = " ".join(page.locator("body").inner_text().split())[:600]
                        raise click.ClickException(
                            f"{name}: {type(exc).__name__}; the page shows: {shown}\n"
                            f"app output: {log.read().decode(errors='replace')[-2000:]}"
                        ) from exc
                    seconds = time.perf_counter() - t0
                    errors = page.locator("[data-testid='stException'], "
                                          "[data-testid='stAlertContentError']").count()
                    rows.append({"page": name, "browser_first_s": round(seconds, 2),
                                 "errors": errors})
                    click.echo(f"  browser {name}: {seconds:.2f} s", err=True)
            finally:
                browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    return rows


def browser_passes(store: Path, user: tuple[str, str], baseline: Path | None = None,
                   rounds: int = 1) -> dict[str, Any]:
    """:func:`browser_times` ``rounds`` times, each round the ``baseline`` checkout's app first
    (when given) and then this one, on the same store, so both see about the same load.

    Returns ``{"browser": rows of the last pass of this app, "passes": [{"app": "baseline" |
    "this", "load_average": 1-minute load at its start, "rows": [...]}, ...], "compare": [{"page",
    "baseline_s", "this_s", "ratio"}, ...]}`` (``compare``: medians over the rounds, ratio =
    this / baseline; only with a baseline)."""
    passes: list[dict[str, Any]] = []
    for _ in range(max(int(rounds), 1)):
        for app, root in (("baseline", baseline), ("this", None)):
            if app == "baseline" and baseline is None:
                continue
            load = round(os.getloadavg()[0], 1)
            click.echo(f"{app} app (load average {load}):", err=True)
            passes.append({"app": app, "load_average": load,
                           "rows": browser_times(store, user, app_root=root)})
    ours = [p for p in passes if p["app"] == "this"]
    compare: list[dict[str, Any]] = []
    if baseline is not None:
        def median(app: str, page: object) -> float | None:
            vals = [float(r["browser_first_s"]) for p in passes if p["app"] == app
                    for r in p["rows"] if r["page"] == page]
            return round(statistics.median(vals), 2) if vals else None

        for r in ours[-1]["rows"]:
            base, this = median("baseline", r["page"]), median("this", r["page"])
            compare.append({"page": r["page"], "baseline_s": base, "this_s": this,
                            "ratio": round(this / base, 2) if base and this is not None
                            else None})
    return {"browser": ours[-1]["rows"], "passes": passes, "compare": compare}


def run_app_bench(clients: int = 0, seed: int = 7, warm: bool = True,
                  browser: bool = False, store: Path | None = None,
                  user: tuple[str, str] | None = None, app_test: bool = True,
                  baseline: Path | None = None, rounds: int = 1) -> dict[str, Any]:
    """Load the sample (or ``clients`` generated clients), optionally warm the analysis graph
    as ``graphcrm ingest`` does, and time every page: ``{"pages", "load_s", "warm_s",
    "browser", "passes", "compare"}`` (``browser``: each page's first visit in a real
    Chromium, with ``browser``; ``passes`` and ``compare``: :func:`browser_passes`).

    An existing ``store`` is timed as it is, signed in as ``user`` (name, password: an admin,
    so every page is offered); a store the benchmark loads gets its own admin user.
    ``app_test=False`` skips the AppTest pass (the browser figures alone, on a fresh app
    process either way). ``baseline``: another checkout whose app is timed in the same
    browser rounds (``rounds`` of them) for before/after ratios."""
    none: dict[str, Any] = {"browser": [], "passes": [], "compare": []}
    if store is not None:  # an existing, warmed store: time the pages only
        store = store.resolve()  # the app runs from the repository folder
        if user is None:
            raise click.ClickException("--store needs --user NAME (an admin) and its password "
                                       "on stdin (--password-stdin)")
        rows = time_pages(store, user) if app_test else []
        seen = browser_passes(store, user, baseline, rounds) if browser else none
        return {"pages": rows, "load_s": 0.0, "warm_s": None, **seen}
    with tempfile.TemporaryDirectory() as tmp:
        files = SAMPLE
        if clients:
            files = Path(tmp) / "files"
            generate(files, clients, seed)
        t0 = time.perf_counter()
        store = load_files(files, Path(tmp) / "bench.db")
        load_s = time.perf_counter() - t0
        warm_s = None
        if warm:
            t0 = time.perf_counter()
            with SQLiteStore(store) as opened:
                warm_graph(opened)
            warm_s = round(time.perf_counter() - t0, 2)
        user = add_bench_user(store)
        rows = time_pages(store, user) if app_test else []
        seen = browser_passes(store, user, baseline, rounds) if browser else none
    return {"pages": rows, "load_s": load_s, "warm_s": warm_s, **seen}


def run_scope_bench(clients: int = 100_000, seed: int = 7, repeats: int = 3
                    ) -> dict[str, Any]:
    """The scoped copy of the analysis graph (:func:`graphcrm.scope.scoped_graph`, what every
    page of a non-admin reads) against building the whole analysis graph
    (:func:`graphcrm.graph.build_graph`) in the same run, on ``clients`` generated clients
    (0 = data/sample).

    Users: the agent with the biggest book and a manager of that agent's team (the copy names
    everyone outside their scope "a client of 同事 X"). Each copy is timed ``repeats`` times
    (scope resolution included); the best and the median are reported with their ratio to the
    build, which is the baseline. Returns ``{"clients", "build_s", "rows": [...]}``.
    """
    settings = Settings()
    with tempfile.TemporaryDirectory() as tmp:
        files = SAMPLE
        if clients:
            files = Path(tmp) / "files"
            generate(files, clients, seed)
        store_path = load_files(files, Path(tmp) / "bench.db")
        with SQLiteStore(store_path, create=False) as store:
            t0 = time.perf_counter()
            ag = build_graph(store, settings)
            build_s = time.perf_counter() - t0
    agent = str(ag.serving.value_counts().index[0])
    team = str(ag.agents.at[agent, "team"])
    users = [User("bench-agent", "agent", agent_id=agent),
             User("bench-manager", "manager", teams=(team,))]
    rows = []
    for user in users:
        times, hidden = [], 0
        for _ in range(max(int(repeats), 1)):
            t0 = time.perf_counter()
            view = scoped_graph(scope_for(user, ag), ag, "zh")
            times.append(time.perf_counter() - t0)
            hidden = int((view.clients["name"].to_numpy() != ag.clients["name"].to_numpy())
                         .sum())
        times.sort()
        best, median = times[0], times[len(times) // 2]
        rows.append({"user": user.role, "hidden_clients": hidden,
                     "best_s": round(best, 3), "median_s": round(median, 3),
                     "ratio_to_build": round(median / build_s, 4) if build_s else None})
    return {"clients": len(ag.clients), "build_s": round(build_s, 2), "rows": rows}
