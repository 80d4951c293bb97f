"""GraphCRM app: ``streamlit run app.py`` (store from $GRAPHCRM_STORE, see docs/app.md)."""

from __future__ import annotations

import streamlit as st

from graphcrm.app import (
    auth,
    common,
    data,
    gaps,
    hubs,
    opmap,
    orphans,
    paths,
    penetration,
    rewards,
    visits,
)
from graphcrm.config import load_settings, store_location
from graphcrm.i18n import LANGUAGES, t

PAGES = {
    "page_opmap": opmap.render,
    "page_paths": paths.render,
    "page_penetration": penetration.render,
    "page_hubs": hubs.render,
    "page_rewards": rewards.render,
    "page_gaps": gaps.render,
    "page_orphans": orphans.render,
    "page_visits": visits.render,
    "page_data": data.render,
}

st.set_page_config(page_title="GraphCRM", page_icon="🕸", layout="wide")
default_lang = load_settings().app.default_language
langs = list(LANGUAGES)
lang = st.sidebar.radio(
    "语言 / Language", langs, key="lang", format_func=LANGUAGES.__getitem__,
    index=langs.index(default_lang) if default_lang in langs else 0, horizontal=True,
)
if st.session_state.get("_lang_shown", lang) != lang:
    common.keep_selections()  # the same page and choices, now labelled in the other language
st.session_state["_lang_shown"] = lang
# the analysis graph loads in the background while the sign-in form shows
common.preload(store_location(None), load_settings())
# nothing but the sign-in form until a user signs in (docs/privacy.md)
user = auth.require_user(store_location(None), load_settings(), lang)
st.sidebar.title(t("app_title", lang))
st.sidebar.caption(t("signed_in_as", lang, user=user.name, role=t(f"role_{user.role}", lang)))
if st.sidebar.button(t("sign_out", lang), key="sign_out"):
    auth.sign_out()
    st.rerun()
# Data: admins only; Orphans (hand out a departed agent's clients): managers and admins
pages = [p for p in PAGES
         if (p != "page_data" or user.role == "admin")
         and (p != "page_orphans" or user.role in ("manager", "admin"))]
page = st.sidebar.radio(t("page", lang), pages, key="page", format_func=lambda k: t(k, lang))
ctx = common.context(lang, user)
if ctx is not None:
    st.sidebar.caption(f"{t('store', lang)}: {ctx.location} · {t('data_version', lang)} "
                       f"{ctx.version}")
    if page not in pages:
        st.error(t("admin_only", lang))
    elif ctx.empty and page != "page_data":
        st.info(t("empty_store", lang, store=ctx.location))
    else:
        try:
            PAGES[page](ctx)
        except Exception as exc:
            st.error(t("failed", lang, error=f"{type(exc).__name__}: {exc}"))
