"""Running the web app: uvicorn in this process (one worker) or in N worker processes sharing one socket.

Worker processes build their own app from the environment (``app_from_env``), so the settings this process was
given on the command line are passed on as ``PAPERFEED_*`` variables first. uvicorn's own proxy-header handling is
off: it believes X-Forwarded-For from any loopback peer, and the app decides whom to believe (``trusted_proxies``,
``web.security.client_address``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping

import uvicorn

from paperfeed.config import ENV_PREFIX, Config
from paperfeed.web.app import create_app, log_visibly
from paperfeed.web.metrics import MULTIPROC_ENV


def serve(config: Config, *, host: str, port: int, workers: int, log_level: str | None = None) -> None:
    level = (log_level or config.log_level).lower()
    if workers <= 1:
        log_visibly(config)
        uvicorn.run(create_app(config), host=host, port=port, log_level=level, proxy_headers=False)
        return
    os.environ.update(_as_env(config.values, config.origins))
    _metrics_directory(config, port)
    uvicorn.run(
        "paperfeed.web.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=level,
        proxy_headers=False,
    )


def _metrics_directory(config: Config, port: int) -> None:
    """Worker processes share their request metrics through files (prometheus-client's multiprocess mode): a fresh
    directory per server (per port: two servers on one machine must not mix or wipe each other's files)."""
    if MULTIPROC_ENV in os.environ:
        return  # the operator chose one (and owns cleaning it)
    directory = config.data_path / f"metrics-{port}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)


def _as_env(values: Mapping[str, object], origins: Mapping[str, str]) -> dict[str, str]:
    """Settings that did not come from the environment or defaults, as environment variables for the workers."""
    env = {}
    for name, value in values.items():
        if origins.get(name) in ("default", "env") or value is None:
            continue
        env[ENV_PREFIX + name.upper()] = " ".join(map(str, value)) if isinstance(value, list) else str(value)
    return env
