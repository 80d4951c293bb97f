"""The app in a real headless Chromium (system browser): it renders and stays on localhost."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import ROOT
from tests.test_app import build_sample_store

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


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip(f"system browser {CHROMIUM} not installed (apt-get install chromium)")
    store = build_sample_store(tmp_path_factory.mktemp("browser") / "sample.db")
    port = free_port()
    env = {**os.environ, "GRAPHCRM_STORE": str(store)}
    log = tmp_path_factory.mktemp("log") / "streamlit.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
             "--server.port", str(port), "--server.headless", "true",
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
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
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _local(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in {"data", "blob", "about", "chrome-extension"}:
        return True
    return parsed.hostname in {"localhost", "127.0.0.1"}


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
            page.wait_for_selector("text=客户经营地图", timeout=60_000)
            nodes = _network_nodes(page)
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
