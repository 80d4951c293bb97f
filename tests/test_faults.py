"""The kill -9 loop (issue 14): at least 50 SIGKILLs at random moments of real ingests into
real SQLite files, both ingest modes, every check after every kill (graphcrm.bench.faults)."""

from __future__ import annotations

import pytest

from graphcrm.bench.faults import run_faults


@pytest.mark.slow
def test_fifty_kills_leave_every_file_all_or_nothing() -> None:
    report = run_faults(50, seed=14, clients=200)
    assert report.failures == []
    assert report.kills == 50
    assert report.by_mode == {"single": 25, "pipeline": 25}
    for count in (report.integrity_ok, report.all_or_nothing_ok, report.no_orphan_checker,
                  report.no_temp_files, report.rerun_exact):
        assert count == 50
    assert report.rerun_idempotent == report.second_reruns == 5
    # the kills landed inside the job, not only before or after it
    assert sum(n for files, n in report.committed_files.items() if 0 < files < 6) > 0
