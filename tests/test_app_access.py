"""Sign-in, roles and scope on every page of the app (streamlit AppTest on the real sample store
with real users); masking and audit rows of what people do in it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd
import pytest
from google.protobuf import text_format
from streamlit.testing.v1 import AppTest

from graphcrm.config import AccessSettings
from graphcrm.i18n import t
from graphcrm.privacy import mask_id_number, mask_phone
from graphcrm.store.access import AccessStore
from graphcrm.store.sqlite import SQLiteStore
from graphcrm.workspace import load_graph
from tests.test_app import (
    ADMIN,
    APP,
    PAGES,
    add_user,
    build_sample_store,
    run_app,
    sign_in,
)

AGENT_PW = "agent-password-for-tests"
MANAGER_PW = "manager-password-for-tests"
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The sample store with an admin, an agent (the biggest book) and its team's manager."""
    path = build_sample_store(tmp_path_factory.mktemp("access") / "sample.db")
    with SQLiteStore(path, create=False) as store:
        ag = load_graph(store)
    agent = str(ag.serving.value_counts().index[0])
    team = str(ag.agents.at[agent, "team"])
    add_user(path)
    add_user(path, "wang", AGENT_PW, "agent", agent_id=agent)
    add_user(path, "li", MANAGER_PW, "manager", teams=[team])
    others = ag.clients.index[ag.serving.reindex(ag.clients.index).notna()
                              & (ag.serving.reindex(ag.clients.index) != agent)]
    mine = set(ag.book(agent))
    visible_names = set(ag.clients.loc[ag.clients.index.isin(mine)
                                       | ag.serving.reindex(ag.clients.index).isna().to_numpy(),
                                       "name"].dropna())
    # names of other agents' clients that no visible person shares (so a hit is a leak)
    hidden = set(ag.clients.loc[others, "name"].dropna()) - visible_names - set(ag.agents["name"])
    return {"path": path, "ag": ag, "agent": agent, "team": team, "hidden": hidden,
            "phones": set(ag.clients["phone"].dropna().astype(str))}


@pytest.fixture
def store_env(world: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GRAPHCRM_STORE", str(world["path"]))
    return world["path"]  # type: ignore[return-value]


def has_name(text: str, name: str) -> bool:
    """``name`` as a whole name in ``text`` (刘建 is not found inside 刘建军)."""
    return re.search(rf"(?<![\u4e00-\u9fff·]){re.escape(name)}(?![\u4e00-\u9fff·])",
                     text) is not None


def page_text(at: AppTest) -> str:
    """Everything the page holds: every element's content (tables as CSV, drawings' HTML)."""
    parts: list[str] = []

    def walk(node: object) -> None:
        value = getattr(node, "value", None)
        if isinstance(value, pd.DataFrame):
            parts.append(value.to_csv())
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "DESCRIPTOR"):
            parts.append(text_format.MessageToString(proto, as_utf8=True))
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)

    walk(at._tree)
    return "\n".join(parts)


