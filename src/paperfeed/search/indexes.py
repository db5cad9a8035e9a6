"""The search indexes of one store, and keeping them in step with it.

A store's keyword index (tantivy) and its dense index (``dense.py``: a file beside a SQLite store, pgvector on
PostgreSQL) are opened here, where ``registry.py`` says they live. Both follow the store through its change sequence:
``sync`` reads ``store.changes_since(seq)`` in batches, updates the index and records the last ``seq`` it applied,
after every batch. A sync killed at any moment resumes from its last batch; applying a batch twice is harmless.

The vector index is per embedding model: when the configured model changes, a new index fills from the start (the
embedding cache keeps every vector ever computed, so switching back costs nothing).
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from paperfeed.errors import PaperfeedError
from paperfeed.search import registry
from paperfeed.search.catch_up import CatchUp
from paperfeed.search.dense import DenseIndex, open_dense_index
from paperfeed.search.embed import Embedder, EmbeddingCache, embed_cached, paper_text, text_hash
from paperfeed.search.keyword import IndexBusy, KeywordDoc, KeywordIndex
from paperfeed.search.models import get_embedder
from paperfeed.search.registry import SearchSettings
from paperfeed.search.summaries import sync_summaries
from paperfeed.store import Store

SYNC_BATCH = 2000  # changes per keyword commit: the step of a catch-up (about a second of indexing)
EMBED_BATCH = 64
CATCH_UP_LOCK_TIMEOUT = 0.5  # how long a catch-up step or a submission waits for another writer of the index


@dataclass
class SyncReport:
    keyword_updated: int = 0
    keyword_deleted: int = 0
    vectors_updated: int = 0
    vectors_deleted: int = 0
    embedded: int = 0  # texts the model had to embed (the rest came from the cache)
    summarised: int = 0  # papers given a machine-made summary (``summaries.py``; only those whose text changed)

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class SearchIndexes:
    """The indexes of one store; get them with ``indexes_for(store)`` (or ``open_indexes``).

    They hold the store weakly (a store's indexes never keep it open) and open each index on first use.
    """

    def __init__(self, store: Store, settings: SearchSettings) -> None:
        self._store_ref = weakref.ref(store)
        self.store: Store = weakref.proxy(store)
        self.settings = settings
        self.index_dir = settings.index_dir
        self.model = settings.model
        self.cache = EmbeddingCache(settings.embedding_cache_file)
        self._keyword: KeywordIndex | None = None
        self._dense: DenseIndex | None = None
        self._embedder: Embedder | None = None
        self._lock = threading.RLock()  # opening indexes (held briefly: searches take it)
        self._sync_lock = threading.RLock()  # one sync at a time (keyword writes also take the index's own lock)
        self._catch_up = CatchUp(self._catch_up_step, f"keyword catch-up {settings.index_dir}")

    @property
    def keyword(self) -> KeywordIndex:
        with self._lock:
            if self._keyword is None:
                self._keyword = KeywordIndex.open(self.index_dir / "keyword")
            return self._keyword

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = get_embedder(self.model)
            return self._embedder

    @property
    def dense(self) -> DenseIndex:
        """The vector index of the configured model (which one is chosen once, here, by the store's dialect)."""
        with self._lock:
            if self._dense is None:
                self._dense = open_dense_index(self.store, self.index_dir, self.model, self.embedder.dim)
            return self._dense

    def close(self) -> None:
        self._catch_up.close()
        with self._lock:
            if self._keyword is not None:
                self._keyword.close()
            self._keyword = None
            self._dense = None
            self.cache.close()
        store = self._store_ref()
        if store is not None:
            registry.discard(store, self)

    def __enter__(self) -> SearchIndexes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pending(self) -> dict[str, int]:
        """How many changes each index has not applied yet."""
        head = self.store.max_seq()
        kw = int(self.keyword.get_meta("seq") or 0)
        return {
            "keyword": self.store.count_changes_since(kw) if kw < head else 0,
            "vectors": self.store.count_changes_since(self.dense.applied_seq()),
        }

    # -- sync --------------------------------------------------------------------------------------------------
    def keyword_seq(self) -> int:
        """The last store change the keyword index has applied."""
        return int(self.keyword.get_meta("seq") or 0)

    def keyword_step(self, *, lock_timeout: float = 30.0) -> SyncReport:
        """Apply the next batch of store changes (at most ``SYNC_BATCH``) to the keyword index in one commit.

        Where to start is read under the index's writer lock, so writers in turn (threads or processes) continue
        from each other's progress instead of each redoing the backlog from where it first looked."""
        report = SyncReport()
        with self.keyword.writing(lock_timeout=lock_timeout) as batch:
            rows = self.store.changes_since(int(batch.get_meta("seq") or 0), SYNC_BATCH)
            if not rows:
                return report
            live = [r for r in rows if not r.deleted]
            gone = [r.id for r in rows if r.deleted]
            batch.upsert(KeywordDoc(r.id, r.title, r.abstract, r.authors, r.categories, r.day) for r in live)
            batch.delete(gone)
            batch.set_meta("seq", rows[-1].seq)
        report.keyword_updated, report.keyword_deleted = len(live), len(gone)
        return report

    def sync_keyword(self, progress: Callable[[int], None] | None = None, *, lock_timeout: float = 30.0) -> SyncReport:
        report = SyncReport()
        while step := self.keyword_step(lock_timeout=lock_timeout):
            if not (step.keyword_updated or step.keyword_deleted):
                break
            report.keyword_updated += step.keyword_updated
            report.keyword_deleted += step.keyword_deleted
            if progress:
                progress(step.keyword_updated + step.keyword_deleted)
        return report

    def sync_vectors(
        self,
        progress: Callable[[int], None] | None = None,
        batch: int = 512,
        embedded_progress: Callable[[int], None] | None = None,
    ) -> SyncReport:
        """Apply the store's changes to the vector index, embedding the texts the cache lacks; ``progress`` is told
        how many changes each batch applied, ``embedded_progress`` how many texts the model embedded."""
        with self._sync_lock:
            return self._sync_vectors(progress, batch, embedded_progress)

    def _sync_vectors(
        self, progress: Callable[[int], None] | None, batch: int, embedded_progress: Callable[[int], None] | None
    ) -> SyncReport:
        report = SyncReport()
        dense = self.dense
        seq = dense.applied_seq()
        while rows := self.store.changes_since(seq, batch):
            live = [r for r in rows if not r.deleted]
            gone = [r.pk for r in rows if r.deleted]
            texts = [paper_text(r.title, r.abstract) for r in live]
            hashes = [text_hash(t) for t in texts]
            todo = dense.to_embed([r.pk for r in live], hashes)
            before = len(self.cache.get(self.embedder.name, [hashes[i] for i in todo]))
            vectors = embed_cached(self.embedder, self.cache, [texts[i] for i in todo], EMBED_BATCH)
            fresh = len({hashes[i] for i in todo}) - before
            report.embedded += fresh
            if embedded_progress and fresh:
                embedded_progress(fresh)
            seq = rows[-1].seq
            dense.apply([live[i].pk for i in todo], [hashes[i] for i in todo], vectors, gone, seq)
            report.vectors_updated += len(todo)
            report.vectors_deleted += len(gone)
            if progress:
                progress(len(rows))
        return report

    def catch_up_keyword(self) -> None:
        """If the keyword index is behind the store, have this process's catch-up thread follow it (``catch_up.py``);
        returns at once: searches answer from the last commit meanwhile."""
        if self.keyword_seq() < self.store.max_seq():
            self._catch_up.request()

    def wait_for_catch_up(self, timeout: float | None = None) -> bool:
        """Wait until the background catch-up (if any) has finished; False on timeout."""
        return self._catch_up.wait(timeout)

    def _catch_up_step(self) -> int:
        if self.keyword_seq() >= self.store.max_seq():
            return 0  # up to date: no need to take the writer to find that out
        step = self.keyword_step(lock_timeout=CATCH_UP_LOCK_TIMEOUT)
        return step.keyword_updated + step.keyword_deleted

    def sync(
        self,
        *,
        embed: bool = True,
        summaries: bool = True,
        backfill_summaries: bool = False,
        progress: Callable[[str, int], None] | None = None,
    ) -> SyncReport:
        """Bring the keyword index (and, with ``embed``, the vectors and, with ``summaries`` too, the machine-made
        summaries of the papers embedded now — of every paper with ``backfill_summaries``) up to the store's latest
        change. ``progress(what, n)`` is told of each batch: ``keyword`` and ``vectors`` count store changes applied,
        ``embedded`` the texts the model embedded (in either step: the slow part, which a progress bar times)."""
        embedded = (lambda n: progress("embedded", n)) if progress else None
        with self._sync_lock:
            report = self.sync_keyword((lambda n: progress("keyword", n)) if progress else None)
            if embed and summaries:
                # First: its one model run per new paper also leaves the paper's vector in the cache for the next step.
                report.summarised, _, report.embedded = sync_summaries(
                    self.store, self.embedder, self.cache, backfill=backfill_summaries, embedded_progress=embedded
                )
            if embed:
                vec = self.sync_vectors(
                    (lambda n: progress("vectors", n)) if progress else None, embedded_progress=embedded
                )
                report.vectors_updated, report.vectors_deleted = vec.vectors_updated, vec.vectors_deleted
                report.embedded += vec.embedded
            return report

    def rebuild_keyword(self) -> SyncReport:
        """Empty the keyword index and refill it from the store."""
        with self._sync_lock:
            with self.keyword.writing() as batch:
                batch.clear()
                batch.set_meta("seq", 0)
            return self.sync_keyword()


def indexes_for(store: Store) -> SearchIndexes:
    """The search indexes of ``store`` as registered (``registry.register``), opened once per store object."""
    with registry.LOCK:
        found = registry.entry(store)
        if found.opened is None:
            found.opened = SearchIndexes(store, found.settings)
        opened: SearchIndexes = found.opened
        return opened


def open_indexes(store: Store, settings: SearchSettings) -> SearchIndexes:
    """Register where ``store``'s indexes live and open them: for whoever opens a store to search it."""
    registry.register(store, settings)
    return indexes_for(store)


def index_a_few(store: Store, limit: int = 20) -> None:
    """Make a paper that was just added (a member's submission) searchable at once: the keyword index and the
    vectors when at most ``limit`` changes wait (one short commit, about a second of embedding). A larger backlog —
    a bulk ingest without ``--index`` — is left to the catch-up thread (keyword) and to ``paperfeed index`` or the
    worker (vectors), never to a web request; so is a keyword index another writer holds."""
    with contextlib.suppress(PaperfeedError):  # the next index run catches up
        indexes = indexes_for(store)
        pending = indexes.pending()
        if pending["keyword"] > limit:
            indexes.catch_up_keyword()
        else:
            try:
                indexes.keyword_step(lock_timeout=CATCH_UP_LOCK_TIMEOUT)
            except IndexBusy:
                indexes.catch_up_keyword()
        if pending["vectors"] <= limit:
            indexes.sync_vectors()
