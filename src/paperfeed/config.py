"""paperfeed's configuration: one declarative table of settings, read from the environment or a TOML file.

Every setting is declared once, as one row of the table (name, default, help, parser, secret); the parser's return
type is the setting's type, and the row is also its typed accessor, so ``config.smtp_port`` is an ``int`` to mypy
with no cast where it is used. ``SETTINGS`` lists the rows in order. ``load_config`` reads ``PAPERFEED_<NAME>``
environment variables over an optional TOML file (``PAPERFEED_CONFIG`` or ``--config``) over the defaults,
validates every value loudly, and returns a frozen ``Config`` that callers pass explicitly. Nothing here runs at
import time.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

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


def _networks(value: str) -> list[str]:
    """Addresses and networks (``10.0.0.1``, ``10.0.0.0/8``, ``::1``), each checked."""
    parts = _list(value)
    for part in parts:
        ipaddress.ip_network(part, strict=False)  # a ValueError names the bad one
    return parts


def _choice(*options: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {value!r}")
        return value

    return parse


T = TypeVar("T")


class Setting(Generic[T]):
    """One row of the table: default, help, parser (whose return type is the setting's type), secret.

    A row is also the typed accessor: ``config.smtp_port`` is an ``int`` to mypy and at run time, read from the
    validated values of that ``Config``; ``Config.smtp_port`` is the row itself."""

    name: str
    default: T
    help: str
    parse: Callable[[str], T]
    secret: bool

    @overload
    def __init__(self: Setting[str], default: str, help: str, *, secret: bool = False) -> None: ...
    @overload
    def __init__(self, default: T, help: str, parse: Callable[[str], T], *, secret: bool = False) -> None: ...
    def __init__(self, default: Any, help: str, parse: Callable[[str], Any] = _str, *, secret: bool = False) -> None:
        self.default = default
        self.help = help
        self.parse = parse
        self.secret = secret

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, config: None, owner: type) -> Setting[T]: ...
    @overload
    def __get__(self, config: Config, owner: type) -> T: ...
    def __get__(self, config: Config | None, owner: type) -> Setting[T] | T:
        if config is None:
            return self
        value: T = config.values[self.name]
        return value

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    def __repr__(self) -> str:
        return f"Setting({self.name!r})"


class _Table:
    """The settings, in the order ``paperfeed config`` lists them. Each row's type comes from its parser."""

    # Empty data_dir / cache_dir: the user data / cache directory (resolved by load_config, so never empty after).
    data_dir = Setting("", "Directory for the SQLite store and index files (default: the user data dir).")
    database_url = Setting[str | None](
        None, "Store URL: sqlite:///path/to.db or postgresql://… (default: SQLite in data_dir).", _str
    )
    arxiv_oai_url = Setting("https://oaipmh.arxiv.org/oai", "arXiv OAI-PMH endpoint.")
    arxiv_api_url = Setting("https://export.arxiv.org/api/query", "arXiv API (Atom) endpoint.")
    arxiv_rss_url = Setting("https://rss.arxiv.org/atom", "arXiv daily listing feeds (Atom).")
    hf_url = Setting("https://huggingface.co", "Hugging Face endpoint for api/daily_papers.")
    arxiv_sets = Setting(
        ["cs:cs:LG"], "OAI-PMH sets the worker harvests (space or comma separated; empty: none).", _list
    )
    request_interval = Setting(3, "Seconds between requests to arXiv (arXiv asks for at least 3).", _int)
    contact_email = Setting("", "Contact address sent in the User-Agent to remote sources.")
    ingest_batch_size = Setting(2000, "Papers written per transaction during ingest.", _int)
    embedding_model = Setting("minilm-l6-int8", "Embedding model for semantic search (see `paperfeed index --help`).")
    cache_dir = Setting("", "Directory for caches (embedding vectors by text); default: the user cache dir.")
    base_url = Setting("http://127.0.0.1:8000", "Public URL of this instance (for links in feeds and mail).")
    secret_key = Setting("", "Key for signing sessions and links; set it in production.", secret=True)
    mail_transport = Setting(
        "smtp",
        "How mail leaves: smtp, or outbox (kept as files in <data dir>/outbox and shown at /outbox; nothing is sent:"
        " for demos and trials).",
        _choice("smtp", "outbox"),
    )
    smtp_host = Setting("localhost", "SMTP server for digests.")
    smtp_port = Setting(25, "SMTP port.", _int)
    smtp_security = Setting(
        "none", "SMTP transport security: none, starttls or tls.", _choice("none", "starttls", "tls")
    )
    smtp_user = Setting("", "SMTP user name.")
    smtp_password = Setting("", "SMTP password.", secret=True)
    mail_from = Setting("paperfeed <paperfeed@localhost>", "From address of digests.")
    reply_to = Setting("", "Reply-To address of digests (default: none).")
    smtp_connections = Setting(4, "SMTP connections the worker sends digests over at once.", _int)
    signups = Setting(True, "Whether visitors may create accounts on the site.", _bool)
    session_days = Setting(30, "How long a log-in lasts, in days.", _int)
    cookie_secure = Setting(
        "auto", "Mark cookies Secure: auto (when base_url is https), true or false.", _choice("auto", "true", "false")
    )
    trusted_proxies: Setting[list[str]] = Setting(
        [],
        "Reverse proxies (addresses or networks) whose X-Forwarded-For names the visitor, for rate limits; "
        "empty: none, the peer's address counts.",
        _networks,
    )
    web_workers = Setting(1, "Web server processes for `paperfeed serve`.", _int)
    page_cache_mb = Setting(64, "MB per web process for anonymous pages rendered once per change; 0: off.", _int)
    page_cache_seconds = Setting(60, "Longest an anonymous page is served from cache, even with no change.", _int)
    index_follow_seconds = Setting(
        2, "How often a web process checks the store for changes its keyword index lacks; 0: only on searches.", _int
    )
    health_max_index_lag = Setting(
        0, "/healthz fails (503) when the keyword index is more changes than this behind the store; 0: never.", _int
    )
    worker_queue = Setting(
        "", "Task queue of `paperfeed worker`: empty for a SQLite file in data_dir, or redis://host:port/db."
    )
    harvest_days = Setting(3, "How many days back the first scheduled harvest reaches.", _int)
    hf_signals = Setting(True, "Whether the worker refreshes Hugging Face Daily Papers upvotes hourly.", _bool)
    log_level = Setting("INFO", "Logging level.", _choice("DEBUG", "INFO", "WARNING", "ERROR"))


SETTINGS: tuple[Setting[Any], ...] = tuple(v for v in vars(_Table).values() if isinstance(v, Setting))
_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Config(_Table):
    """The validated values of every setting; read them as typed attributes (``config.smtp_port``)."""

    values: Mapping[str, Any]
    origins: Mapping[str, str]  # setting name -> "default" | "env" | file path | "option"

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_path / 'paperfeed.db'}"

    def describe(self) -> list[dict[str, Any]]:
        """Every setting with its effective value (secrets masked), origin and help, for ``paperfeed config``."""
        rows = []
        for s in SETTINGS:
            value = self.values[s.name]
            shown = ("********" if value else "") if s.secret else value
            rows.append({"name": s.name, "env": s.env, "value": shown, "origin": self.origins[s.name], "help": s.help})
        return rows


def _coerce(setting: Setting[Any], raw: Any, origin: str) -> Any:
    if raw is None:
        return None
    if not isinstance(raw, str):
        if isinstance(setting.default, list) and isinstance(raw, list):
            raw = " ".join(str(x) for x in raw)  # parsed as the environment's text is, so it is checked the same
        if isinstance(setting.default, int) and type(raw) is type(setting.default):  # TOML ints and booleans
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

    if not values["data_dir"]:  # also an explicit empty value
        values["data_dir"] = platformdirs.user_data_dir("paperfeed", appauthor=False)
    values["data_dir"] = str(Path(values["data_dir"]).expanduser())
    if not values["cache_dir"]:
        values["cache_dir"] = platformdirs.user_cache_dir("paperfeed", appauthor=False)
    url = values["database_url"]
    if url and not (url.startswith("sqlite:///") or url.startswith(("postgresql://", "postgres://"))):
        raise ConfigError(f"{ENV_PREFIX}DATABASE_URL must start with sqlite:/// or postgresql://, got {url!r}")
    return Config(values, origins)
