"""Page 7: data (数据) — upload files into the store, see its location, version and counts."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from graphcrm.app.common import Ctx, uploader_in_words
from graphcrm.ingest.job import ingest_paths
from graphcrm.privacy import mask_rejects
from graphcrm.wording import count_words
from graphcrm.workspace import open_store, warm_graph


def count_label(ctx: Ctx, key: str) -> str:
    """A count of :meth:`GraphStore.counts` in words (node labels, tie types, ...)."""
    return count_words(key, ctx.lang)


def render(ctx: Ctx) -> None:
    st.header(ctx.t("page_data"))
    if not ctx.is_admin:  # the app hides the page too; this guards a direct call
        st.error(ctx.t("admin_only"))
        return
    st.markdown(f"**{ctx.t('store')}**: `{ctx.location}`  \n"
                f"**{ctx.t('data_version')}**: {ctx.version}")
    st.dataframe(pd.DataFrame({ctx.t("what"): [count_label(ctx, k) for k in ctx.counts],
                               ctx.t("counts"): list(ctx.counts.values())}),
                 hide_index=True, key="data_counts")
    uploader_in_words(ctx)
    st.caption(ctx.t("upload_limits"))
    files = st.file_uploader(ctx.t("upload"), type=["csv", "xlsx"], accept_multiple_files=True,
                             help=ctx.t("upload_help"), key="data_upload")
    if not files or not st.button(ctx.t("run_ingest"), key="data_run"):
        return
    bar = st.progress(0.0)

    def progress(label: str, done: int, total: int) -> None:
        bar.progress(min(done / total, 1.0) if total else 1.0,
                     text=ctx.t("progress", file=label, done=done, total=total))

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for f in files:
            path = Path(tmp) / Path(f.name).name
            path.write_bytes(f.getvalue())
            paths.append(path)
        try:
            with open_store(ctx.location, create=True) as store:
                report = ingest_paths(paths, store, progress=progress)
                ctx.audit("upload", [p.name for p in paths],
                          f"data version {report.data_version_before} -> "
                          f"{report.data_version_after}")
                if report.data_version_after != report.data_version_before:
                    with st.spinner(ctx.t("warming")):  # the next page then opens at once
                        warm_graph(store, ctx.settings)
        except Exception as exc:
            st.error(ctx.t("ingest_failed", error=exc))
            return
    bar.progress(1.0)
    st.success(ctx.t("ingest_done", before=report.data_version_before,
                     after=report.data_version_after))
    st.dataframe(report.summary_table(), hide_index=True, key="data_summary")
    rejects = mask_rejects(report.rejects)
    st.markdown(ctx.t("rejects", n=len(rejects)))
    if len(rejects):
        st.dataframe(rejects.head(200), hide_index=True, key="data_rejects")
        ctx.download(ctx.t("download_rejects"), rejects, "graphcrm-rejects.csv",
                     key="data_rejects_csv")