def test_unsigned_visitor_sees_only_the_sign_in_form(store_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    for page in ("", *PAGES):  # whatever page was asked for
        if page:
            at.session_state["page"] = page
        at.run()
        assert not at.exception
        assert [w.key for w in at.text_input] == ["signin_user", "signin_password"]
        assert not at.dataframe and not at.header and not at.selectbox
        assert not [r for r in at.sidebar.radio if r.key == "page"]
        text = page_text(at)
        assert "A000001" not in text and not PHONE.search(text)


def test_wrong_password_is_refused_and_audited(store_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    sign_in(at, "wang", "not the password")
    assert any("Wrong user name or password" in e.value or "用户名或密码不正确" in e.value
               for e in at.error)
    assert not at.dataframe
    with AccessStore(store_env, AccessSettings()) as acc:
        rows = acc.audit(user="wang")
    assert "signin_failed" in set(rows["action"])


def test_idle_session_ends(store_env: Path) -> None:
    at = run_app("page_hubs", "en")
    assert at.header and at.header[0].value == "Influence hubs"
    idle = AccessSettings().session_idle_minutes * 60
    at.session_state["auth_seen"] = time.time() - idle + 60  # a minute left: still signed in
    at.run()
    assert at.header and at.header[0].value == "Influence hubs"
    at.session_state["auth_seen"] = time.time() - idle - 1  # the last click was too long ago
    at.run()
    assert [w.key for w in at.text_input] == ["signin_user", "signin_password"]
    assert any("signed out" in i.value for i in at.info)


def test_data_page_is_for_admins_only(store_env: Path) -> None:
    at = run_app("page_opmap", "en", "wang", AGENT_PW)
    options = next(r for r in at.sidebar.radio if r.key == "page").options
    assert "Data" not in options and "Client operation map" in options
    assert t("page_orphans", "en") not in options  # handing out orphans: managers, admins
    at = run_app("page_data", "en")  # the admin has it
    assert at.header[0].value == "Data"


@pytest.mark.parametrize("page", [p for p in PAGES if p not in ("page_data", "page_orphans")])
def test_agent_sees_no_colleague_client_name_or_full_phone(world: dict[str, object],
                                                           store_env: Path, page: str) -> None:
    at = run_app(page, "en", "wang", AGENT_PW)
    assert not at.exception, [e.value for e in at.exception]
    text = page_text(at)
    leaked = sorted(n for n in world["hidden"] if has_name(text, n))  # type: ignore[attr-defined]
    assert not leaked, f"{page} shows other agents' clients: {leaked[:5]}"
    phones = set(PHONE.findall(text)) & world["phones"]  # type: ignore[operator]
    assert not phones, f"{page} shows full phones: {sorted(phones)[:5]}"
    for box in at.selectbox:
        if box.key in ("opmap_agent", "paths_agent", "gaps_agent"):
            assert box.options and all(world["agent"] in o for o in box.options)  # type: ignore[operator]


def test_agent_operation_map_masks_colleagues_clients(world: dict[str, object],
                                                      store_env: Path) -> None:
    at = run_app("page_opmap", "en", "wang", AGENT_PW)
    at.number_input(key="opmap_limit").set_value(2000).run()  # everyone within reach
    table = at.dataframe[0].value
    ag = world["ag"]
    # the name column reads "NAME (ID)" (i10's readable table)
    name_col = next(c for c in table.columns if c.lower() == "name")
    ids = table[name_col].str.extract(r"\(([^()]+)\)$")[0]
    served = ag.serving.reindex(ids)  # type: ignore[attr-defined]
    other = served.notna().to_numpy() & (served != world["agent"]).to_numpy()
    assert other.any(), "the fixture agent reaches colleagues' clients"
    assert table.loc[other, name_col].str.startswith("a client of 同事 ").all()
    mine = ~other & served.notna().to_numpy()
    assert not table.loc[mine, name_col].str.startswith("a client of").any()


def test_manager_sees_only_their_teams(world: dict[str, object], store_env: Path) -> None:
    at = run_app("page_opmap", "en", "li", MANAGER_PW)
    ag = world["ag"]
    team_agents = set(ag.agents.index[ag.agents["team"] == world["team"]])  # type: ignore[attr-defined]
    options = at.selectbox(key="opmap_agent").options
    ids = {re.search(r"\(([^()]+)\)$", o).group(1) for o in options}  # type: ignore[union-attr]
    assert ids == team_agents


def test_agent_search_finds_only_own_book_and_is_audited(world: dict[str, object],
                                                         store_env: Path) -> None:
    ag = world["ag"]
    hidden_name = sorted(world["hidden"])[0]  # type: ignore[call-overload]
    at = run_app("page_paths", "en", "wang", AGENT_PW)
    at.text_input(key="paths_search").input(hidden_name).run()
    assert not at.exception
    if at.selectbox(key="paths_target") if "paths_target" in [s.key for s in at.selectbox] \
            else None:
        for option in at.selectbox(key="paths_target").options:
            assert hidden_name not in option
    with AccessStore(store_env, AccessSettings()) as acc:
        rows = acc.audit(user="wang")
    searches = rows.loc[rows["action"] == "search"]
    assert len(searches) and hidden_name not in "".join(searches["detail"])
    assert searches.iloc[-1]["detail"].startswith("q=")
    del ag


def test_views_and_sign_ins_are_audited(world: dict[str, object], store_env: Path) -> None:
    at = run_app("page_opmap", "en", "wang", AGENT_PW)
    at.number_input(key="opmap_limit").set_value(2000).run()  # everyone within reach
    ag = world["ag"]
    ids = [re.search(r"\(([^()]+)\)$", o).group(1)  # type: ignore[union-attr]
           for o in at.selectbox(key="opmap_person").options[1:]]
    # a prospect nobody serves (AppTest formats options outside the session, unscoped)
    person = next(i for i in ids if ag.serving_agent(i) is None)  # type: ignore[attr-defined]
    at.selectbox(key="opmap_person").set_value(person).run()
    assert not at.exception
    with AccessStore(store_env, AccessSettings()) as acc:
        rows = acc.audit(user="wang")
        assert acc.verify_audit() is None
    assert {"signin", "view"} <= set(rows["action"])


def test_scoped_graph_gives_narration_only_names_in_scope(world: dict[str, object]) -> None:
    """The scoped copy of the analysis graph an agent's pages read: colleagues' clients are
    renamed with no contact, the agent's own clients are unchanged, and a warm path told from
    the copy (i10's narration) names no colleague's client even when it walks through one."""
    from graphcrm.metrics.narrate import tell_path
    from graphcrm.metrics.paths import warm_paths
    from graphcrm.scope import scope_for, scoped_graph
    from graphcrm.store.access import User

    ag = world["ag"]
    agent = str(world["agent"])
    scope = scope_for(User("wang", "agent", agent_id=agent), ag)
    before = ag.clients.copy(), ag.nodes.copy()  # type: ignore[attr-defined]
    view = scoped_graph(scope, ag, "en")
    # the copy shares unchanged columns with the original: the original must stay as it was
    pd.testing.assert_frame_equal(before[0], ag.clients)  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(before[1], ag.nodes)  # type: ignore[attr-defined]
    serving = ag.serving.reindex(ag.clients.index)  # type: ignore[attr-defined]
    others = ag.clients.index[serving.notna() & (serving != agent)]  # type: ignore[attr-defined]
    mine = ag.book(agent)  # type: ignore[attr-defined]
    assert len(others) and len(mine)
    assert all(view.name(i).startswith("a client of 同事 ") for i in others)
    assert view.clients.loc[others, "phone"].isna().all()
    assert [view.name(i) for i in mine] == [ag.name(i) for i in mine]  # type: ignore[attr-defined]
    assert ag.name(others[0]) == ag.clients.at[others[0], "name"]  # the original is untouched
    # warm paths through colleagues' clients, told from the scoped copy
    prospects = ag.clients.index[serving.isna()]  # type: ignore[attr-defined]
    through = 0
    for target in prospects[:60]:
        if through >= 3:  # enough: each warm-path search costs a second on the sample
            break
        for path in warm_paths(view, agent, str(target)):
            hops = [h.person_id for h in path.hops[:-1]]
            if not set(hops) & set(others):
                continue
            through += 1
            story = tell_path(view, agent, path, "en")
            text = " ".join([*story.steps, story.opener])
            leaked = [n for n in world["hidden"] if has_name(text, n)]  # type: ignore[attr-defined]
            assert not leaked, (text, leaked[:3])
    assert through, "no warm path in the sample walks through a colleague's client"


@pytest.mark.parametrize(("user", "password", "role"), [
    (ADMIN, None, "admin"), ("wang", AGENT_PW, "agent"), ("li", MANAGER_PW, "manager")])
def test_full_numbers_only_for_an_admin_on_the_person_detail(
        world: dict[str, object], store_env: Path, user: str, password: str | None,
        role: str) -> None:
    """A client of the agent's own book, opened on the operation map: everyone who may see the
    person reads the masked mobile and ID number; only an admin gets the reveal button, the
    full numbers show for that one run, and the reveal is audited."""
    ag = world["ag"]
    at = run_app("page_opmap", "en", user, password) if password else run_app("page_opmap", "en")
    at.selectbox(key="opmap_agent").set_value(world["agent"]).run()
    at.number_input(key="opmap_limit").set_value(2000).run()
    ids = [re.search(r"\(([^()]+)\)$", o).group(1)  # type: ignore[union-attr]
           for o in at.selectbox(key="opmap_person").options[1:]]
    clients = ag.clients  # type: ignore[attr-defined]
    book = set(ag.book(world["agent"]))  # type: ignore[attr-defined]
    person = next(i for i in ids if i in book and isinstance(clients.at[i, "phone"], str)
                  and isinstance(clients.at[i, "id_number"], str))
    phone, idn = str(clients.at[person, "phone"]), str(clients.at[person, "id_number"])
    at.selectbox(key="opmap_person").set_value(person).run()
    assert not at.exception
    text = page_text(at).replace("\\", "")  # Markdown escapes in table cells
    assert mask_phone(phone) in text and mask_id_number(idn) in text
    assert phone not in text and idn not in text
    reveal = [b for b in at.button if b.key == "reveal_numbers"]
    if role != "admin":
        assert reveal == []
        with AccessStore(store_env, AccessSettings()) as acc:
            rows = acc.audit(user=user)
        assert "view_personal_data" not in set(rows["action"])
        return
    assert len(reveal) == 1
    reveal[0].click().run()
    assert not at.exception
    text = page_text(at).replace("\\", "")
    assert phone in text and idn in text
    with AccessStore(store_env, AccessSettings()) as acc:
        rows = acc.audit(user=ADMIN)
        token = acc.person_token(person, create=False)
    seen = rows.loc[rows["action"] == "view_personal_data"]
    assert list(seen["target"])[-1:] == [token]  # the person's audit token, not the id
    # the next click anywhere hides them again
    at.number_input(key="opmap_limit").set_value(1999).run()
    text = page_text(at).replace("\\", "")
    assert phone not in text and mask_phone(phone) in text
