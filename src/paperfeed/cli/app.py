"""What every ``paperfeed`` command is handed: the ``App`` built from the global options, and ``pass_app``.

It lives apart from the root group so that command modules can import it while the root group imports them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from paperfeed.config import Config, load_config
from paperfeed.search.registry import SearchSettings, register
from paperfeed.store import Store, open_store


class App:
    """What every command needs, built on first use from the global options (never at import time)."""

    def __init__(self, config_file: Path | None, overrides: dict[str, Any]) -> None:
        self._config_file = config_file
        self._overrides = overrides
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(file=self._config_file, overrides=self._overrides)
        return self._config

    def store_overrides(self) -> dict[str, str]:
        """The data dir and store URL the command line named (empty when it named neither)."""
        return {k: str(self._overrides[k]) for k in ("data_dir", "database_url") if self._overrides.get(k)}

    def with_overrides(self, **overrides: Any) -> App:
        return App(self._config_file, {**self._overrides, **overrides})

    def store(self, *, migrate: bool = False) -> Store:
        """The configured store, its search indexes where the configuration says they live."""
        store = open_store(self.config.store_url, migrate=migrate)
        register(store, SearchSettings.from_config(self.config))
        return store


pass_app = click.make_pass_decorator(App)
