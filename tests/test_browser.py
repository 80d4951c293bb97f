"""The app in a real headless Chromium (system browser): it renders and stays on localhost."""

from __future__ import annotations

import csv
import http.server
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlparse

import pytest

from tests.conftest import ROOT
from tests.test_app import ADMIN, ADMIN_PASSWORD, add_user, build_sample_store

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync"]

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: the app's users in the browser store (real argon2 hashes, signed in through the form)
AGENT_USER, AGENT_PASSWORD = "wang", "agent-password-for-tests"
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


class _Bait(http.server.BaseHTTPRequestHandler):
    """A local server a hostile name points at: any request to it is a failure."""

    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Bait.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def hostile_names(bait_port: int) -> dict[str, str]:
    """Client id -> a name that is an attack if any page renders it as HTML or Markdown."""
    return {
        "CX1": "<img src=x onerror=\"document.title='X'\">",
        "CX2": f"[x](http://127.0.0.1:{bait_port}/p)",
        "CX3": f"![x](http://127.0.0.1:{bait_port}/img)",
        # "href" in a tooltip switched pyvis to raw-HTML popups
        "CX4": f"<a href=\"http://127.0.0.1:{bait_port}/a\">a</a>"
               "<img src=y onerror=\"document.title='X'\">",
    }


