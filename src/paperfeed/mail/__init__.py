"""Email digests, the mail side: composing messages (compose.py) and handing them to an SMTP server (smtp.py).

Choosing what goes into a digest, and when, belongs to the scheduler; this package only turns a ``Digest`` into
a message and sends it.
"""

from __future__ import annotations

from paperfeed.mail.compose import (
    Digest,
    DigestEntry,
    DigestSection,
    compose_confirmation,
    compose_digest,
    make_message_id,
)
from paperfeed.mail.smtp import (
    Mailer,
    MailError,
    PermanentFailure,
    TemporaryFailure,
    classify,
    send_with_retry,
)

__all__ = [
    "Digest",
    "DigestEntry",
    "DigestSection",
    "MailError",
    "Mailer",
    "PermanentFailure",
    "TemporaryFailure",
    "classify",
    "compose_confirmation",
    "compose_digest",
    "make_message_id",
    "send_with_retry",
]
