"""Reading ahead: a file's batches are parsed in a child process while this one merges and writes the previous ones.

Parsing a file (JSON, text clean-up, record checks) and preparing its rows for the store (``ingest.prepared``) is
more than half of a file ingest's CPU, writing the rest; on two cores the two overlap instead of taking turns.
Whatever the iterator yields comes back exactly so, in order and whole (``read_ahead(map(prepared, batches))``
prepares in the child), so transactions, checkpoints, rejections with file and line and resumption are those of
reading inline. At most ``depth`` batches wait in the pipe, so memory stays flat on files of any size.

The child is forked, so the iterator (a generator over open files) needs no pickling, and it does nothing but
iterate and send: it never touches the store. An error it meets is raised here, at the batch where it happened;
a child that dies without a word (killed, out of memory) is reported as such rather than waited for.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
from collections.abc import Iterator
from typing import Any, TypeVar

from paperfeed.errors import PaperfeedError

_POLL_S = 1.0
T = TypeVar("T")


def read_ahead(batches: Iterator[T], *, depth: int = 2) -> Iterator[T]:
    """The same batches as ``batches``, made ahead in a child process (inline on one core or without fork)."""
    if (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        yield from batches
        return
    ctx = multiprocessing.get_context("fork")
    pipe: Any = ctx.Queue(maxsize=depth)
    child = ctx.Process(target=_produce, args=(batches, pipe, os.getpid()), name="paperfeed-read-ahead", daemon=True)
    child.start()
    try:
        while True:
            kind, payload = _next(pipe, child)
            if kind == "batch":
                yield payload
            elif kind == "error":
                raise payload
            else:
                return
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        pipe.close()


def _next(pipe: Any, child: Any) -> tuple[str, Any]:
    while True:
        try:
            item: tuple[str, Any] = pipe.get(timeout=_POLL_S)
            return item
        except queue.Empty:
            if child.is_alive():
                continue
            try:  # what it sent just before it ended may still be in the pipe
                item = pipe.get(timeout=_POLL_S)
                return item
            except queue.Empty:
                raise PaperfeedError(
                    f"the file reader stopped without finishing (exit code {child.exitcode})"
                ) from None


def _put(pipe: Any, item: tuple[str, Any], parent: int) -> None:
    # A killed parent must not leave its child behind: the child holds copies of the parent's sockets (a PostgreSQL
    # connection idle in a transaction, whose locks would stall the next ingest), so it ends as soon as it is orphaned.
    while True:
        try:
            pipe.put(item, timeout=_POLL_S)
            return
        except queue.Full:
            if os.getppid() != parent:
                os._exit(0)


def _produce(batches: Iterator[Any], pipe: Any, parent: int) -> None:
    try:
        for batch in batches:
            _put(pipe, ("batch", batch), parent)
    except KeyboardInterrupt:
        return
    except BaseException as exc:  # every error goes to the parent, which raises it
        try:
            pickle.dumps(exc)
        except Exception:  # one that does not pickle goes as its message
            exc = PaperfeedError(f"{type(exc).__name__}: {exc}")
        _put(pipe, ("error", exc), parent)
    else:
        _put(pipe, ("end", None), parent)
    finally:
        pipe.close()
        if os.getppid() != parent:
            os._exit(0)
        pipe.join_thread()