def build_browser_store(folder: Path, bait_port: int) -> tuple[Path, str]:
    """The sample, plus hostile names served by the agent with the biggest book; users."""
    from graphcrm.ingest.job import ingest_paths
    from graphcrm.store.sqlite import SQLiteStore
    from graphcrm.workspace import load_graph

    store_path = build_sample_store(folder / "sample.db")
    with SQLiteStore(store_path, create=False) as store:
        agent = str(load_graph(store).serving.value_counts().index[0])
    extra = folder / "hostile"
    extra.mkdir()
    names = hostile_names(bait_port)
    with (extra / "clients.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["client_id", "name", "status"])
        w.writerows([cid, name, "client"] for cid, name in names.items())
    with (extra / "relationships.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["src_id", "dst_id", "type", "start_date"])
        w.writerows([agent, cid, "SERVES", "2026-01-01"] for cid in names)
        w.writerow(["CX1", "CX2", "FRIEND_OF", ""])
    with (extra / "interactions.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)  # close, trusted ties: the map shows them among its nearest people
        w.writerow(["agent_id", "client_id", "type", "date"])
        w.writerows([agent, cid, kind, "2026-06-01"] for cid in names
                    for kind in ("purchase", "enquiry", "event_family", "private_talk"))
    with SQLiteStore(store_path, create=False) as store:
        report = ingest_paths(sorted(extra.glob("*.csv")), store)
        assert not len(report.rejects), report.rejects
        from graphcrm.workspace import warm_graph

        warm_graph(store)
    add_user(store_path)
    add_user(store_path, AGENT_USER, AGENT_PASSWORD, "agent", agent_id=agent)
    return store_path, agent


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    if not CHROMIUM.exists():
        pytest.skip(f"system browser {CHROMIUM} not installed (apt-get install chromium)")
    bait = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Bait)
    threading.Thread(target=bait.serve_forever, daemon=True).start()
    bait_port = int(bait.server_address[1])
    store, agent = build_browser_store(tmp_path_factory.mktemp("browser"), bait_port)
    port = free_port()
    env = {**os.environ, "GRAPHCRM_STORE": str(store)}
    log = tmp_path_factory.mktemp("log") / "streamlit.log"
    # no --server.address: the bind address is the one .streamlit/config.toml sets
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "serve.py"),
             "--server.port", str(port), "--server.headless", "true",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not start: {log.read_text()[-2000:]}")
                time.sleep(0.5)
        yield {"url": url, "port": port, "pid": proc.pid, "store": store, "agent": agent,
               "bait_port": bait_port}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        bait.shutdown()


@pytest.fixture(scope="module")
def app_url(app: dict[str, object]) -> str:
    return str(app["url"])


def _local(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in {"data", "blob", "about", "chrome-extension"}:
        return True
    return parsed.hostname in {"localhost", "127.0.0.1"}


def sign_in(page: object, name: str, password: str) -> None:
    """Sign in through the app's form (the only thing it shows before)."""
    page.wait_for_selector("input[type='password']", timeout=60_000)  # type: ignore[attr-defined]
    page.get_by_label("用户名").fill(name)  # type: ignore[attr-defined]
    page.get_by_label("密码").fill(password)  # type: ignore[attr-defined]
    page.get_by_role("button", name="登录").click()  # type: ignore[attr-defined]
    page.wait_for_selector("[data-testid='stSidebar'] >> text=退出登录",  # type: ignore[attr-defined]
                           timeout=60_000)


def _network_nodes(page: object, timeout_s: float = 60.0) -> int:
    """Wait until a components iframe holds a vis network with nodes; return the node count."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames:  # type: ignore[attr-defined]
            try:
                n = frame.evaluate(
                    "() => (typeof network !== 'undefined' && document.querySelector('canvas'))"
                    " ? network.body.data.nodes.length : 0")
            except Exception:  # frames come and go while Streamlit reruns
                n = 0
            if n:
                return int(n)
        time.sleep(0.5)
    return 0


def _grid_rows(page: object, timeout_s: float = 30.0) -> int:
    """Rows of the first data grid's accessible table once it has any (0 if none came)."""
    deadline = time.monotonic() + timeout_s
    rows = page.locator("[data-testid='stDataFrame'] [role='row']")  # type: ignore[attr-defined]
    while time.monotonic() < deadline:
        n = rows.count()
        if n > 1:
            return int(n)
        time.sleep(0.5)
    return 0


def test_operation_map_and_penetration_render_offline(app_url: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(app_url, wait_until="domcontentloaded")
            sign_in(page, ADMIN, ADMIN_PASSWORD)
            page.wait_for_selector("text=客户经营地图", timeout=60_000)
            nodes = _network_nodes(page)
            # vis-network comes from the app's own address, once, not inlined in the drawing
            frames = page.evaluate("() => Array.from(document.querySelectorAll('iframe'))"
                                   ".map(f => (f.getAttribute('srcdoc') || '').length)")
            assert frames and max(frames) < 300_000, frames
            assert any(u.endswith("/_graphcrm/vis-network-9.1.2.min.js") for u in requests)
            # the table beside the map: Streamlit's data grid draws on a canvas and keeps an
            # accessible grid of its rows
            page.wait_for_selector("[data-testid='stDataFrame'] canvas", timeout=60_000)
            rows = _grid_rows(page)
            page.screenshot(path=str(ARTIFACTS / "app-operation-map.png"), full_page=True)
            assert nodes > 1, "operation map drew no nodes"
            assert rows > 1, "the operation map's table shows no rows"
            assert page.locator("[data-testid='stException']").count() == 0
            assert page.locator("[data-testid='stAlertContentError']").count() == 0
            page.get_by_text("客户渗透网").first.click()
            page.wait_for_selector("h2:has-text('客户渗透网'), h1:has-text('客户渗透网')",
                                   timeout=60_000)
            time.sleep(1.0)
            nodes = _network_nodes(page)
            page.screenshot(path=str(ARTIFACTS / "app-penetration.png"), full_page=True)
            assert nodes > 1, "penetration network drew no nodes"
            assert page.locator("[data-testid='stException']").count() == 0
            assert page.locator("[data-testid='stAlertContentError']").count() == 0
        finally:
            browser.close()
    outside = sorted({u for u in requests if not _local(u)})
    assert not outside, f"the page requested outside localhost: {outside[:10]}"


# -- access and injection (issue 12) ---------------------------------------------------------
def _browser(p: object) -> object:
    return p.chromium.launch(executable_path=str(CHROMIUM), headless=True,  # type: ignore[attr-defined]
                             args=LAUNCH_ARGS)


def _everything_shown(page: object) -> str:
    """The text of the page and of every frame, the labels and tooltips of every network
    drawing and the rows of every data grid."""
    parts = []
    for frame in page.frames:  # type: ignore[attr-defined]
        try:
            parts.append(frame.evaluate("() => document.body ? document.body.innerText : ''"))
            parts.append(frame.evaluate(
                "() => (typeof network !== 'undefined') ? network.body.data.nodes.get()"
                ".map(n => n.label + ' ' + (n.tip || '')).join('\\n') : ''"))
        except Exception:  # a frame replaced while Streamlit reruns
            continue
    grid = page.locator("[data-testid='stDataFrame'] [role='gridcell']")  # type: ignore[attr-defined]
    parts.extend(grid.all_inner_texts())
    return "\n".join(parts)


def _settle_at(page: object, header: str) -> None:
    page.wait_for_selector(f"h1:has-text('{header}'), h2:has-text('{header}')",  # type: ignore[attr-defined]
                           timeout=90_000)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until Streamlit stops running the script
        if page.locator("[data-testid='stStatusWidget']").count() == 0:  # type: ignore[attr-defined]
            break
        time.sleep(0.5)
    time.sleep(1.5)


#: deep page URLs (Streamlit alone shows a blank page there: its scripts are linked relative
#: to the page); serve.py redirects them to the root
DEEP_PATHS = ("/a/b/c", "/page_opmap/x/y", "/a/b/c/?page=page_data", "/%E5%AE%A2%E6%88%B7/1")


def test_deep_urls_redirect_to_the_root(app: dict[str, object]) -> None:
    """The server's own answer (no browser): a 302 to the root for deep page URLs; Streamlit's
    routes and one-segment page URLs are served as before."""
    class NoFollow(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoFollow)

    def answer(path: str) -> tuple[int, str]:
        try:
            with opener.open(f"{app['url']}{path}", timeout=30) as resp:
                return resp.status, resp.headers.get("Location") or ""
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Location") or ""

    for path in DEEP_PATHS:
        assert answer(path) == (302, "/"), path
    for path in ("/", "/page_opmap", "/_stcore/health"):
        assert answer(path)[0] == 200, path


def test_library_files_are_served_cacheable_and_nothing_else(app: dict[str, object]) -> None:
    """serve.py answers vis-network's two files (the bytes pyvis ships, a year-long immutable
    cache header) and nothing else under that folder; other paths behave as before."""
    from graphcrm.app.viz import LIBRARY_FILES, LIBRARY_FOLDER

    def fetch(path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(f"{app['url']}{path}", method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), b""

    for name, (path, kind) in LIBRARY_FILES.items():
        status, headers, body = fetch(f"/{LIBRARY_FOLDER}/{name}")
        assert status == 200 and body == path.read_bytes(), name
        assert headers["content-type"] == kind
        assert "immutable" in headers["cache-control"] and "max-age=31536000" in \
            headers["cache-control"]
        assert fetch(f"/{LIBRARY_FOLDER}/{name}", "HEAD")[:1] == (200,)
        assert fetch(f"/{LIBRARY_FOLDER}/{name}", "POST")[0] == 405
    for path in ("/_graphcrm/serve.py", "/_graphcrm/app.py", "/_graphcrm/x.js",
                 "/_graphcrm/vis-network.min.js"):
        assert fetch(path)[0] == 404, path
    serve = (ROOT / "serve.py").read_bytes()
    for path in ("/serve.py", "/_graphcrm/../serve.py", "/x/_graphcrm/serve.py"):
        assert serve[:60] not in fetch(path)[2], path


def test_unsigned_visitor_sees_only_the_sign_in_form(app: dict[str, object]) -> None:
    import pandas as pd
    from playwright.sync_api import sync_playwright

    agent_names = set(pd.read_csv(ROOT / "data" / "sample" / "agents.csv")["name"])
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            for path in ("/", "/page_opmap", "/Data", "/?page=page_data", "/rewards?x=1",
                         *DEEP_PATHS):
                page = browser.new_context().new_page()  # type: ignore[attr-defined]
                page.goto(f"{app['url']}{path}", wait_until="domcontentloaded")
                try:
                    page.wait_for_selector("input[type='password']", timeout=60_000)
                except Exception:
                    page.screenshot(path=str(ARTIFACTS / "unsigned-failed.png"), full_page=True)
                    raise AssertionError(f"{path}: no sign-in form: "
                                         f"{_everything_shown(page)[:500]}") from None
                time.sleep(1.5)
                text = _everything_shown(page)
                assert "请登录" in text, (path, text[:300])
                assert page.locator("[data-testid='stDataFrame']").count() == 0, path
                assert page.locator("iframe").count() == 0, path
                assert "退出登录" not in text and not PHONE.search(text), path
                assert not [n for n in agent_names if n in text], path
                if path in DEEP_PATHS:  # sent to the root, not a blank page at the deep URL
                    assert urlparse(page.url).path == "/", (path, page.url)
                page.context.close()
        finally:
            browser.close()


def test_agent_sees_no_colleague_client_name_or_full_phone(app: dict[str, object]) -> None:
    from playwright.sync_api import sync_playwright

    from graphcrm.i18n import t
    from graphcrm.store.sqlite import SQLiteStore
    from graphcrm.workspace import load_graph

    with SQLiteStore(app["store"], create=False) as store:  # type: ignore[arg-type]
        ag = load_graph(store)
    agent = str(app["agent"])
    serving = ag.serving.reindex(ag.clients.index)
    mine = serving == agent
    visible = set(ag.clients.loc[mine | serving.isna(), "name"].dropna())
    hidden = set(ag.clients.loc[serving.notna() & ~mine, "name"].dropna()) - visible \
        - set(ag.agents["name"])
    phones = set(ag.clients["phone"].dropna().astype(str))
    assert hidden
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})  # type: ignore[attr-defined]
            page.goto(str(app["url"]), wait_until="domcontentloaded")
            sign_in(page, AGENT_USER, AGENT_PASSWORD)
            sidebar = page.locator("[data-testid='stSidebar']")
            assert sidebar.get_by_text(t("page_data", "zh"), exact=True).count() == 0
            for key in ("page_opmap", "page_paths", "page_penetration", "page_hubs",
                        "page_rewards", "page_gaps"):
                sidebar.get_by_text(t(key, "zh"), exact=True).first.click()
                _settle_at(page, t(key, "zh"))
                if key in ("page_opmap", "page_penetration"):
                    _network_nodes(page)
                text = _everything_shown(page)
                page.screenshot(path=str(ARTIFACTS / f"agent-{key}.png"), full_page=True)
                leaked = sorted(n for n in hidden if re.search(
                    rf"(?<![\u4e00-\u9fff·]){re.escape(n)}(?![\u4e00-\u9fff·])", text))
                assert not leaked, f"{key} shows other agents' clients: {leaked[:5]}"
                full = set(PHONE.findall(text)) & phones
                assert not full, f"{key} shows full phone numbers: {sorted(full)[:3]}"
        finally:
            browser.close()


def test_hostile_names_stay_text(app: dict[str, object]) -> None:
    """Names that are HTML or Markdown neither run, nor link, nor fetch anything."""
    from playwright.sync_api import sync_playwright

    from graphcrm.i18n import t

    bait = int(app["bait_port"])  # type: ignore[call-overload]
    names = hostile_names(bait)
    requests: list[str] = []
    shown_tips: list[str] = []
    _Bait.hits.clear()
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})  # type: ignore[attr-defined]
            page.on("request", lambda r: requests.append(r.url))
            page.goto(str(app["url"]), wait_until="domcontentloaded")
            sign_in(page, ADMIN, ADMIN_PASSWORD)
            _settle_at(page, t("page_opmap", "zh"))
            title = page.title()
            assert _network_nodes(page) > 1
            # hover every hostile node of the map: its tooltip must be text
            diag = []
            for frame in page.frames:
                try:
                    diag.append(frame.evaluate(
                        "(ids) => (typeof network === 'undefined') ? 'no network' : "
                        "network.body.data.nodes.length + ' nodes, hostile: ' + "
                        "ids.filter(i => network.body.data.nodes.get(i)).length", list(names)))
                except Exception as exc:
                    diag.append(repr(exc)[:80])
                try:
                    spots = frame.evaluate(
                        "(ids) => (typeof network === 'undefined') ? [] : ids.filter("
                        "i => network.body.data.nodes.get(i)).map(i => {"
                        "const p = network.canvasToDOM(network.getPositions([i])[i]);"
                        "const r = document.getElementById('mynetwork')"
                        ".getBoundingClientRect(); return [i, r.left + p.x, r.top + p.y];})",
                        list(names))
                except Exception:
                    continue
                if not spots:
                    continue
                box = frame.frame_element().bounding_box()
                for _cid, x, y in spots:
                    page.mouse.move(box["x"] + x, box["y"] + y)
                    time.sleep(1.2)
                    tip = frame.evaluate(
                        "() => { const t = document.querySelector('.vis-tooltip');"
                        " return t && t.style.visibility !== 'hidden' ? t.innerText : ''; }")
                    shown_tips.append(tip)
                    assert frame.locator("div.vis-tooltip img").count() == 0
                    assert frame.evaluate("() => document.title") != "X"
            assert any("onerror" in tip for tip in shown_tips), (shown_tips, diag)
            # warm paths to each hostile name: the chain and the opener are Markdown
            sidebar = page.locator("[data-testid='stSidebar']")
            sidebar.get_by_text(t("page_paths", "zh"), exact=True).first.click()
            _settle_at(page, t("page_paths", "zh"))
            for cid in names:
                box = page.get_by_label(t("prospect_search", "zh"))
                box.fill(cid)
                box.press("Enter")
                page.wait_for_selector(f"text=({cid})", timeout=60_000)
                time.sleep(1.5)
                body = page.locator("[data-testid='stMain']").first.inner_text().replace(
                    "\u2060", "")  # the word joiner that stops GFM autolinks
                assert names[cid] in body, (cid, body[:300])  # shown literally, as text
                links = page.locator(f"a[href*='{bait}'], img[src*='{bait}']")
                assert links.count() == 0, (cid, [links.nth(i).evaluate(
                    "e => e.parentElement.outerHTML.slice(0, 300)") for i in range(links.count())])
            assert page.locator(f"a[href*='{bait}'], img[src*='{bait}']").count() == 0
            assert page.title() == title
            for frame in page.frames:
                try:
                    assert frame.evaluate("() => document.title") != "X"
                except Exception:
                    continue
        finally:
            browser.close()
    assert not _Bait.hits, f"the bait server was called: {_Bait.hits}"
    assert not [u for u in requests if f":{bait}" in u]


