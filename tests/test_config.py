"""Settings: defaults, overrides from a TOML file, clear errors, and docs that match the code."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphcrm.cli import main
from graphcrm.config import ConfigError, Settings, load_settings, settings_dict, settings_toml

from .conftest import ROOT


def test_override_file_changes_only_the_keys_given(tmp_path: Path) -> None:
    cfg = tmp_path / "crm.toml"
    cfg.write_text(
        "[metrics]\nmax_hops = 6\n[metrics.base_strength]\nFRIEND_OF = 0.7\n"
        "[rewards]\nlevel_shares = [0.2, 0.1]\n",
        encoding="utf-8",
    )
    s = load_settings(cfg)
    assert s.metrics.max_hops == 6
    assert s.metrics.base_strength["FRIEND_OF"] == 0.7
    # a partial table keeps the other defaults of that table
    assert s.metrics.base_strength["RELATIVE_OF:spouse"] == Settings().metrics.base_strength[
        "RELATIVE_OF:spouse"
    ]
    assert s.rewards.level_shares == (0.2, 0.1)
    assert s.metrics.top_k_paths == Settings().metrics.top_k_paths


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[metrics]\nmax_hop = 6\n", "bad.toml: metrics.max_hop: unknown setting"),
        ("[metrics]\nmax_hops = 'six'\n", "bad.toml: metrics.max_hops: expected a number"),
        ("[ingest]\nmax_field_bytes = 1.5\n",
         "bad.toml: ingest.max_field_bytes: expected a whole number"),
        ("[ingest]\nreject_unterminated_last_row = 1\n",
         "bad.toml: ingest.reject_unterminated_last_row: expected true or false"),
        ("metrics = 3\n", "bad.toml: metrics: expected a table"),
        ("[metrics\n", "not valid TOML"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(cfg)


def test_config_path_that_is_a_folder_is_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from graphcrm.cli import main

    for args in (["config"], ["ingest", str(tmp_path), "--store", str(tmp_path / "x.db")]):
        res = CliRunner().invoke(main, [*args, "--config", str(tmp_path)])
        assert res.exit_code == 1
        lines = res.stderr.strip().splitlines()
        assert lines == [f"error: {tmp_path}: is a folder, not a config file"], res.output


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")


def test_neo4j_password_comes_from_the_environment_and_is_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRAPHCRM_NEO4J_PASSWORD", "s3cret")
    s = load_settings()
    assert s.neo4j.password == "s3cret"
    assert "s3cret" not in settings_toml(s)


def test_config_command_output_round_trips_to_the_defaults(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0, result.output
    cfg = tmp_path / "printed.toml"
    cfg.write_text(result.output, encoding="utf-8")
    assert settings_dict(load_settings(cfg)) == settings_dict(Settings())


def test_docs_config_lists_every_setting_with_its_default() -> None:
    """docs/config.md embeds the `graphcrm config` output; it must not drift from the code."""
    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(.*?)```", text, re.S)
    assert block, "docs/config.md has no ```toml block"
    assert tomllib.loads(block.group(1)) == tomllib.loads(settings_toml(Settings()))
