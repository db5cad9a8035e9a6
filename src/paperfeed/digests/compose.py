"""What goes into a digest: which papers each subscriber gets for a period (a day or an ISO week), and why.

A run composes one period for many subscribers, so everything that does not depend on the subscriber is computed
once (``gather``): the period's feed (one listing query, its papers loaded once and indexed by category and by author
name, so each category's and author's listing is a lookup), trending as of the end of the period (once), and each
distinct saved query's hybrid search over the period's days (once). Each digest is then assembled from those shared
results (``assemble``, pure): sections in the subscriber's order (trending, For you, categories, authors, queries),
filled round-robin so every topic gets a share of ``max_papers``, each paper once (in the section that picked it first)
with every reason it qualifies ("trending", "cat:cs.LG", "query: diffusion models").

What counts as new: everything comes from the period's feed. Trending keeps the papers whose feed day is in the
period (else the same paper would top seven daily digests in a row). A saved query is searched with the period's
days as its date range, and a paper matches only when every word of the query occurs in it: a day's feed always has
*some* nearest neighbour of any query, and a digest that always finds something teaches people to ignore it. The
hybrid score still orders the matches, so the closest in meaning come first. Categories match any of a paper's
categories (cross-lists included); an author topic matches an author whose name holds all its words, ignoring case
and accents ("author:hinton" matches "Geoffrey E. Hinton").

For you is the one topic that is each member's own: the papers of the period that fit their library, ranked by
``recommend`` for all the run's members at once, each with its reason ("for you: close to “…” in your library").

The result is a ``Digest`` (``emails``'s plain data); how it looks in a mail is ``emails`` and ``templates/``, when
it is sent is ``schedule``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from paperfeed.community.trending import rank
from paperfeed.config import Config
from paperfeed.digests.emails import Digest, DigestEntry, DigestSection
from paperfeed.digests.links import manage_url, site_url, unsubscribe_url
from paperfeed.errors import BadInput
from paperfeed.papers import Paper
from paperfeed.periods import Period
from paperfeed.recommend.digest import ForYouRun, Pick, collector_paused
from paperfeed.search.engine import search
from paperfeed.search.indexes import indexes_for
from paperfeed.search.query import parse_query
from paperfeed.store import Store
from paperfeed.store.subscriptions import Subscriber, Topic
from paperfeed.tokens import instance_secret

TRENDING_DEPTH = 50  # trending papers considered per period (a digest holds at most 50)
QUERY_DEPTH = 100  # search hits taken per saved query before the every-word check
FOR_YOU_AT_ONCE = 10_000  # members whose signals are read and ranked together (~110 signals each: ~150 MB)
FREQUENCY_FOR = {"day": "daily", "week": "weekly"}
TopicKey = tuple[str, str]
TRENDING: TopicKey = ("trending", "")
_WORD_RE = re.compile(r"[^\W_]+")


@dataclass
class PeriodResults:
    """What a period's digests are made of: ranked paper ids per topic key, and the papers."""

    period: Period
    papers: dict[str, Paper] = field(default_factory=dict)
    ranked: dict[TopicKey, tuple[str, ...]] = field(default_factory=dict)
    members: dict[TopicKey, frozenset[str]] = field(default_factory=dict)
    notes: dict[TopicKey, dict[str, str]] = field(default_factory=dict)  # For you: each paper's reason, per member

    def put(self, key: TopicKey, ids: Sequence[str]) -> None:
        ranked = tuple(dict.fromkeys(pid for pid in ids if pid in self.papers))
        self.ranked[key] = ranked
        self.members[key] = frozenset(ranked)


def check_period(period: Period) -> str:
    """The frequency whose subscribers get ``period``'s digest; BadInput for a month."""
    if period.kind not in FREQUENCY_FOR:
        raise BadInput("digests cover a day (2026-11-20) or an ISO week (2026-W47)", where="period")
    return FREQUENCY_FOR[period.kind]


def topic_key(topic: Topic, user_id: int | None = None) -> TopicKey:
    """Topics that mean the same share one computation: categories and queries ignore case, authors accents too;
    For you is the member's own (keyed by their account)."""
    if topic.kind == "foryou":
        return ("foryou", str(user_id or ""))
    if topic.kind == "author":
        return ("author", " ".join(name_words(topic.value)))
    return (topic.kind, " ".join(topic.value.casefold().split()))


def name_words(name: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WORD_RE.findall(plain.casefold())


# -- shared results -------------------------------------------------------------------------------------------------
def gather(store: Store, period: Period, subscribers: Iterable[Subscriber]) -> PeriodResults:
    """Compute every distinct topic of ``subscribers`` once for ``period``."""
    check_period(period)
    wanted: dict[TopicKey, Topic] = {}
    trending = False
    for_you: set[int] = set()
    depth = 0  # the most For-you papers any of them shows
    for subscriber in subscribers:
        trending = trending or subscriber.include_trending
        for topic in subscriber.topics:
            if topic.kind == "foryou":
                if subscriber.user_id is not None:
                    for_you.add(subscriber.user_id)
                    depth = max(depth, subscriber.max_papers)
                continue
            wanted.setdefault(topic_key(topic), topic)
    results = PeriodResults(period)
    first, last = period.day_range
    if any(kind in ("cat", "author") for kind, _ in wanted):
        feed, _ = store.listing(first, last, limit=1_000_000)  # the site's order: most upvoted first
        results.papers.update(store.get_papers(feed))
        _feed_topics(results, [pid for pid in feed if pid in results.papers], wanted)
    if trending:
        entries = [e for e in rank(store, last) if first <= e.day <= last][:TRENDING_DEPTH]
        missing = [e.paper_id for e in entries if e.paper_id not in results.papers]
        results.papers.update(store.get_papers(missing))
        results.put(TRENDING, [e.paper_id for e in entries])
    for key, topic in wanted.items():
        if key[0] == "query":
            results.put(key, _query_matches(store, results, topic.value, first, last))
    if for_you:
        _for_you(store, results, sorted(for_you), first, last, depth)
    return results


def _for_you(store: Store, results: PeriodResults, members: list[int], first: str, last: str, depth: int) -> None:
    """Each member's For-you papers of the period (all members at once: ``recommend.digest``) and their reasons; a
    digest shows at most ``depth`` (the largest ``max_papers``) of them."""
    picked: dict[int, list[Pick]] = {}
    run = ForYouRun(store, first, last, depth, first_reason=True)
    with collector_paused():
        for i in range(0, len(members), FOR_YOU_AT_ONCE):
            chunk = members[i : i + FOR_YOU_AT_ONCE]
            picked |= run.sections(chunk, store.signal_rows_many(chunk), store.member_tags_many(chunk))
    missing = {p.paper_id for picks in picked.values() for p in picks} - results.papers.keys()
    results.papers.update(store.get_papers(sorted(missing)))
    for member, picks in picked.items():
        key = ("foryou", str(member))
        results.put(key, [p.paper_id for p in picks])
        results.notes[key] = {p.paper_id: "for you: " + p.reasons[0].text for p in picks}


def _feed_topics(results: PeriodResults, feed: list[str], wanted: dict[TopicKey, Topic]) -> None:
    by_category: dict[str, list[str]] = {}
    by_word: dict[str, set[tuple[str, int]]] = {}  # name word -> (paper id, author position)
    need_authors = any(kind == "author" for kind, _ in wanted)
    for pid in feed:
        paper = results.papers[pid]
        for category in dict.fromkeys(c.casefold() for c in paper.categories):
            by_category.setdefault(category, []).append(pid)
        if need_authors:
            for position, author in enumerate(paper.authors):
                for word in name_words(author):
                    by_word.setdefault(word, set()).add((pid, position))
    order = {pid: i for i, pid in enumerate(feed)}
    for key in wanted:
        kind, value = key
        if kind == "cat":
            results.put(key, by_category.get(value, []))
        elif kind == "author":
            words = value.split()
            found = set.intersection(*(by_word.get(w, set()) for w in words)) if words else set()
            results.put(key, sorted({pid for pid, _ in found}, key=order.__getitem__))


def _query_matches(store: Store, results: PeriodResults, text: str, first: str, last: str) -> list[str]:
    hits = search(store, text, QUERY_DEPTH, date_from=first, date_to=last, highlight=False).hits
    query = parse_query(text)
    if query.words and hits:
        # Every word as a one-word phrase: all of them must occur (see the module docstring).
        every = replace(query, phrases=(*query.phrases, *query.words), words=(), text_parts=())
        ok = indexes_for(store).keyword.filter_ids(every, [h.paper.id for h in hits])
        hits = [h for h in hits if h.paper.id in ok]
    for hit in hits:
        results.papers.setdefault(hit.paper.id, hit.paper)
    return [h.paper.id for h in hits]


# -- one subscriber's digest ----------------------------------------------------------------------------------------
def assemble(subscriber: Subscriber, results: PeriodResults, *, site: str, unsubscribe: str, manage: str) -> Digest:
    """The digest for one subscriber from the shared results; no sections when there is nothing new."""
    keys: dict[TopicKey, str] = {}  # key -> section title
    reasons: dict[TopicKey, str] = {}
    if subscriber.include_trending:
        keys[TRENDING] = "Trending today" if results.period.kind == "day" else "Trending this week"
        reasons[TRENDING] = "trending"
    for topic in subscriber.topics:
        key = topic_key(topic, subscriber.user_id)
        if key not in keys:
            keys[key] = topic.value if topic.kind == "cat" else f"{topic.kind}: {topic.value}"
            if topic.kind == "foryou":
                keys[key] = "For you"
            reasons[key] = topic.reason
    order = list(keys)
    lists = [results.ranked.get(key, ()) for key in order]
    picked = _round_robin(lists, subscriber.max_papers)
    sections = []
    for index, key in enumerate(order):
        entries = tuple(
            DigestEntry(
                results.papers[pid],
                f"{site}/papers/{pid}",
                tuple(
                    results.notes.get(k, {}).get(pid, reasons[k]) for k in order if pid in results.members.get(k, ())
                ),
            )
            for pid, section in picked.items()
            if section == index
        )
        if entries:
            sections.append(DigestSection(keys[key], entries))
    count = len(picked)
    label = results.period.label
    subject = f"paperfeed: {count} new paper{'s' * (count != 1)} · {label}" if count else "paperfeed: nothing new"
    return Digest(subject, label, tuple(sections), unsubscribe, manage, site)


def _round_robin(lists: Sequence[Sequence[str]], limit: int) -> dict[str, int]:
    """Paper id -> index of the list that picked it, taking the next unpicked paper of each list in turn."""
    picked: dict[str, int] = {}
    cursors = [0] * len(lists)
    progressed = True
    while progressed and len(picked) < limit:
        progressed = False
        for index, ids in enumerate(lists):
            if len(picked) >= limit:
                break
            cursor = cursors[index]
            while cursor < len(ids) and ids[cursor] in picked:
                cursor += 1
            if cursor < len(ids):
                picked[ids[cursor]] = index
                cursor += 1
                progressed = True
            cursors[index] = cursor
    return picked


def paper_count(digest: Digest) -> int:
    return sum(len(section.entries) for section in digest.sections)


def compose_period(
    store: Store, config: Config, period: Period, subscribers: Sequence[Subscriber] | None = None
) -> Iterator[tuple[Subscriber, Digest]]:
    """Each subscriber's digest for ``period`` (default: every active subscriber of its frequency), topics computed
    once for all. A digest without sections means nothing new: it is not sent."""
    frequency = check_period(period)
    chosen = list(subscribers) if subscribers is not None else store.subscribers(frequency=frequency)
    results = gather(store, period, chosen)
    secret = instance_secret(config)
    site, manage = site_url(config), manage_url(config)
    for subscriber in chosen:
        link = unsubscribe_url(config, subscriber, secret)
        yield subscriber, assemble(subscriber, results, site=site, unsubscribe=link, manage=manage)