# -- every page in both languages, as a person reads it ---------------------------------------

#: what must never be read on a page: identifiers (snake_case, UPPER_CASE), None, nan
CODE_NAME = re.compile(r"(?<![\w./-])(?:[a-z]+_[a-z0-9_]+|[A-Z]{2,}_[A-Z0-9_]+|None|nan|NaN)"
                       r"(?![\w./-])")
#: English that Streamlit shows for an unset widget; on a 中文 page it is untranslated text
ENGLISH_PLACEHOLDERS = ("Choose an option", "Choose options", "No options to select",
                        "Drag and drop", "Browse files", "No results", "Upload",
                        "per file")
PAGES = ["page_opmap", "page_paths", "page_penetration", "page_hubs", "page_rewards",
         "page_gaps", "page_orphans", "page_visits", "page_data"]
#: pages held to the users'-language rule (no code names, no English placeholders in 中文):
#: every page, the field-work ones (孤儿单, 拜访计划) included
LANGUAGE_CHECKED = list(PAGES)


def _visible_text(page: object) -> str:
    """What a person can read: the main area and the sidebar, plus the data grids' cells
    (drawn on a canvas; their accessible table holds the text)."""
    # Material icons are drawn from ligature text (keyboard_double_arrow_left): not read
    text = page.evaluate(  # type: ignore[attr-defined]
        """() => { const root = document.querySelector("[data-testid='stAppViewContainer']");
                   const copy = root.cloneNode(true);
                   copy.querySelectorAll("[data-testid='stIconMaterial']").forEach(e => e.remove());
                   document.body.appendChild(copy); const text = copy.innerText; copy.remove();
                   return text; }""")
    cells = page.locator("[data-testid='stDataFrame'] [role='gridcell'], "  # type: ignore[attr-defined]
                         "[data-testid='stDataFrame'] [role='columnheader']")
    return text + "\n" + "\n".join(cells.all_inner_texts())


