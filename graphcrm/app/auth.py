"""Sign-in for the app: nothing but the sign-in form until a user signs in.

The users, the throttle and the audit trail live in the store's access file
(:mod:`graphcrm.store.access`). A session remembers the user's name and the time of its last
click; after ``[access] session_idle_minutes`` without a click, or when the user is disabled,
the next click shows the sign-in form again.
"""

from __future__ import annotations

import math
import time

import streamlit as st

from graphcrm.config import Settings
from graphcrm.i18n import t
from graphcrm.store.access import AccessStore, User
from graphcrm.workspace import open_access_store

_USER, _SEEN, _EXPIRED = "auth_user", "auth_seen", "auth_expired"


@st.cache_resource(max_entries=4, show_spinner=False)
def access_store(location: str, _settings: Settings) -> AccessStore:
    """One access store per store location for the whole app process."""
    return open_access_store(location, _settings)


def sign_out() -> None:
    for key in (_USER, _SEEN):
        st.session_state.pop(key, None)


def current_user(acc: AccessStore, settings: Settings) -> User | None:
    """The signed-in user of this session, or None (idle too long, disabled or never)."""
    name = st.session_state.get(_USER)
    if not name:
        return None
    now = time.time()
    idle = now - float(st.session_state.get(_SEEN, 0.0))
    user = acc.get_user(name)
    if idle > settings.access.session_idle_minutes * 60 or user is None or user.disabled:
        sign_out()
        st.session_state[_EXPIRED] = True
        return None
    st.session_state[_SEEN] = now
    return user


def require_user(location: str, settings: Settings, lang: str) -> User:
    """The signed-in user; otherwise show the sign-in form and stop this run of the page."""
    acc = access_store(location, settings)
    user = current_user(acc, settings)
    if user is not None:
        return user
    st.title(t("signin_title", lang))
    if st.session_state.pop(_EXPIRED, False):
        st.info(t("signin_expired", lang))
    with st.form("signin", clear_on_submit=True):
        name = st.text_input(t("signin_user", lang), key="signin_user")
        password = st.text_input(t("signin_password", lang), type="password",
                                 key="signin_password")
        submitted = st.form_submit_button(t("signin_submit", lang))
    if submitted:
        result = acc.sign_in(name, password)
        if result.user is not None:
            st.session_state[_USER] = result.user.name
            st.session_state[_SEEN] = time.time()
            st.rerun()
        elif result.reason == "throttled":
            st.error(t("signin_throttled", lang, s=math.ceil(result.wait_seconds)))
        else:
            st.error(t("signin_failed", lang))
            if not acc.users():
                st.info(t("signin_no_users", lang))
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises
