"""Running the web app: uvicorn in this process (one worker) or in N worker processes sharing one socket.

Worker processes build their own app from the environment (``app_from_env``), so the settings this process was
given on the command line are passed on as ``PAPERFEED_*`` variables first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import uvicorn

from paperfeed.config import ENV_PREFIX, Config
from paperfeed.web.app import create_app


def serve(config: Config, *, host: str, port: int, workers: int, log_level: str | None = None) -> None:
    level = (log_level or config.log_level).lower()
    if workers <= 1:
        uvicorn.run(create_app(config), host=host, port=port, log_level=level, proxy_headers=True)
        return
    os.environ.update(_as_env(config.values, config.origins))
    uvicorn.run(
        "paperfeed.web.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=level,
        proxy_headers=True,
    )


def _as_env(values: Mapping[str, object], origins: Mapping[str, str]) -> dict[str, str]:
    """Settings that did not come from the environment or defaults, as environment variables for the workers."""
    env = {}
    for name, value in values.items():
        if origins.get(name) in ("default", "env") or value is None:
            continue
        env[ENV_PREFIX + name.upper()] = " ".join(map(str, value)) if isinstance(value, list) else str(value)
    return env
