"""The Streamlit app driven by streamlit.testing.v1.AppTest on a real sample store."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from graphcrm.app.viz import external_refs
from graphcrm.i18n import STRINGS, t
from graphcrm.ingest.job import ingest_paths
from graphcrm.store.sqlite import SQLiteStore
from graphcrm.workspace import load_graph
from tests.conftest import ROOT, SAMPLE_DIR

APP = str(ROOT / "app.py")
PAGES = ["page_opmap", "page_paths", "page_penetration", "page_hubs", "page_rewards",
         "page_gaps", "page_orphans", "page_visits", "page_data"]


def build_sample_store(path: Path) -> Path:
    """The sample files in a real SQLite store, loaded by the ingest job."""
    store = SQLiteStore(path)
    try:
        ingest_paths(sorted(SAMPLE_DIR.glob("*.csv")), store)
    finally:
        store.close()
    return path


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_store(tmp_path_factory.mktemp("app") / "sample.db")


#: a real admin user created in each test store; run_app signs in with it through the form
ADMIN, ADMIN_PASSWORD = "admin", "admin-password-for-tests"


def add_user(path: Path, name: str = ADMIN, password: str = ADMIN_PASSWORD,
             role: str = "admin", **kwargs: object) -> None:
    """A real user (argon2 hash) in the store at ``path``, unless it is there already."""
    from graphcrm.config import AccessSettings
    from graphcrm.store.access import AccessStore

    with AccessStore(path, AccessSettings()) as acc:
        if acc.get_user(name) is None:
            acc.add_user(name, password, role, **kwargs)  # type: ignore[arg-type]


def sign_in(at: AppTest, name: str = ADMIN, password: str = ADMIN_PASSWORD) -> AppTest:
    """Sign in through the app's own form (the only thing it shows before)."""
    at.text_input(key="signin_user").input(name)
    at.text_input(key="signin_password").input(password)
    at.button[0].click().run()
    return at


@pytest.fixture
def env_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    def use(path: Path) -> None:
        add_user(path)
        monkeypatch.setenv("GRAPHCRM_STORE", str(path))
    yield use
    os.environ.pop("GRAPHCRM_STORE", None)


def run_app(page: str = "page_opmap", lang: str = "zh", name: str = ADMIN,
            password: str = ADMIN_PASSWORD) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    sign_in(at, name, password)
    at.sidebar.radio(key="lang").set_value(lang)
    at.sidebar.radio(key="page").set_value(page).run()
    return at


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_every_string_has_both_languages() -> None:
    for key, (zh, en) in STRINGS.items():
        assert zh and en, key
        assert zh != en or key in {"app_title"}, key
    assert t("page_data", "en") == "Data" and t("page_data", "zh") == "数据"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(sample_store: Path, env_store, page: str) -> None:  # type: ignore[no-untyped-def]
    env_store(sample_store)
    at = run_app(page, "en")
    no_errors(at)
    assert at.header[0].value == t(page, "en")


def test_language_switch_changes_labels(sample_store: Path, env_store) -> None:  # type: ignore[no-untyped-def]
    env_store(sample_store)
    at = run_app("page_opmap", "zh")
    assert at.header[0].value == "客户经营地图"
    assert at.selectbox(key="opmap_agent").label == t("agent_pick", "zh")
    at.sidebar.radio(key="lang").set_value("en").run()
    assert at.header[0].value == "Client operation map"
    assert at.selectbox(key="opmap_agent").label == "Choose an agent"


def test_operation_map_defaults_to_biggest_book(sample_store: Path, env_store) -> None:  # type: ignore[no-untyped-def]
    env_store(sample_store)
    rel = pd.read_csv(SAMPLE_DIR / "relationships.csv", dtype=str)
    biggest = rel.loc[rel["type"] == "SERVES"].groupby("src_id").size()
    at = run_app("page_opmap", "en")
    no_errors(at)
    chosen = at.selectbox(key="opmap_agent").value
    # the default agent serves at least as many people as any agent's SERVES ties say
    assert biggest.get(chosen, 0) >= biggest.max() * 0.8
    assert len(at.dataframe) >= 1 and at.dataframe[0].value.shape[0] > 0


def test_warm_path_first_hop_matches_networkx(sample_store: Path, env_store) -> None:  # type: ignore[no-untyped-def]
    env_store(sample_store)
    with SQLiteStore(sample_store, create=False) as store:
        ag = load_graph(store)
    agent = "A000001"
    g = ag.G
    # independent reference: NetworkX's weighted shortest path over connection distance
    _lengths, routes = nx.single_source_dijkstra(g, agent, cutoff=None, weight="distance")
    candidates = sorted((n for n, r in routes.items()
                         if len(r) in (3, 4) and ag.label(n) == "Client"),
                        key=lambda n: (ag.status(n) != "prospect", n))
    target = candidates[0]
    first = routes[target][1]
    at = run_app("page_paths", "en")
    at.selectbox(key="paths_agent").set_value(agent).run()
    at.text_input(key="paths_search").input(target).run()
    no_errors(at)
    at.selectbox(key="paths_target").set_value(target).run()
    no_errors(at)
    text = "\n".join(m.value for m in at.markdown)
    assert "Path 1" in text
    chain = next(m.value for m in at.markdown if " → " in m.value and agent in m.value)
    assert chain.split(" → ")[0].endswith(f"({agent})")
    assert chain.split(" → ")[1].endswith(f"({first})")
    # the opener (warm path) or the advice (cold path) names the first introducer
    assert any(ag.name(first) in s.value for s in [*at.success, *at.warning])


