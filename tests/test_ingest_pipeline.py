"""The two-process ingest pipeline gives exactly what one file after the other gives.

Every test runs the same real files into real SQLite stores twice, once with the pipeline
forced on (``ingest.pipeline_min_bytes = 0``) and once off (``-1``), and compares the stores
and reports. A spy subclass of the real :class:`_Pipeline` proves the pipeline ran.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pytest

from graphcrm.config import Settings
from graphcrm.ingest import job as ingest_job
from graphcrm.ingest.job import IngestReport, ingest_paths
from graphcrm.model import Label
from graphcrm.store.sqlite import SQLiteStore

from .conftest import SAMPLE_DIR
from .test_ingest import CORPUS, write_interactions_xlsx


class _SpyPipeline(ingest_job._Pipeline):
    """The real pipeline, remembered so a test can check that it ran and that it stopped."""

    started: ClassVar[list[_SpyPipeline]] = []

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        _SpyPipeline.started.append(self)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[_SpyPipeline]:
    _SpyPipeline.started = []
    monkeypatch.setattr(ingest_job, "_Pipeline", _SpyPipeline)
    return _SpyPipeline.started


def _settings(pipeline: bool) -> Settings:
    settings = Settings()
    settings.ingest.pipeline_min_bytes = 0 if pipeline else -1
    settings.ingest.batch_rows = 700  # several batches per file through the pipe
    return settings


def _dump(store: SQLiteStore) -> dict[str, object]:
    def ordered(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.sort_values(list(frame.columns)[:3]).reset_index(drop=True)

    out: dict[str, object] = {label.value: ordered(store.nodes(label)) for label in Label}
    out["relationships"] = ordered(store.relationships())
    out["interactions"] = ordered(store.interactions())
    out["aliases"] = store.aliases()
    out["counts"] = store.counts()
    out["data_version"] = store.data_version()
    return out


def _report_facts(report: IngestReport) -> tuple[object, ...]:
    files = [(Path(f.path).name, f.table, f.rows_read, f.accepted, f.rejected, f.merged,
              f.changed, f.error, f.warnings, f.encoding) for f in report.files]
    rejects = report.rejects.sort_values(["file", "row", "column"]).reset_index(drop=True)
    return files, rejects.to_dict(orient="records"), report.merges.to_dict(orient="records")


def _corpus_one_file_per_template(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    for extra in ("clients_branch2.csv", "agents_nohire.csv", "interactions_empty.csv"):
        (folder / extra).unlink()  # a second file of a template turns the pipeline off
    write_interactions_xlsx(folder / "interactions.xlsx")
    return folder


def _sample_with_bad_policies(tmp_path: Path) -> Path:
    folder = tmp_path / "sample"
    shutil.copytree(SAMPLE_DIR, folder)
    (folder / "policies.csv").write_text("policy_id,whatever\nP1,x\n", encoding="utf-8")
    return folder


def _refuse_organizations(store: SQLiteStore) -> None:
    con = sqlite3.connect(store.path)
    con.execute("CREATE TRIGGER no_orgs BEFORE INSERT ON organizations "
                "BEGIN SELECT RAISE(ABORT, 'organizations refused'); END")
    con.commit()
    con.close()


@pytest.mark.parametrize("case", ["sample", "corpus", "unusable_file", "store_refuses_a_file"])
def test_pipeline_equals_one_file_after_another(tmp_path: Path, spy: list[_SpyPipeline],
                                                case: str) -> None:
    if case == "corpus":
        folder = _corpus_one_file_per_template(tmp_path)
    elif case == "unusable_file":
        folder = _sample_with_bad_policies(tmp_path)
    else:
        folder = SAMPLE_DIR
    results = {}
    for pipeline in (False, True):
        with SQLiteStore(tmp_path / f"{pipeline}.db") as store:
            if case == "store_refuses_a_file":
                _refuse_organizations(store)
            report = ingest_paths([folder], store, settings=_settings(pipeline))
            results[pipeline] = (_report_facts(report), _dump(store))
    assert len(spy) == 1  # the second run, and only it, went through the pipeline
    (facts_seq, dump_seq), (facts_pipe, dump_pipe) = results[False], results[True]
    assert facts_pipe == facts_seq
    assert dump_pipe.keys() == dump_seq.keys()
    for key, value in dump_seq.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(dump_pipe[key], value, obj=key)  # type: ignore[arg-type]
        else:
            assert dump_pipe[key] == value, key
    counts = dump_seq["counts"]
    assert isinstance(counts, dict) and counts["Client"] > 0
    if case == "store_refuses_a_file":
        assert counts["Organization"] == 0 and counts["WORKS_AT"] == 0
        assert any("organizations refused" in (f[7] or "") for f in facts_pipe[0])
    if case == "unusable_file":
        assert counts["Policy"] == 0


def test_pipeline_seconds_add_up_to_the_job(tmp_path: Path, spy: list[_SpyPipeline]) -> None:
    import time

    with SQLiteStore(tmp_path / "a.db") as store:
        t0 = time.perf_counter()
        report = ingest_paths([SAMPLE_DIR], store, settings=_settings(True))
        wall = time.perf_counter() - t0
    assert spy
    total = sum(f.seconds for f in report.files)
    assert 0 < total <= wall  # each file's seconds is the wall time it added, no overlap


class _Stop(KeyboardInterrupt):
    pass


def test_ctrl_c_in_the_pipeline_rolls_back_the_file_and_stops_the_checker(
        tmp_path: Path, spy: list[_SpyPipeline]) -> None:
    settings = _settings(True)
    settings.ingest.progress_min_rows = 0

    def progress(label: str, done: int, total: int) -> None:
        if label == "clients.csv" and done >= 700:
            raise _Stop

    with SQLiteStore(tmp_path / "a.db") as store:
        with pytest.raises(_Stop):
            ingest_paths([SAMPLE_DIR], store, settings=settings, progress=progress)
        assert len(spy) == 1 and spy[0]._proc.poll() is not None  # the checker is gone
        counts = store.counts()
        assert counts["Client"] == 0 and counts["Agent"] == 14 and counts["Organization"] == 60
        ingest_paths([SAMPLE_DIR], store, settings=settings)  # and a re-run completes
        assert store.counts()["Client"] == 3000


def test_a_checker_that_dies_is_replaced_by_this_process(tmp_path: Path,
                                                          spy: list[_SpyPipeline]) -> None:
    settings = _settings(True)
    settings.ingest.progress_min_rows = 0
    killed: list[int] = []

    def progress(label: str, done: int, total: int) -> None:
        if label == "clients.csv" and done >= 700 and not killed:
            os.kill(spy[0]._proc.pid, signal.SIGKILL)  # e.g. the out-of-memory killer
            killed.append(spy[0]._proc.wait())

    with SQLiteStore(tmp_path / "a.db") as store:
        report = ingest_paths([SAMPLE_DIR], store, settings=settings, progress=progress)
        dump = _dump(store)
    assert killed == [-signal.SIGKILL]
    with SQLiteStore(tmp_path / "b.db") as store:
        expected = ingest_paths([SAMPLE_DIR], store, settings=_settings(False))
        expected_dump = _dump(store)
    # the checker may have sent all of clients.csv before it died: then a later file notices
    noticed = [w for w in report.warnings if "second process checking the files stopped" in w]
    assert len(noticed) == 1 and "checked in this process" in noticed[0]
    assert _report_facts(report) == _report_facts(expected)
    assert dump["counts"] == expected_dump["counts"] and dump["counts"]["Client"] == 3000
    pd.testing.assert_frame_equal(dump["relationships"], expected_dump["relationships"])


def test_pipeline_only_for_a_first_load_with_one_file_per_template(tmp_path: Path) -> None:
    sample = sorted(ingest_job.discover_inputs([SAMPLE_DIR]), key=lambda tp: tp[1].name)
    on = _settings(True)
    assert ingest_job._use_pipeline(sample, True, on)
    assert not ingest_job._use_pipeline(sample, False, on)  # the store holds data
    assert not ingest_job._use_pipeline(sample, True, _settings(False))
    assert not ingest_job._use_pipeline(sample[:1], True, on)
    assert not ingest_job._use_pipeline(sample + sample[:1], True, on)  # two agents files
    big = Settings()
    assert not ingest_job._use_pipeline(sample, True, big)  # the sample is below the default
