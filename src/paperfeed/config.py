"""paperfeed's configuration: one declarative table of settings, read from the environment or a TOML file.

Every setting is declared once in ``SETTINGS`` (name, default, help, secret, type). ``load_config`` reads
``PAPERFEED_<NAME>`` environment variables over an optional TOML file (``PAPERFEED_CONFIG`` or ``--config``) over the
defaults, validates every value loudly, and returns a frozen ``Config`` that callers pass explicitly. Nothing here
runs at import time.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from paperfeed.errors import ConfigError

ENV_PREFIX = "PAPERFEED_"


def _int(value: str) -> int:
    return int(value)


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true/false, got {value!r}")


def _str(value: str) -> str:
    return value


def _list(value: str) -> list[str]:
    return [part.strip() for part in value.replace(",", " ").split() if part.strip()]


def _choice(*options: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {value!r}")
        return value

    return parse


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = _str
    secret: bool = False

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", None, "Directory for the SQLite store and index files (default: the user data dir)."),
    Setting("database_url", None, "Store URL: sqlite:///path/to.db or postgresql://… (default: SQLite in data_dir)."),
    Setting("arxiv_oai_url", "https://oaipmh.arxiv.org/oai", "arXiv OAI-PMH endpoint."),
    Setting("arxiv_api_url", "https://export.arxiv.org/api/query", "arXiv API (Atom) endpoint."),
    Setting("arxiv_rss_url", "https://rss.arxiv.org/atom", "arXiv daily listing feeds (Atom)."),
    Setting("hf_url", "https://huggingface.co", "Hugging Face endpoint for api/daily_papers."),
    Setting(
        "arxiv_sets", ["cs:cs:LG"], "OAI-PMH sets the worker harvests (space or comma separated; empty: none).", _list
    ),
    Setting("request_interval", 3, "Seconds between requests to arXiv (arXiv asks for at least 3).", _int),
    Setting("contact_email", "", "Contact address sent in the User-Agent to remote sources."),
    Setting("ingest_batch_size", 2000, "Papers written per transaction during ingest.", _int),
    Setting("embedding_model", "minilm-l6-int8", "Embedding model for semantic search (see `paperfeed index --help`)."),
    Setting("cache_dir", None, "Directory for caches (embedding vectors by text); default: the user cache dir."),
    Setting("base_url", "http://127.0.0.1:8000", "Public URL of this instance (for links in feeds and mail)."),
    Setting("secret_key", "", "Key for signing sessions and links; set it in production.", secret=True),
    Setting("smtp_host", "localhost", "SMTP server for digests."),
    Setting("smtp_port", 25, "SMTP port.", _int),
    Setting(
        "smtp_security", "none", "SMTP transport security: none, starttls or tls.", _choice("none", "starttls", "tls")
    ),
    Setting("smtp_user", "", "SMTP user name."),
    Setting("smtp_password", "", "SMTP password.", secret=True),
    Setting("mail_from", "paperfeed <paperfeed@localhost>", "From address of digests."),
    Setting("reply_to", "", "Reply-To address of digests (default: none)."),
    Setting("smtp_connections", 4, "SMTP connections the worker sends digests over at once.", _int),
    Setting("signups", True, "Whether visitors may create accounts on the site.", _bool),
    Setting("session_days", 30, "How long a log-in lasts, in days.", _int),
    Setting(
        "cookie_secure",
        "auto",
        "Mark cookies Secure: auto (when base_url is https), true or false.",
        _choice("auto", "true", "false"),
    ),
    Setting("web_workers", 1, "Web server processes for `paperfeed serve`.", _int),
    Setting(
        "worker_queue",
        "",
        "Task queue of `paperfeed worker`: empty for a SQLite file in data_dir, or redis://host:port/db.",
    ),
    Setting("harvest_days", 3, "How many days back the first scheduled harvest reaches.", _int),
    Setting("hf_signals", True, "Whether the worker refreshes Hugging Face Daily Papers upvotes hourly.", _bool),
    Setting("log_level", "INFO", "Logging level.", _choice("DEBUG", "INFO", "WARNING", "ERROR")),
)
_BY_NAME = {s.name: s for s in SETTINGS}


def default_setting(name: str) -> Any:
    return _BY_NAME[name].default


@dataclass(frozen=True)
class Config:
    values: Mapping[str, Any]
    origins: Mapping[str, str]  # setting name -> "default" | "env" | file path

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def data_path(self) -> Path:
        return Path(self.values["data_dir"])

    @property
    def store_url(self) -> str:
        url: str | None = self.values["database_url"]
        return url or f"sqlite:///{self.data_path / 'paperfeed.db'}"

    def describe(self) -> list[dict[str, Any]]:
        """Every setting with its effective value (secrets masked), origin and help, for ``paperfeed config``."""
        rows = []
        for s in SETTINGS:
            value = self.values[s.name]
            shown = ("********" if value else "") if s.secret else value
            rows.append({"name": s.name, "env": s.env, "value": shown, "origin": self.origins[s.name], "help": s.help})
        return rows


def _coerce(setting: Setting, raw: Any, origin: str) -> Any:
    if raw is None:
        return None
    if not isinstance(raw, str):
        if isinstance(setting.default, list) and isinstance(raw, list):
            return [str(x) for x in raw]
        if (isinstance(setting.default, (bool, int))) and isinstance(raw, int):
            return raw
        raw = str(raw)
    try:
        return setting.parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{setting.env} (from {origin}): {exc}") from None


def load_config(
    env: Mapping[str, str] | None = None, file: Path | None = None, overrides: Mapping[str, Any] | None = None
) -> Config:
    """Defaults < TOML file < environment < explicit overrides (e.g. CLI flags). Unknown names are errors."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {s.name: s.default for s in SETTINGS}
    origins = {s.name: "default" for s in SETTINGS}

    file = file or (Path(env[ENV_PREFIX + "CONFIG"]) if env.get(ENV_PREFIX + "CONFIG") else None)
    if file is not None:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {file} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {file}: {exc}") from None
        for key, raw in data.items():
            if key not in _BY_NAME:
                raise ConfigError(f"config file {file}: unknown setting {key!r}")
            values[key] = _coerce(_BY_NAME[key], raw, str(file))
            origins[key] = str(file)

    known_env = {s.env for s in SETTINGS} | {ENV_PREFIX + "CONFIG"}
    for key, raw in env.items():
        if not key.startswith(ENV_PREFIX):
            continue
        if key not in known_env:
            raise ConfigError(f"unknown setting {key} in the environment (known: see `paperfeed config`)")
        if key == ENV_PREFIX + "CONFIG":
            continue
        setting = next(s for s in SETTINGS if s.env == key)
        values[setting.name] = _coerce(setting, raw, "env")
        origins[setting.name] = "env"

    for key, raw in (overrides or {}).items():
        if raw is None:
            continue
        if key not in _BY_NAME:
            raise ConfigError(f"unknown setting {key!r}")
        values[key] = raw
        origins[key] = "option"

    if not values["data_dir"]:
        values["data_dir"] = platformdirs.user_data_dir("paperfeed", appauthor=False)
    values["data_dir"] = str(Path(values["data_dir"]).expanduser())
    if not values["cache_dir"]:
        values["cache_dir"] = platformdirs.user_cache_dir("paperfeed", appauthor=False)
    url = values["database_url"]
    if url and not (url.startswith("sqlite:///") or url.startswith(("postgresql://", "postgres://"))):
        raise ConfigError(f"{ENV_PREFIX}DATABASE_URL must start with sqlite:/// or postgresql://, got {url!r}")
    return Config(values, origins)
