"""Sending mail over SMTP: one reused connection, failures sorted into "try again later" and "give up".

``Mailer`` opens a connection lazily (TLS from the start, STARTTLS, or plain, as configured), logs in when a user
is set, and reuses the connection for every message of a run; a connection the server dropped while idle is
reopened once, transparently. Every failure leaves ``send`` as ``TemporaryFailure`` (4xx replies, refused or reset
connections, timeouts: retrying later may work) or ``PermanentFailure`` (5xx replies, misconfiguration: retrying
cannot help), carrying the SMTP code when there is one. ``send_with_retry`` is the backoff policy for one message.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from types import TracebackType
from typing import Literal, Protocol

from paperfeed.config import Config
from paperfeed.errors import ConfigError, PaperfeedError

Kind = Literal["temporary", "permanent"]
SECURITY_MODES = ("none", "starttls", "tls")


class MailError(PaperfeedError):
    """A message could not be handed to the SMTP server. ``code`` is the server's reply code, if it gave one."""

    http_status = 502

    def __init__(self, reason: str, code: int | None = None) -> None:
        self.reason = reason
        self.code = code
        super().__init__(f"SMTP {code}: {reason}" if code else reason)


class TemporaryFailure(MailError):
    """Worth retrying later: the server said 4xx, or the connection failed."""


class PermanentFailure(MailError):
    """Not worth retrying: the server said 5xx (no such user, rejected), or the setup is wrong."""


class Sender(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class Mailer:
    """An SMTP client for a batch of messages; use as a context manager so the connection is closed."""

    def __init__(
        self,
        host: str,
        port: int,
        security: str,
        user: str | None,
        password: str | None,
        timeout: float = 30,
    ) -> None:
        if security not in SECURITY_MODES:
            raise ConfigError(f"smtp_security must be one of {', '.join(SECURITY_MODES)}, got {security!r}")
        self.host = host
        self.port = port
        self.security = security
        self.user = user or None
        self.password = password
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None

    @classmethod
    def from_config(cls, config: Config) -> Mailer:
        return cls(
            host=config.smtp_host,
            port=config.smtp_port,
            security=config.smtp_security,
            user=config.smtp_user or None,
            password=config.smtp_password or None,
        )

    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` to the server (envelope from its From/To headers), or raise a ``MailError``."""
        try:
            self._send(message)
        except MailError:
            raise
        except Exception as exc:
            if not _session_survives(exc):
                self._drop()
            raise failure(exc) from exc

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
        self._drop()

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _send(self, message: EmailMessage) -> None:
        reused = self._smtp is not None and self._smtp.sock is not None
        if not reused:
            self._drop()
        smtp = self._connection()
        try:
            refused = smtp.send_message(message)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            if not reused:
                raise
            # The server closed the idle connection (a timeout on its side); that fails at the first command, before
            # anything was accepted, so the message goes once more over a fresh connection. A fresh connection
            # failing the same way is a real failure.
            self._drop()
            refused = self._connection().send_message(message)
        if refused:
            # Some recipients took it and some did not. Retrying would deliver twice to the first ones.
            codes = {addr: code for addr, (code, _) in refused.items()}
            raise PermanentFailure(f"recipients refused: {codes}", code=max(codes.values()))

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.user:
                smtp.login(self.user, self.password or "")
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
        self._smtp = None


def classify(exc: BaseException) -> Kind:
    """Whether retrying the operation that raised ``exc`` may succeed later."""
    if isinstance(exc, MailError):
        return "temporary" if isinstance(exc, TemporaryFailure) else "permanent"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return "permanent" if codes and all(_is_permanent(c) for c in codes) else "temporary"
    if isinstance(exc, smtplib.SMTPResponseException):
        return "permanent" if _is_permanent(exc.smtp_code) else "temporary"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "temporary"
    if isinstance(exc, smtplib.SMTPException):
        # SMTPNotSupportedError (no STARTTLS, AUTH or SMTPUTF8 there), "no recipients", …: the setup, not the weather.
        return "permanent"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "permanent"  # the server's certificate will not verify any better in a minute
    if isinstance(exc, OSError):  # refused, reset, timed out, unreachable, name not resolved
        return "temporary"
    return "permanent"  # a malformed message, a bug: sending it again will not help


def failure(exc: BaseException) -> MailError:
    """``exc`` as the ``MailError`` ``classify`` says it is, keeping the SMTP code and the server's words."""
    if isinstance(exc, MailError):
        return exc
    code: int | None = None
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        address, (code, text) = next(iter(exc.recipients.items()))
        reason = f"{address}: {_decode(text)}"
    elif isinstance(exc, smtplib.SMTPResponseException):
        code, reason = exc.smtp_code, _decode(exc.smtp_error)
    elif isinstance(exc, OSError):
        reason = f"{type(exc).__name__}: {exc}"
    kind = TemporaryFailure if classify(exc) == "temporary" else PermanentFailure
    return kind(reason, code=code if code and code > 0 else None)


def send_with_retry(
    mailer: Sender,
    message: EmailMessage,
    *,
    attempts: int = 4,
    sleep: Callable[[float], None] = time.sleep,
    base_delay: float = 1.0,
) -> None:
    """Send ``message``, retrying temporary failures after ``base_delay`` × 1, 2, 4, … seconds.

    A permanent failure raises at once; the last temporary failure raises when the attempts run out.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    for attempt in range(attempts):
        try:
            mailer.send(message)
            return
        except TemporaryFailure:
            if attempt == attempts - 1:
                raise
            sleep(base_delay * 2**attempt)


def _is_permanent(code: int) -> bool:
    return 500 <= code < 600


def _session_survives(exc: BaseException) -> bool:
    # After a refused sender, recipient or message smtplib has already sent RSET, so the session can carry the
    # next message. 421 means the server is closing it; anything else leaves it in an unknown state.
    return isinstance(exc, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused) and not (
        isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421
    )


def _decode(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text
