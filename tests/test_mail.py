"""Digest mail: composing (pure) and sending through a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from paperfeed.config import load_config
from paperfeed.digests.emails import (
    Digest,
    DigestEntry,
    DigestSection,
    compose_confirmation,
    compose_digest,
    format_authors,
    shorten,
)
from paperfeed.digests.links import make_message_id
from paperfeed.digests.smtp import Mailer, PermanentFailure, TemporaryFailure, classify, send_with_retry
from paperfeed.errors import ConfigError
from paperfeed.papers import Paper
from paperfeed.tokens import sign

SITE = "https://papers.example.org"
NASTY_TITLE = "<script>alert('x')</script> & <b>Bold</b> claims: a < b"
DATE = datetime(2026, 11, 20, 7, 30, tzinfo=UTC)
# As long as a real one: the stdlib would fold it into encoded words, which mail clients do not decode here.
ONE_CLICK = f"{SITE}/digest/unsubscribe/one-click/{sign('k', 'unsubscribe', 'reader@example.org', issued=1)}"


# --- a real SMTP server ----------------------------------------------------------------------------------------


@dataclass
class Recorder:
    """aiosmtpd handler: refuses ``nobody@…``, answers DATA with queued replies first, stores what it accepts."""

    accepted: list[tuple[Any, str, list[str], bytes]] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)
    drop_after_next: bool = False
    dropped: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("nobody@"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        self.accepted.append((session.peer, envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        if self.drop_after_next:
            # Close once the reply is on its way, the way a server drops an idle client.
            self.drop_after_next = False
            asyncio.get_running_loop().call_soon(self._drop, server)
        return "250 Message accepted"

    def _drop(self, server: Any) -> None:
        server.transport.close()
        self.dropped.set()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"digest", b"hunter2")
    return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Recorder, int]]:
    recorder = Recorder()
    port = _free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


@pytest.fixture
def smtp(server: tuple[Recorder, int]) -> Iterator[tuple[Recorder, Mailer]]:
    recorder, port = server
    recorder.accepted.clear()
    recorder.data_replies.clear()
    with Mailer("127.0.0.1", port, "none", None, None, timeout=5) as mailer:
        yield recorder, mailer


# --- what we send ----------------------------------------------------------------------------------------------


def _paper(pid: str, title: str, authors: int = 3) -> Paper:
    return Paper(
        id=pid,
        title=title,
        abstract="We prove that x < y && y > z for all <tags> & more. " * 12,
        authors=[f"Author Number{i}" for i in range(authors)],
        categories=["cs.LG"],
    )


def _digest() -> Digest:
    trending = DigestSection(
        "Trending today",
        (
            DigestEntry(_paper("2511.01234", NASTY_TITLE, authors=8), f"{SITE}/papers/2511.01234", ("trending",)),
            DigestEntry(_paper("2511.05678", "Plain title", 2), f"{SITE}/papers/2511.05678?a=1&b=2", ("topic: cs.LG",)),
        ),
    )
    query = DigestSection(
        "query: diffusion",
        (DigestEntry(_paper("pf-0123456789ab", "A paper without arXiv id"), f"{SITE}/papers/pf-0123456789ab", ()),),
    )
    return Digest(
        subject="paperfeed: 3 new papers",
        period_label="Friday, 20 November 2026",
        sections=(trending, query),
        unsubscribe_url=f"{SITE}/unsubscribe/TOKEN-page",
        manage_url=f"{SITE}/digest/manage/TOKEN-manage",
        site_url=SITE,
    )


def _compose(to: str = "reader@example.org", reply_to: str | None = "editor@papers.example.org") -> EmailMessage:
    return compose_digest(
        _digest(),
        to=to,
        mail_from="paperfeed <digest@papers.example.org>",
        reply_to=reply_to,
        message_id=make_message_id("digest:sub42:2026-11-20", "papers.example.org"),
        date=DATE,
        unsubscribe_post_url=ONE_CLICK,
    )


def _parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def _parts(message: EmailMessage) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    text, html = (p.get_content() for p in parts)
    assert isinstance(text, str) and isinstance(html, str)
    return text, html


# --- sending ---------------------------------------------------------------------------------------------------


def test_digest_arrives_whole(smtp: tuple[Recorder, Mailer]) -> None:
    recorder, mailer = smtp
    mailer.send(_compose())
    [(_, mail_from, rcpt_tos, raw)] = recorder.accepted
    assert mail_from == "digest@papers.example.org"
    assert rcpt_tos == ["reader@example.org"]
    message = _parse(raw)

    assert message["From"] == "paperfeed <digest@papers.example.org>"
    assert message["To"] == "reader@example.org"
    assert message["Reply-To"] == "editor@papers.example.org"
    assert message["Subject"] == "paperfeed: 3 new papers"
    assert parsedate_to_datetime(message["Date"]) == DATE
    assert re.fullmatch(r"<[0-9a-f]{32}@papers\.example\.org>", message["Message-ID"])
    assert len(ONE_CLICK) > 80
    assert message["List-Unsubscribe"] == f"<{ONE_CLICK}>"
    assert f"\nList-Unsubscribe: <{ONE_CLICK}>\r\n".encode() in raw  # on one line, as it is
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == "paperfeed digest <digest.papers.example.org>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Precedence"] == "bulk"

    text, html = _parts(message)
    # HTML: styled inline, no stylesheet left to be stripped, paper text escaped.
    assert "<style" not in html
    assert html.count('style="') > 20
    assert "max-width: 640px" in html
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert('x')&lt;/script&gt; &amp; &lt;b&gt;Bold&lt;/b&gt; claims: a &lt; b" in html
    for link in (
        f'href="{SITE}/papers/2511.01234"',
        f'href="{SITE}/papers/2511.05678?a=1&amp;b=2"',
        'href="https://arxiv.org/abs/2511.01234"',
        'href="https://arxiv.org/pdf/2511.01234"',
        f'href="{SITE}/digest/manage/TOKEN-manage"',
        f'href="{SITE}/unsubscribe/TOKEN-page"',
    ):
        assert link in html
    assert "arxiv.org/abs/pf-" not in html and "arxiv.org/pdf/pf-" not in html
    assert "Author Number4 et al." in html and "Author Number5" not in html
    assert "Why: trending" in html

    # Plain text: every link spelled out, lines wrapped (a lone URL may run long; it must not be broken).
    for url in (
        f"{SITE}/papers/2511.01234",
        f"{SITE}/papers/2511.05678?a=1&b=2",
        "https://arxiv.org/abs/2511.01234",
        "https://arxiv.org/pdf/2511.01234",
        f"{SITE}/papers/pf-0123456789ab",
        f"{SITE}/digest/manage/TOKEN-manage",
        f"{SITE}/unsubscribe/TOKEN-page",
    ):
        assert url in text
    assert NASTY_TITLE in text
    assert all(len(line) <= 78 or " " not in line.strip() for line in text.splitlines())
    assert "arxiv.org/abs/pf-" not in text


def test_one_connection_carries_many_messages(smtp: tuple[Recorder, Mailer]) -> None:
    recorder, mailer = smtp
    for n in range(3):
        mailer.send(_compose(to=f"reader{n}@example.org"))
    assert [rcpt for _, _, rcpt, _ in recorder.accepted] == [[f"reader{n}@example.org"] for n in range(3)]
    assert len({peer for peer, _, _, _ in recorder.accepted}) == 1


def test_reconnects_when_the_server_dropped_the_connection(smtp: tuple[Recorder, Mailer]) -> None:
    recorder, mailer = smtp
    recorder.drop_after_next = True
    mailer.send(_compose(to="first@example.org"))
    assert recorder.dropped.wait(2)
    mailer.send(_compose(to="second@example.org"))
    assert [rcpt for _, _, rcpt, _ in recorder.accepted] == [["first@example.org"], ["second@example.org"]]
    assert recorder.accepted[0][0] != recorder.accepted[1][0]  # a new connection, from a new port


def test_451_is_temporary_and_retry_recovers(smtp: tuple[Recorder, Mailer]) -> None:
    recorder, mailer = smtp
    recorder.data_replies[:] = ["451 try later"]
    with pytest.raises(TemporaryFailure) as info:
        mailer.send(_compose())
    assert info.value.code == 451
    assert "try later" in str(info.value)

    recorder.data_replies[:] = ["451 try later", "451 try later"]
    sleeps: list[float] = []
    send_with_retry(mailer, _compose(), sleep=sleeps.append)
    assert sleeps == [1.0, 2.0]
    assert len(recorder.accepted) == 1


def test_retry_gives_up_after_the_last_attempt(smtp: tuple[Recorder, Mailer]) -> None:
    recorder, mailer = smtp
    recorder.data_replies[:] = ["451 try later"] * 3
    sleeps: list[float] = []
    with pytest.raises(TemporaryFailure):
        send_with_retry(mailer, _compose(), attempts=3, sleep=sleeps.append, base_delay=0.5)
    assert sleeps == [0.5, 1.0]
    assert recorder.accepted == []


def test_550_is_permanent_and_not_retried(smtp: tuple[Recorder, Mailer]) -> None:
    recorder, mailer = smtp
    sleeps: list[float] = []
    with pytest.raises(PermanentFailure) as info:
        send_with_retry(mailer, _compose(to="nobody@example.org"), sleep=sleeps.append)
    assert info.value.code == 550
    assert "no such user" in str(info.value)
    assert sleeps == []
    # The session was reset, not lost: the next subscriber's mail goes over the same connection.
    mailer.send(_compose())
    assert len(recorder.accepted) == 1


def test_connection_refused_is_temporary() -> None:
    with (
        Mailer("127.0.0.1", _free_port(), "none", None, None, timeout=2) as mailer,
        pytest.raises(TemporaryFailure) as info,
    ):
        mailer.send(_compose())
    assert info.value.code is None
    assert "ConnectionRefusedError" in str(info.value)


def test_login_only_when_a_user_is_set() -> None:
    recorder = Recorder()
    port = _free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        with Mailer("127.0.0.1", port, "none", "digest", "hunter2", timeout=5) as mailer:
            mailer.send(_compose())
        assert len(recorder.accepted) == 1
        with (
            Mailer("127.0.0.1", port, "none", "digest", "wrong", timeout=5) as bad,
            pytest.raises(PermanentFailure) as info,
        ):
            bad.send(_compose())
        assert info.value.code == 535
    finally:
        controller.stop()


# --- transport security, without a certificate: a stand-in for smtplib records the calls -----------------------


class _FakeSMTP:
    calls: ClassVar[list[str]] = []

    def __init__(self, host: str, port: int, timeout: float = 30, context: Any = None) -> None:
        self.sock: object | None = object()
        self.calls.append(f"{type(self).__name__}:{host}:{port}")

    def ehlo(self) -> None:
        self.calls.append("ehlo")

    def starttls(self, context: ssl.SSLContext | None = None) -> None:
        assert isinstance(context, ssl.SSLContext) and context.check_hostname
        self.calls.append("starttls")

    def login(self, user: str, password: str) -> None:
        self.calls.append(f"login:{user}:{password}")

    def send_message(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        self.calls.append("send")
        return {}

    def quit(self) -> None:
        self.calls.append("quit")

    def close(self) -> None:
        pass


class _FakeSMTP_SSL(_FakeSMTP):  # mirrors smtplib's name
    pass


@pytest.mark.parametrize(
    ("security", "user", "expected"),
    [
        ("none", None, ["_FakeSMTP:mx:25", "ehlo", "send", "send", "quit"]),
        ("none", "u", ["_FakeSMTP:mx:25", "ehlo", "login:u:pw", "send", "send", "quit"]),
        ("starttls", "u", ["_FakeSMTP:mx:25", "ehlo", "starttls", "ehlo", "login:u:pw", "send", "send", "quit"]),
        ("tls", None, ["_FakeSMTP_SSL:mx:25", "ehlo", "send", "send", "quit"]),
    ],
)
def test_security_modes(monkeypatch: pytest.MonkeyPatch, security: str, user: str | None, expected: list[str]) -> None:
    monkeypatch.setattr(smtplib, "SMTP", _FakeSMTP)
    monkeypatch.setattr(smtplib, "SMTP_SSL", _FakeSMTP_SSL)
    monkeypatch.setattr(_FakeSMTP, "calls", [])
    with Mailer("mx", 25, security, user, "pw") as mailer:
        mailer.send(_compose())
        mailer.send(_compose())
    assert _FakeSMTP.calls == expected


def test_unknown_security_mode_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        Mailer("mx", 25, "ssl", None, None)


def test_from_config() -> None:
    env = {
        "PAPERFEED_SMTP_HOST": "smtp.example.org",
        "PAPERFEED_SMTP_PORT": "465",
        "PAPERFEED_SMTP_SECURITY": "tls",
        "PAPERFEED_SMTP_USER": "digest",
        "PAPERFEED_SMTP_PASSWORD": "hunter2",
    }
    mailer = Mailer.from_config(load_config(env=env))
    assert (mailer.host, mailer.port, mailer.security, mailer.user, mailer.password) == (
        "smtp.example.org",
        465,
        "tls",
        "digest",
        "hunter2",
    )
    anonymous = Mailer.from_config(load_config(env={}))
    assert (anonymous.host, anonymous.port, anonymous.security, anonymous.user) == ("localhost", 25, "none", None)


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (smtplib.SMTPResponseException(421, b"closing"), "temporary"),
        (smtplib.SMTPDataError(451, b"try later"), "temporary"),
        (smtplib.SMTPSenderRefused(452, b"full", "a@b"), "temporary"),
        (smtplib.SMTPDataError(554, b"spam"), "permanent"),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), "permanent"),
        (smtplib.SMTPRecipientsRefused({"a@b": (550, b"no")}), "permanent"),
        (smtplib.SMTPRecipientsRefused({"a@b": (450, b"greylisted")}), "temporary"),
        (smtplib.SMTPRecipientsRefused({"a@b": (550, b"no"), "c@d": (450, b"later")}), "temporary"),
        (smtplib.SMTPServerDisconnected("gone"), "temporary"),
        (smtplib.SMTPNotSupportedError("STARTTLS extension not supported"), "permanent"),
        (ConnectionRefusedError(111, "refused"), "temporary"),
        (ConnectionResetError(104, "reset"), "temporary"),
        (TimeoutError("timed out"), "temporary"),
        (socket.gaierror(-3, "temporary failure in name resolution"), "temporary"),
        (ssl.SSLCertVerificationError("certificate verify failed"), "permanent"),
        (ValueError("bad header"), "permanent"),
        (TemporaryFailure("x", 451), "temporary"),
        (PermanentFailure("x", 550), "permanent"),
    ],
)
def test_classify(exc: BaseException, kind: str) -> None:
    assert classify(exc) == kind


# --- composing -------------------------------------------------------------------------------------------------


def test_compose_headers_edge_cases() -> None:
    digest = _digest()
    message = compose_digest(
        dataclasses.replace(digest, subject="query: diffusion\r\nBcc: victim@example.org"),
        to="reader@example.org",
        mail_from="paperfeed <digest@papers.example.org>",
        reply_to=None,
        message_id="<x@papers.example.org>",
        date=datetime(2026, 11, 20, 7, 30),  # naive: taken as UTC
        unsubscribe_post_url=f"{SITE}/u",
    )
    parsed = _parse(message.as_bytes())
    assert parsed["Subject"] == "query: diffusion Bcc: victim@example.org"
    assert parsed["Bcc"] is None
    assert parsed["Reply-To"] is None
    assert parsed["Date"] == "Fri, 20 Nov 2026 07:30:00 +0000"


def test_empty_digest_still_reads_well() -> None:
    digest = Digest("Nichts Neues — ✓", "Today", (DigestSection("cs.LG", ()),), f"{SITE}/u", f"{SITE}/m", SITE)
    message = compose_digest(
        digest,
        to="r@example.org",
        mail_from="d@papers.example.org",
        reply_to=None,
        message_id="<x@papers.example.org>",
        date=DATE,
        unsubscribe_post_url=f"{SITE}/u1",
    )
    parsed = _parse(message.as_bytes())
    assert parsed["Subject"] == "Nichts Neues — ✓"
    text, html = _parts(parsed)
    assert "Nothing new" in text and "Nothing new" in html
    assert f"{SITE}/u" in text


def test_confirmation() -> None:
    url = f"{SITE}/digest/confirm/TOKEN?x=1&y=2"
    message = compose_confirmation(
        to="new@example.org",
        confirm_url=url,
        site_url=SITE,
        mail_from="paperfeed <digest@papers.example.org>",
        message_id=make_message_id("confirm:new@example.org", "papers.example.org"),
        date=DATE,
    )
    parsed = _parse(message.as_bytes())
    assert parsed["To"] == "new@example.org"
    assert "Confirm" in parsed["Subject"]
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["List-Unsubscribe"] is None and parsed["Precedence"] is None
    text, html = _parts(parsed)
    assert url in text
    assert 'href="https://papers.example.org/digest/confirm/TOKEN?x=1&amp;y=2"' in html
    assert "<style" not in html and 'class="button" href=' in html


@pytest.mark.parametrize("url", ["https://x.example/ü", "https://x.example/a b", "https://x.example/a>b"])
def test_one_click_url_must_fit_the_header(url: str) -> None:
    with pytest.raises(ValueError):
        compose_digest(
            _digest(),
            to="r@example.org",
            mail_from="d@papers.example.org",
            reply_to=None,
            message_id="<x@papers.example.org>",
            date=DATE,
            unsubscribe_post_url=url,
        )


def test_message_id_is_deterministic() -> None:
    a = make_message_id("digest:sub42:2026-11-20", "papers.example.org")
    assert a == make_message_id("digest:sub42:2026-11-20", "papers.example.org")
    assert a != make_message_id("digest:sub42:2026-11-21", "papers.example.org")
    assert re.fullmatch(r"<[0-9a-f]{32}@papers\.example\.org>", a)
    for bad in ("", "a b", "x>y", "a@b"):
        with pytest.raises(ValueError):
            make_message_id("k", bad)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 300, "short"),
        ("  spaced\n  out  ", 300, "spaced out"),
        ("one two three four", 12, "one two…"),
        ("one two, three four", 14, "one two…"),
        ("x" * 20, 10, "x" * 9 + "…"),
        ("exactly ten", 11, "exactly ten"),
    ],
)
def test_shorten(text: str, limit: int, expected: str) -> None:
    result = shorten(text, limit)
    assert result == expected
    assert len(result) <= limit


@pytest.mark.parametrize(
    ("authors", "expected"),
    [
        ([], ""),
        (["A"], "A"),
        (["A", "B", "C", "D", "E"], "A, B, C, D, E"),
        (["A", "B", "C", "D", "E", "F"], "A, B, C, D, E et al."),
        (["  A\n  Smith ", ""], "A Smith"),
    ],
)
def test_format_authors(authors: list[str], expected: str) -> None:
    assert format_authors(authors) == expected
