"""What people type into the search box, parsed into a ``Query`` the search engines can execute.

The syntax is the one researchers already know from search engines and arXiv: free words, ``"quoted phrases"``,
``-word`` / ``-"phrase"`` exclusions, field filters (``author:``, ``cat:``, ``title:``, ``year:``, ``after:``,
``before:``) and, as the whole query, an arXiv id or URL. Parsing is pure and never fails: anything we do not
understand stays a plain word (``foo:bar``), a filter with a bad value becomes a plain word plus a warning the UI can
show, and an unbalanced quote runs to the end of the text. The engines (keyword, dense) decide what the parts mean
for ranking; this module only says what was asked.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from paperfeed.papers import split_arxiv_id

# Field names as typed (case-insensitive) → the filter they set. arXiv's own short names (au, ti) are accepted.
_FIELDS = {
    "author": "author",
    "au": "author",
    "cat": "cat",
    "category": "cat",
    "title": "title",
    "ti": "title",
    "year": "year",
    "after": "after",
    "before": "before",
}
_FIELD_RE = re.compile(r"([A-Za-z]+):")
_YEAR_RANGE_RE = re.compile(r"^(?P<lo>\d{4})?(?:\.\.|-)(?P<hi>\d{4})?$")
_DATE_RE = re.compile(r"^(?P<y>\d{4})(?:-(?P<m>\d{1,2})(?:-(?P<d>\d{1,2}))?)?$")
_CATEGORY_RE = re.compile(r"^[A-Za-z][A-Za-z\-]*(?:\.[A-Za-z\-]+)?$")
_HF_PAPER_RE = re.compile(r"^(?:https?://)?(?:www\.)?huggingface\.co/papers/(?P<id>[^/?#\s]+)", re.IGNORECASE)
_ARXIV_PREFIX_RE = re.compile(r"^arxiv:\s+", re.IGNORECASE)
# Typographic quotes (pasted from papers and chat) mean the same as ASCII ones.
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})


@dataclass(frozen=True)
class Query:
    """A parsed search query. Every part is optional; ``raw`` is the text as typed.

    ``authors``, ``title_terms`` and ``phrases`` must all match; ``categories`` match if any does; ``words`` rank
    (any may match). ``date_from`` / ``date_to`` are inclusive ISO days. ``paper_id`` (with ``version``) is set only
    when the whole query is an arXiv id or URL, and then nothing else is.
    """

    raw: str = ""
    words: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    exclude_words: tuple[str, ...] = ()
    exclude_phrases: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    exclude_authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()
    title_terms: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    paper_id: str | None = None
    version: int | None = None
    # Free words and phrases in the order typed, for the semantic model (order carries meaning there).
    text_parts: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def text_for_dense(self) -> str:
        """The free words and phrases joined: what a semantic model should embed (filters excluded)."""
        return " ".join(self.text_parts)

    @property
    def has_text(self) -> bool:
        """True when there is something to rank by (free words or phrases)."""
        return bool(self.words or self.phrases)

    @property
    def has_filters(self) -> bool:
        """True when the query restricts the result set by author, category, title, date or exclusions."""
        return bool(
            self.authors
            or self.exclude_authors
            or self.categories
            or self.exclude_categories
            or self.title_terms
            or self.date_from
            or self.date_to
            or self.exclude_words
            or self.exclude_phrases
        )

    @property
    def is_empty(self) -> bool:
        """True when nothing was asked: no text, no filter, no paper id."""
        return not (self.has_text or self.has_filters or self.paper_id)


def parse_query(text: str) -> Query:
    """Parse a search box query. Never raises; see the module docstring for the syntax."""
    raw = text
    text = text.translate(_QUOTES).strip()
    found = _whole_query_id(text)
    if found is not None:
        return Query(raw=raw, paper_id=found[0], version=found[1])
    builder = _Builder()
    for negated, field, value, quoted in _tokens(text):
        builder.add(negated, field, value, quoted)
    return builder.build(raw)


def _whole_query_id(text: str) -> tuple[str, int | None] | None:
    """The arXiv id when the whole query is one (bare, ``arXiv:`` prefixed, or an arXiv / Hugging Face URL)."""
    text = _ARXIV_PREFIX_RE.sub("arXiv:", text)
    if not text or any(c.isspace() for c in text):
        return None
    hf = _HF_PAPER_RE.match(text)
    if hf is not None:
        text = hf.group("id")
    return split_arxiv_id(text)


def _tokens(text: str) -> list[tuple[bool, str | None, str, bool]]:
    """Split into ``(negated, field, value, quoted)``; quotes group words, a missing closing quote ends the text."""
    out: list[tuple[bool, str | None, str, bool]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        negated = False
        if text[i] == "-" and i + 1 < n and not text[i + 1].isspace():
            negated = True
            i += 1
        field: str | None = None
        m = _FIELD_RE.match(text, i)
        if m is not None and m.group(1).lower() in _FIELDS:
            field = _FIELDS[m.group(1).lower()]
            i = m.end()
        if i < n and text[i] == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            out.append((negated, field, " ".join(text[i + 1 : end].split()), True))
            i = end + 1
        else:
            end = i
            while end < n and not text[end].isspace():
                end += 1
            word = text[i:end]
            if field is None:
                # A stray quote inside a word (an unbalanced one mid-token) is noise, not a phrase.
                word = word.replace('"', "")
            out.append((negated, field, word, False))
            i = end
    return out


class _Builder:
    """Accumulates tokens into the parts of a Query, keeping the first occurrence of repeated parts."""

    def __init__(self) -> None:
        self.parts: dict[str, list[str]] = {
            name: []
            for name in (
                "words",
                "phrases",
                "exclude_words",
                "exclude_phrases",
                "authors",
                "exclude_authors",
                "categories",
                "exclude_categories",
                "title_terms",
                "text_parts",
                "warnings",
            )
        }
        self.date_from: str | None = None
        self.date_to: str | None = None

    def _put(self, part: str, value: str) -> None:
        values = self.parts[part]
        # Free words keep their repeats: a word said twice weighs twice in BM25 (this lifted nDCG@10 on the long
        # natural-language queries of the dev collections); filters and phrases are sets.
        if part == "words" or value.casefold() not in (v.casefold() for v in values):
            values.append(value)

    def add(self, negated: bool, field: str | None, value: str, quoted: bool) -> None:
        if field is None:
            self._text(negated, value, quoted)
            return
        label = f"{field}:{value}" if not quoted else f'{field}:"{value}"'
        if not value:
            self.parts["warnings"].append(f"{field}: has no value and was ignored")
        elif field == "author":
            self._put("exclude_authors" if negated else "authors", value)
        elif field == "title":
            if negated:
                self._put("exclude_phrases" if quoted or " " in value else "exclude_words", value)
            else:
                self._put("title_terms", value)
        elif field == "cat":
            cats = [c for c in value.replace(",", " ").split() if c]
            bad = [c for c in cats if not _CATEGORY_RE.match(c)]
            if bad:
                self.parts["warnings"].append(f"{label}: not an arXiv category, searched as words")
                self._text(negated, value, quoted)
            for cat in cats if not bad else []:
                self._put("exclude_categories" if negated else "categories", cat)
        elif negated:
            self.parts["warnings"].append(f"-{label}: a date filter cannot be negated and was ignored")
        else:
            span = _date_span(field, value)
            if span is None:
                self.parts["warnings"].append(f"{label}: not a valid {field}, searched as words")
                self._text(False, label, False)
            else:
                lo, hi = span
                if lo is not None and (self.date_from is None or lo > self.date_from):
                    self.date_from = lo
                if hi is not None and (self.date_to is None or hi < self.date_to):
                    self.date_to = hi

    def _text(self, negated: bool, value: str, quoted: bool) -> None:
        # Tokens with no letter or digit ("-", "&", "--") carry nothing to search for.
        if not any(c.isalnum() for c in value):
            return
        if negated:
            self._put("exclude_phrases" if quoted else "exclude_words", value)
            return
        before = len(self.parts["words"]) + len(self.parts["phrases"])
        self._put("phrases" if quoted else "words", value)
        if len(self.parts["words"]) + len(self.parts["phrases"]) > before:
            self.parts["text_parts"].append(value)

    def build(self, raw: str) -> Query:
        p = {name: tuple(values) for name, values in self.parts.items()}
        return Query(
            raw=raw,
            words=p["words"],
            phrases=p["phrases"],
            exclude_words=p["exclude_words"],
            exclude_phrases=p["exclude_phrases"],
            authors=p["authors"],
            exclude_authors=p["exclude_authors"],
            categories=p["categories"],
            exclude_categories=p["exclude_categories"],
            title_terms=p["title_terms"],
            date_from=self.date_from,
            date_to=self.date_to,
            text_parts=p["text_parts"],
            warnings=p["warnings"],
        )


def _date_span(field: str, value: str) -> tuple[str | None, str | None] | None:
    """``year:2025`` / ``year:2023..2025`` / ``after:2025-03`` / ``before:2025-06-30`` → inclusive ISO bounds."""
    if field == "year":
        if re.fullmatch(r"\d{4}", value):
            return f"{value}-01-01", f"{value}-12-31"
        m = _YEAR_RANGE_RE.match(value)
        if m is None or not (m.group("lo") or m.group("hi")):
            return None
        lo, hi = m.group("lo"), m.group("hi")
        if lo and hi and lo > hi:
            lo, hi = hi, lo
        return (f"{lo}-01-01" if lo else None), (f"{hi}-12-31" if hi else None)
    first_last = _date_bounds(value)
    if first_last is None:
        return None
    return (first_last[0], None) if field == "after" else (None, first_last[1])


def _date_bounds(value: str) -> tuple[str, str] | None:
    """The first and last day a (possibly partial) ISO date covers: ``2025-06`` → 2025-06-01, 2025-06-30."""
    m = _DATE_RE.match(value)
    if m is None:
        return None
    year = int(m.group("y"))
    try:
        if m.group("d"):
            day = dt.date(year, int(m.group("m")), int(m.group("d")))
            return day.isoformat(), day.isoformat()
        if m.group("m"):
            month = int(m.group("m"))
            last = calendar.monthrange(year, month)[1]
            return dt.date(year, month, 1).isoformat(), dt.date(year, month, last).isoformat()
        return f"{year:04d}-01-01", f"{year:04d}-12-31"
    except (ValueError, calendar.IllegalMonthError):
        return None
