"""How mail leaves this instance: over SMTP (``smtp.py``), or into the local outbox, a folder nothing is sent from.

``PAPERFEED_MAIL_TRANSPORT=outbox`` chooses the outbox (``paperfeed demo`` does unless told otherwise, since a demo
has no mail server): each message becomes an ``.eml`` file in ``<data dir>/outbox/``, and the site shows them at
``/outbox`` (only in this mode), so the double opt-in can be completed by following the link in the confirmation
mail there. Nothing leaves the machine, and every report that counts messages says "kept in the outbox", never
"sent". It is for demos and trials, not production: anyone who can open ``/outbox`` reads every message, links
included.

``open_mailer(config)`` is the one place the transport is chosen; everything that sends mail goes through it.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import TracebackType

from paperfeed.config import Config
from paperfeed.digests.smtp import Mailer, PermanentFailure


def outbox_dir(config: Config) -> Path:
    return Path(config.data_dir) / "outbox"


def uses_outbox(config: Config) -> bool:
    return config.mail_transport == "outbox"


class LocalOutbox:
    """A ``Sender`` that writes each message to ``directory`` (atomically: a reader never sees half a message)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: EmailMessage) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                out.write(message.as_bytes(policy=policy.SMTP))
            # Named by time, so names sort by when messages were kept; the temporary name keeps them unique.
            os.replace(temporary, self.directory / f"{time.time_ns()}-{Path(temporary).stem}.eml")
        except OSError as exc:  # a full disk or a read-only data directory: retrying in a second will not help
            raise PermanentFailure(f"cannot write to the outbox {self.directory}: {exc}") from exc

    def close(self) -> None:
        """Nothing to close; here so that it is used like ``Mailer``."""

    def __enter__(self) -> LocalOutbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_mailer(config: Config, *, timeout: float = 30) -> Mailer | LocalOutbox:
    """The configured transport: SMTP (the default) or the local outbox. ``timeout`` bounds each SMTP step (a
    visitor waiting on a page gets a short one)."""
    if uses_outbox(config):
        return LocalOutbox(outbox_dir(config))
    mailer = Mailer.from_config(config)
    mailer.timeout = timeout
    return mailer


def where_mail_goes(config: Config) -> str:
    """The transport in words, for reports: "the SMTP server host:port" or "the local outbox DIR (nothing sent)"."""
    if uses_outbox(config):
        return f"the local outbox {outbox_dir(config)} (nothing leaves this machine)"
    return f"the SMTP server {config.smtp_host}:{config.smtp_port}"


@dataclass(frozen=True)
class KeptMessage:
    """A message in the local outbox, as its page shows it."""

    name: str
    to: str
    subject: str
    date: str
    text: str


def read_outbox(directory: Path, limit: int = 50) -> list[KeptMessage]:
    """The newest ``limit`` messages in ``directory``, newest first (its text part; digests have one too)."""
    paths = sorted(directory.glob("*.eml"), reverse=True)[:limit] if directory.is_dir() else []
    found = []
    for path in paths:
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert isinstance(message, EmailMessage)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if isinstance(body, EmailMessage) else ""
        stamp = message.get("Date")
        date = parsedate_to_datetime(str(stamp)).isoformat() if stamp else ""
        found.append(KeptMessage(path.stem, str(message.get("To", "")), str(message.get("Subject", "")), date, text))
    return found
