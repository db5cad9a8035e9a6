"""Signed link tokens: round trips, and every way a token must fail to verify."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from paperfeed.errors import BadInput, ConfigError
from paperfeed.tokens import sign, verify

SECRET = "s3cret-key-for-tests"
ISSUED = 1_790_000_000


@pytest.mark.parametrize(
    "subject",
    [
        "42",
        "reader@example.org",
        "",
        "a.b.c...",
        "with spaces, commas; and = signs & ampersands?/#",
        "ünïcødé ✓ 論文 🧪",
        "line\nbreak\r\nand\ttab\x00nul",
        "\ud800 lone surrogate",
        "x" * 500,
    ],
)
def test_round_trip_any_subject(subject: str) -> None:
    token = sign(SECRET, "unsubscribe", subject, issued=ISSUED)
    assert re.fullmatch(r"[A-Za-z0-9_\-.]+", token), token  # URL-safe as it is, no padding
    assert verify(SECRET, "unsubscribe", token, max_age=3600, now=ISSUED + 10) == subject


def test_default_issue_time_is_now() -> None:
    token = sign(SECRET, "confirm", "7")
    assert verify(SECRET, "confirm", token, max_age=60) == "7"


def test_every_single_character_change_is_refused() -> None:
    token = sign(SECRET, "unsubscribe", "reader@example.org", issued=ISSUED)
    alphabet = "AQgw_-.9"
    for position in range(len(token)):
        for replacement in alphabet:
            if replacement == token[position]:
                continue
            forged = token[:position] + replacement + token[position + 1 :]
            with pytest.raises(BadInput):
                verify(SECRET, "unsubscribe", forged)


def test_subject_cannot_be_swapped_between_tokens() -> None:
    mine = sign(SECRET, "unsubscribe", "mine@example.org", issued=ISSUED)
    theirs = sign(SECRET, "unsubscribe", "theirs@example.org", issued=ISSUED)
    forged = theirs.split(".")[0] + "." + ".".join(mine.split(".")[1:])
    with pytest.raises(BadInput):
        verify(SECRET, "unsubscribe", forged)


@pytest.mark.parametrize(
    ("secret", "purpose", "token_fn"),
    [
        pytest.param(SECRET, "confirm", lambda: sign(SECRET, "unsubscribe", "42", issued=ISSUED), id="wrong-purpose"),
        pytest.param("other", "unsubscribe", lambda: sign(SECRET, "unsubscribe", "42", issued=ISSUED), id="wrong-key"),
        pytest.param(SECRET, "unsubscribe", lambda: "", id="empty"),
        pytest.param(SECRET, "unsubscribe", lambda: "garbage", id="garbage"),
        pytest.param(SECRET, "unsubscribe", lambda: "a.b.c.d", id="four-parts"),
        pytest.param(SECRET, "unsubscribe", lambda: "NDI.1790000000.", id="no-tag"),
        pytest.param(SECRET, "unsubscribe", lambda: "NDI.１２.AAAA", id="unicode-digits"),
        pytest.param(SECRET, "unsubscribe", lambda: "ünï.1.AAAA", id="non-ascii"),
        pytest.param(SECRET, "unsubscribe", lambda: "A" * 5000, id="huge"),
    ],
)
def test_refused(secret: str, purpose: str, token_fn: Callable[[], str]) -> None:
    with pytest.raises(BadInput) as info:
        verify(secret, purpose, token_fn())
    assert info.value.reason == "invalid or expired link"
    assert info.value.where == "token"


@pytest.mark.parametrize(
    ("age", "max_age", "ok"),
    [
        (0, 0, True),
        (86_400, 86_400, True),
        (86_401, 86_400, False),
        (10**9, None, True),  # no max_age: never expires
        (-30, 60, True),  # issued "in the future" by a clock slightly ahead
    ],
)
def test_expiry(age: int, max_age: int | None, ok: bool) -> None:
    token = sign(SECRET, "confirm", "42", issued=ISSUED)
    if ok:
        assert verify(SECRET, "confirm", token, max_age=max_age, now=ISSUED + age) == "42"
    else:
        with pytest.raises(BadInput):
            verify(SECRET, "confirm", token, max_age=max_age, now=ISSUED + age)


def test_an_older_issue_time_cannot_be_claimed() -> None:
    token = sign(SECRET, "confirm", "42", issued=ISSUED)
    subject, _, tag = token.split(".")
    with pytest.raises(BadInput):
        verify(SECRET, "confirm", f"{subject}.{ISSUED + 100_000}.{tag}", max_age=60, now=ISSUED + 100_000)


def test_empty_secret_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        sign("", "confirm", "42")
    with pytest.raises(ConfigError):
        verify("", "confirm", "NDI.1.AAAA")


@pytest.mark.parametrize("purpose", ["", "Unsubscribe", "a:b", "x y"])
def test_purpose_alphabet_is_enforced(purpose: str) -> None:
    with pytest.raises(ValueError):
        sign(SECRET, purpose, "42")
