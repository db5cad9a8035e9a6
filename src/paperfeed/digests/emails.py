"""Digest and confirmation emails as ``EmailMessage`` values: what they say, how they look, which headers they carry.

How a digest looks is decided here and in ``templates/`` (base.html, digest.html, confirmation.html): the plain-text
part in ``digest_text``, the HTML part in the templates. Pure: plain data in (a ``Digest`` that ``compose``
assembled, links from ``links``), a message out; sending is ``outbox``'s and ``smtp``'s job. Each message is
multipart/alternative, plain text first (readable as is, every link spelled out) then HTML. The HTML comes from
Jinja2 templates (autoescaped: titles and abstracts contain ``<`` and ``&``) laid out in tables no wider than
640px, and its stylesheet is inlined into ``style`` attributes because Gmail and Outlook drop most ``<style>``
blocks. Digests carry the bulk-mail headers big providers ask for (RFC 8058 one-click unsubscribe, List-Id,
Auto-Submitted, Precedence).
"""

from __future__ import annotations

import functools
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import headerregistry
from email.message import EmailMessage
from email.policy import Policy
from email.policy import default as default_policy
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import css_inline
import jinja2

from paperfeed.papers import Paper, clean_text, one_line

SITE_NAME = "paperfeed"
ABSTRACT_CHARS = 300
MAX_AUTHORS = 5
TEXT_WIDTH = 78
# RFC 5322's hard limit on a header line, less room for the name.
_MAX_UNFOLDED = 990


class _UnfoldedHeader(headerregistry.UnstructuredHeader, headerregistry.BaseHeader):
    """A header written on one line however long. The stdlib folds a long ``<url>`` into RFC 2047 encoded words,
    which Gmail and Outlook do not decode in List-Unsubscribe: the one-click button would silently disappear."""

    def fold(self, *, policy: Policy) -> str:
        return f"{self.name}: {self}{policy.linesep}"


_HEADERS = headerregistry.HeaderRegistry()
_HEADERS.map_to_type("list-unsubscribe", _UnfoldedHeader)
_POLICY = default_policy.clone(header_factory=_HEADERS)


@dataclass(frozen=True)
class DigestEntry:
    paper: Paper
    url: str  # the paper's page on this instance
    reasons: tuple[str, ...]  # why it is in this digest, e.g. ("trending", "topic: cs.LG")


@dataclass(frozen=True)
class DigestSection:
    title: str  # "Trending today", "cs.LG", "query: diffusion"
    entries: tuple[DigestEntry, ...]


@dataclass(frozen=True)
class Digest:
    subject: str
    period_label: str  # e.g. "Friday, 20 November 2026" or "Week of 16 November 2026"
    sections: tuple[DigestSection, ...]
    unsubscribe_url: str  # footer link: a page (a GET must never unsubscribe by itself; link scanners follow links)
    manage_url: str
    site_url: str


