"""The settings table: precedence, validation, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperfeed.config import SETTINGS, Config, load_config
from paperfeed.errors import ConfigError


def test_defaults_put_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    cfg = load_config(env={"PAPERFEED_DATA_DIR": str(tmp_path)})
    assert cfg.store_url == f"sqlite:///{tmp_path / 'paperfeed.db'}"
    assert cfg.origins["data_dir"] == "env"
    assert cfg.request_interval == 3


def test_file_then_env_then_overrides(tmp_path: Path) -> None:
    file = tmp_path / "pf.toml"
    file.write_text('smtp_port = 2525\nmail_from = "lab <lab@example.org>"\narxiv_sets = ["cs:cs:LG", "cs:cs:CL"]\n')
    cfg = load_config(env={"PAPERFEED_SMTP_PORT": "587"}, file=file, overrides={"mail_from": "x@y"})
    assert cfg.smtp_port == 587 and cfg.origins["smtp_port"] == "env"
    assert cfg.mail_from == "x@y"
    assert cfg.arxiv_sets == ["cs:cs:LG", "cs:cs:CL"] and cfg.origins["arxiv_sets"] == str(file)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PAPERFEED_SMTP_PORT": "twenty-five"}, "PAPERFEED_SMTP_PORT"),
        ({"PAPERFEED_SMTP_SECURITY": "ssl"}, "none, starttls, tls"),
        ({"PAPERFEED_NO_SUCH_THING": "1"}, "unknown setting PAPERFEED_NO_SUCH_THING"),
        ({"PAPERFEED_DATABASE_URL": "mysql://x"}, "sqlite:///"),
    ],
)
def test_bad_values_fail_loudly(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(env=env)


def test_unknown_key_in_file(tmp_path: Path) -> None:
    file = tmp_path / "pf.toml"
    file.write_text("smtp_prot = 1\n")
    with pytest.raises(ConfigError, match="unknown setting 'smtp_prot'"):
        load_config(env={}, file=file)


def test_secrets_are_hidden() -> None:
    cfg = load_config(env={"PAPERFEED_SMTP_PASSWORD": "hunter2"})
    rows = {r["name"]: r for r in cfg.describe()}
    assert rows["smtp_password"]["value"] == "********"
    assert "hunter2" not in repr(cfg.describe())
    assert {s.name for s in SETTINGS if s.secret} >= {"smtp_password", "secret_key"}


def test_every_value_has_its_settings_type(tmp_path: Path) -> None:
    """What the table declares is what callers get, whether a value comes from the environment or the file."""
    file = tmp_path / "pf.toml"
    file.write_text("smtp_port = 2525\nsignups = false\narxiv_sets = []\n")
    env = {"PAPERFEED_SESSION_DAYS": "7", "PAPERFEED_HF_SIGNALS": "no", "PAPERFEED_ARXIV_SETS": "cs:cs:LG, math"}
    cfg = load_config(env=env, file=file)
    assert (cfg.smtp_port, cfg.signups, cfg.session_days, cfg.hf_signals) == (2525, False, 7, False)
    assert cfg.arxiv_sets == ["cs:cs:LG", "math"] and load_config(env={}, file=file).arxiv_sets == []
    for s in SETTINGS:
        if s.default is not None:
            assert type(getattr(cfg, s.name)) is type(s.default), s.name
    assert cfg.database_url is None and cfg.data_dir and cfg.cache_dir  # resolved, never empty


@pytest.mark.parametrize(("toml", "env"), [("smtp_port = true", "PAPERFEED_SMTP_PORT"), ("signups = 1", None)])
def test_a_file_value_of_another_type_is_parsed_or_refused(tmp_path: Path, toml: str, env: str | None) -> None:
    file = tmp_path / "pf.toml"
    file.write_text(toml + "\n")
    if env:
        with pytest.raises(ConfigError, match=env):
            load_config(env={}, file=file)
    else:
        assert load_config(env={}, file=file).signups is True


def test_the_table_is_the_typed_accessor() -> None:
    assert Config.smtp_port.default == 25 and Config.smtp_port.env == "PAPERFEED_SMTP_PORT"
    assert [s.name for s in SETTINGS][:2] == ["data_dir", "database_url"]
    with pytest.raises(AttributeError):
        load_config(env={}).no_such_setting  # noqa: B018