def test_unknown_prospect_search_says_so(sample_store: Path, env_store) -> None:  # type: ignore[no-untyped-def]
    env_store(sample_store)
    at = run_app("page_paths", "en")
    at.text_input(key="paths_search").input("zzz-nobody-999").run()
    no_errors(at)
    assert any("Nobody matches" in w.value for w in at.warning)


def test_empty_store_shows_how_to_load(tmp_path: Path, env_store) -> None:  # type: ignore[no-untyped-def]
    env_store(tmp_path / "empty.db")
    at = run_app("page_opmap", "en")
    no_errors(at)
    assert any("The store has no data yet" in i.value for i in at.info)
    at.sidebar.radio(key="lang").set_value("zh").run()
    assert any("数据库里还没有数据" in i.value for i in at.info)


def test_network_html_is_offline(sample_store: Path) -> None:
    from graphcrm.app.viz import EdgeSpec, NodeSpec, network_html

    html = network_html([NodeSpec("a", "甲", "t", "#000"), NodeSpec("b", "乙", "t", "#111")],
                        [EdgeSpec("a", "b", "#222")])
    assert "vis.Network" in html or "new vis" in html
    assert external_refs(html) == []
    assert "cdn.jsdelivr" not in html


def test_network_html_links_the_served_library_once_linked() -> None:
    """With the library served (serve.py), a drawing links vis-network's two files at the app's
    own address instead of carrying them: nothing else is referenced, the page is a fraction of
    the size, and the files are the very ones pyvis's template inlines."""
    import pyvis

    from graphcrm.app.viz import (
        LIBRARY_FILES,
        VIS_VERSION,
        EdgeSpec,
        NodeSpec,
        library_linked,
        library_refs,
        link_library,
        network_html,
    )

    nodes = [NodeSpec("a", "甲", "t", "#000"), NodeSpec("b", "乙", "t", "#111")]
    edges = [EdgeSpec("a", "b", "#222")]
    assert not library_linked()  # AppTest and plain `streamlit run app.py`: self-contained
    inline = network_html(nodes, edges)
    link_library(True)
    try:
        linked = network_html(nodes, edges, physics=False)
    finally:
        link_library(False)
    assert sorted(external_refs(linked)) == sorted(library_refs())
    assert len(library_refs()) == 2 and all(r.startswith("_graphcrm/") for r in library_refs())
    assert len(linked) < len(inline) / 10
    assert "new vis.Network" in linked and "textContent" in linked
    templates = Path(pyvis.__file__).parent / "templates"
    js = (templates / "lib" / f"vis-{VIS_VERSION}" / "vis-network.min.js").read_text()
    assert js[:2000] in inline and js[:2000] not in linked
    assert f"lib/vis-{VIS_VERSION}/vis-network.min.js" in (templates / "template.html").read_text()
    for name, (path, kind) in LIBRARY_FILES.items():
        assert VIS_VERSION in name and path.is_file() and path.stat().st_size > 10_000, name
        assert kind.startswith("text/javascript" if name.endswith(".js") else "text/css")


def test_library_file_routes_only_the_two_files() -> None:
    from graphcrm.app.library import library_file
    from graphcrm.app.viz import LIBRARY_FILES

    for name in LIBRARY_FILES:
        assert library_file(f"/_graphcrm/{name}") == name
        assert library_file(f"/crm/app/_graphcrm/{name}") == name  # behind a path prefix
    for path in ("/_graphcrm/", "/_graphcrm/serve.py", "/_graphcrm/vis-network.min.js",
                 "/_graphcrm/%2e%2e%2fapp.py"):
        assert library_file(path) == "", path
    for path in ("/", "/static/js/x.js", "/_stcore/health", "/a/b/c", "/_graphcrmx/a"):
        assert library_file(path) is None, path


def test_bad_upload_shows_a_message(tmp_path: Path, env_store) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("graphcrm.ingest.job", reason="ingest job not installed yet")
    env_store(tmp_path / "upload.db")
    at = run_app("page_data", "en")
    no_errors(at)
    at.file_uploader(key="data_upload").set_value(
        ("clients.xlsx", b"this is not a spreadsheet", "application/octet-stream")).run()
    at.button(key="data_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Import failed" in e.value for e in at.error), [e.value for e in at.error]


def test_hubs_bridges_on_request(sample_store: Path, env_store) -> None:  # type: ignore[no-untyped-def]
    env_store(sample_store)
    at = run_app("page_hubs", "en")
    no_errors(at)
    n = len(at.dataframe)
    at.toggle(key="hubs_show_bridges").set_value(True).run()
    no_errors(at)
    assert len(at.dataframe) == n + 1
    # not warmed (ingest_paths alone): computed on the page, which says from how many sources
    assert any("Betweenness from" in c.value for c in at.caption), [c.value for c in at.caption]