def compose_digest(
    digest: Digest,
    *,
    to: str,
    mail_from: str,
    reply_to: str | None,
    message_id: str,
    date: datetime,
    unsubscribe_post_url: str,
) -> EmailMessage:
    """The digest mail for one subscriber. ``unsubscribe_post_url`` is the RFC 8058 endpoint: a POST to it
    (body ``List-Unsubscribe=One-Click``) unsubscribes without further questions."""
    # It goes into the header verbatim, on one line (see _UnfoldedHeader), so it must be plain ASCII.
    if not unsubscribe_post_url.isascii() or re.search(r"[\s<>]", unsubscribe_post_url):
        raise ValueError(f"List-Unsubscribe needs an ASCII URL without spaces, got {unsubscribe_post_url!r}")
    if len(unsubscribe_post_url) > _MAX_UNFOLDED:
        raise ValueError(f"List-Unsubscribe URL is longer than {_MAX_UNFOLDED} characters")
    entries = [[_entry_view(entry) for entry in section.entries] for section in digest.sections]
    count = sum(len(e) for e in entries)
    titles = ", ".join(one_line(s.title) for s in digest.sections if s.entries)
    preheader = f"{count} paper{'s' if count != 1 else ''}: {titles}" if count else "Nothing new this time"
    html = _render_html(
        "digest.html",
        title=one_line(digest.subject),
        preheader=preheader,
        site_url=digest.site_url,
        period_label=digest.period_label,
        sections=[{"title": s.title, "entries": e} for s, e in zip(digest.sections, entries, strict=True)],
        manage_url=digest.manage_url,
        unsubscribe_url=digest.unsubscribe_url,
    )
    message = _message(
        to=to, mail_from=mail_from, subject=digest.subject, message_id=message_id, date=date, reply_to=reply_to
    )
    message["List-Id"] = f"{SITE_NAME} digest <digest.{_host(digest.site_url)}>"
    message["List-Unsubscribe"] = f"<{unsubscribe_post_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Precedence"] = "bulk"
    message.set_content(digest_text(digest), cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message


def compose_confirmation(
    *, to: str, confirm_url: str, site_url: str, mail_from: str, message_id: str, date: datetime
) -> EmailMessage:
    """The double opt-in mail: nothing but a link that confirms the subscription."""
    subject = f"Confirm your {SITE_NAME} digest subscription"
    text = "\n".join(
        [
            _fill(f"Someone, hopefully you, asked for {SITE_NAME} digests to be sent to {to}."),
            "",
            "To confirm, open this link:",
            "",
            confirm_url,
            "",
            _fill(
                "If you did not ask for this, ignore this email: nothing will be sent to you unless the link is opened."
            ),
            "",
            "-- ",
            f"{SITE_NAME} at {site_url}",
            "",
        ]
    )
    html = _render_html(
        "confirmation.html", title=subject, preheader="", site_url=site_url, to=to, confirm_url=confirm_url
    )
    message = _message(to=to, mail_from=mail_from, subject=subject, message_id=message_id, date=date, reply_to=None)
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message


def digest_text(digest: Digest) -> str:
    """The plain-text part: sections, numbered papers, links on lines of their own, wrapped to 78 columns."""
    lines = [_fill(f"{SITE_NAME} digest · {one_line(digest.period_label)}"), ""]
    if not any(section.entries for section in digest.sections):
        lines += ["Nothing new matched your digest this time.", ""]
    for section in digest.sections:
        if not section.entries:
            continue
        heading = one_line(section.title)
        lines += [heading, "=" * min(len(heading), TEXT_WIDTH), ""]
        for number, entry in enumerate(section.entries, 1):
            lines += _entry_text(number, _entry_view(entry))
    lines += [
        "-- ",
        _fill(f"You get this email because you subscribed to {SITE_NAME} digests at {digest.site_url}"),
        "",
        "Manage your digest:",
        digest.manage_url,
        "",
        "Unsubscribe:",
        digest.unsubscribe_url,
        "",
    ]
    return "\n".join(lines)


def shorten(text: str, limit: int = ABSTRACT_CHARS) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    # One enormous "word" (a formula, a URL) is cut where it is rather than dropped whole.
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"


def format_authors(authors: Sequence[str], limit: int = MAX_AUTHORS) -> str:
    """``"A, B, C, D, E et al."``: the first ``limit`` names, and "et al." when there are more."""
    names = [one_line(a) for a in authors if a.strip()]
    shown = ", ".join(names[:limit])
    return f"{shown} et al." if len(names) > limit else shown


def _entry_view(entry: DigestEntry) -> dict[str, Any]:
    """What both parts show of one paper, as plain strings (the template escapes them)."""
    paper = entry.paper
    return {
        "title": one_line(paper.title) or paper.id,
        "url": entry.url,
        "authors": format_authors(paper.authors),
        "why": " · ".join(one_line(r) for r in entry.reasons if r.strip()),
        "abstract": shorten(clean_text(paper.abstract)),
        "abs_url": paper.abs_url,
        "pdf_url": paper.pdf_url,
    }


def _entry_text(number: int, view: dict[str, Any]) -> list[str]:
    first = f"{number}. "
    lines = [
        textwrap.fill(
            view["title"],
            TEXT_WIDTH,
            initial_indent=first,
            subsequent_indent=" " * len(first),
            break_long_words=False,
            break_on_hyphens=False,
        )
    ]
    indent = " " * len(first)
    if view["authors"]:
        lines.append(_fill(view["authors"], indent))
    if view["why"]:
        lines.append(_fill(f"Why: {view['why']}", indent))
    if view["abstract"]:
        lines += ["", _fill(view["abstract"], indent)]
    lines += ["", f"{indent}Page:  {view['url']}"]
    if view["abs_url"]:
        lines += [f"{indent}arXiv: {view['abs_url']}", f"{indent}PDF:   {view['pdf_url']}"]
    lines.append("")
    return lines


def _fill(text: str, indent: str = "") -> str:
    # URLs and hyphenated words stay whole: a link broken across lines is a dead link.
    return textwrap.fill(
        text,
        TEXT_WIDTH,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _message(
    *, to: str, mail_from: str, subject: str, message_id: str, date: datetime, reply_to: str | None
) -> EmailMessage:
    message = EmailMessage(policy=_POLICY)
    message["From"] = mail_from
    message["To"] = to
    if reply_to:
        message["Reply-To"] = reply_to
    # A subject built from user text (a saved query) must stay one line: a newline would be a header injection.
    message["Subject"] = one_line(subject)
    message["Date"] = format_datetime(date if date.tzinfo else date.replace(tzinfo=UTC))
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    # Outlook/Exchange: no out-of-office or auto-replies to a robot.
    message["X-Auto-Response-Suppress"] = "All"
    return message


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "localhost").lower()


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("paperfeed.digests", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _render_html(template: str, **context: Any) -> str:
    html = _environment().get_template(template).render(**context)
    # No remote stylesheets: composing must not touch the network.
    return css_inline.inline(html, keep_style_tags=False, load_remote_stylesheets=False)