def _settle(page: object, timeout_s: float = 90.0) -> None:
    """Wait until Streamlit has finished running the script (no 'Running...' status)."""
    deadline = time.monotonic() + timeout_s
    time.sleep(0.8)
    while time.monotonic() < deadline:
        running = page.locator("[data-testid='stStatusWidget']").count()  # type: ignore[attr-defined]
        if not running:
            time.sleep(0.7)
            if not page.locator("[data-testid='stStatusWidget']").count():  # type: ignore[attr-defined]
                return
        time.sleep(0.4)


def _open_page(page: object, title: str) -> None:
    page.locator("[data-testid='stSidebar'] label").filter(  # type: ignore[attr-defined]
        has_text=re.compile(f"^{re.escape(title)}$")).first.click()
    page.wait_for_selector(f"h2:has-text('{title}')", timeout=90_000)  # type: ignore[attr-defined]
    _settle(page)


def _fill_inputs(page: object, name: str, lang: str) -> None:
    """Give the search pages something to show (a real person of the sample)."""
    if name == "page_paths":
        page.get_by_label(re.compile("搜索准客户|Search a prospect")).fill("李")  # type: ignore[attr-defined]
        page.keyboard.press("Enter")  # type: ignore[attr-defined]
        _settle(page)
    if name == "page_gaps":
        page.locator("[data-testid='stSidebar']")  # type: ignore[attr-defined]
    if name == "page_orphans":  # approve (the first run): the follow-up tables get rows
        from graphcrm.i18n import t

        button = page.get_by_role("button", name=t("approve", lang))  # type: ignore[attr-defined]
        if button.count() and button.first.is_enabled():
            button.first.click()
            _settle(page)
            page.wait_for_selector(  # type: ignore[attr-defined]
                f"text={t('download_notices', lang)}", timeout=90_000)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_reads_in_the_users_language(app_url: str, lang: str) -> None:
    from playwright.sync_api import sync_playwright

    from graphcrm.i18n import t

    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.goto(app_url, wait_until="domcontentloaded")
            sign_in(page, ADMIN, ADMIN_PASSWORD)
            page.wait_for_selector("text=客户经营地图", timeout=90_000)
            _settle(page)
            if lang == "en":
                page.locator("[data-testid='stSidebar'] label").filter(
                    has_text=re.compile("^English$")).first.click()
                page.wait_for_selector("h2:has-text('Client operation map')", timeout=90_000)
                _settle(page)
            for name in LANGUAGE_CHECKED:
                title = t(name, lang)
                _open_page(page, title)
                _fill_inputs(page, name, lang)
                if name in ("page_opmap", "page_hubs", "page_rewards", "page_gaps",
                            "page_orphans", "page_visits"):
                    _grid_rows(page, timeout_s=60)
                page.screenshot(path=str(ARTIFACTS / f"app-{lang}-{name}.png"), full_page=True)
                text = _visible_text(page)
                found = sorted(set(CODE_NAME.findall(text)))
                if found:
                    problems.append(f"{lang} {name}: code names {found[:12]}")
                if lang == "zh":
                    english = [e for e in ENGLISH_PLACEHOLDERS if e in text]
                    if english:
                        problems.append(f"zh {name}: English placeholders {english}")
                if page.locator("[data-testid='stException']").count():
                    problems.append(f"{lang} {name}: an exception is shown")
                if page.locator("[data-testid='stAlertContentError']").count():
                    problems.append(f"{lang} {name}: an error is shown")
        finally:
            browser.close()
    assert not problems, "\n".join(problems)


def test_switching_language_keeps_the_page_and_selections(app_url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(app_url, wait_until="domcontentloaded")
            sign_in(page, ADMIN, ADMIN_PASSWORD)
            page.wait_for_selector("text=客户经营地图", timeout=90_000)
            _settle(page)
            _open_page(page, "影响力中心")
            page.locator("label").filter(has_text=re.compile("^团队$")).first.click()
            _settle(page)
            head = page.locator("h3").filter(has_text="影响力中心 — ").first.inner_text()
            team = head.split(" — ", 1)[1].strip()
            page.locator("[data-testid='stSidebar'] label").filter(
                has_text=re.compile("^English$")).first.click()
            page.wait_for_selector("h2:has-text('Influence hubs')", timeout=90_000)
            _settle(page)
            # the same page is open and shown as chosen in the sidebar
            pages = page.locator("[data-testid='stSidebar'] [data-testid='stRadio']").filter(
                has_text="Influence hubs")
            assert [r.is_checked() for r in pages.get_by_role("radio").all()] == \
                [name == "page_hubs" for name in PAGES]
            # the same scope (Team), shown as chosen, and the same team
            scope = page.locator("[data-testid='stMain'] [data-testid='stRadio']").filter(
                has_text="Team").first
            assert [r.is_checked() for r in scope.get_by_role("radio").all()] == \
                [False, True, False, False]
            assert page.locator("h3").filter(has_text=f"Top hubs — {team}").count() == 1
        finally:
            browser.close()
