"""The search side of the command line: ``index``, ``search``, ``similar`` and ``bench quality``.

Thin doors like the rest of the CLI: parse options, call ``search.engine`` / ``search.indexes`` /
``search.evaluation``, render a table or ``--json``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape

from paperfeed.cli.app import App
from paperfeed.cli.output import emit_json, err, progress
from paperfeed.search.fusion import explain_ranking

if TYPE_CHECKING:
    from paperfeed.search.engine import Hit


def _print_hits(hits: list[Hit]) -> None:
    console = Console()
    for i, hit in enumerate(hits, 1):
        p = hit.paper
        authors = ", ".join(p.authors[:3]) + (" et al." if len(p.authors) > 3 else "")
        why = " ".join(
            part
            for part in (
                f"kw#{hit.keyword_rank}" if hit.keyword_rank else "",
                f"sem#{hit.dense_rank}" if hit.dense_rank else "",
            )
            if part
        )
        console.print(f"{i:>3}. [bold]{escape(p.title)}[/]  [dim]{p.id} · {p.announced or ''} · {why}[/]")
        console.print(f"     {escape(authors)}", highlight=False)


def sync_with_progress(
    store: Any, embed: bool = True, quiet: bool = False, backfill_summaries: bool = False
) -> dict[str, int]:
    from paperfeed.search.indexes import indexes_for

    indexes = indexes_for(store)
    if quiet:
        return indexes.sync(embed=embed, backfill_summaries=backfill_summaries).to_dict()
    pending = indexes.pending()
    with progress(speed=True) as bar:
        tasks = {"keyword": bar.add_task("keyword index", total=pending["keyword"])}
        if embed:
            # The model is the slow part: its bar counts the texts embedded (at most one per pending change; fewer
            # when the cache has some), with papers/s and the time left; the vector index then fills from the cache.
            tasks["embedded"] = bar.add_task(f"embedding ({indexes.model})", total=pending["vectors"], unit="papers")
            tasks["vectors"] = bar.add_task("vector index", total=pending["vectors"])
        report = indexes.sync(
            embed=embed,
            backfill_summaries=backfill_summaries,
            progress=lambda which, n: bar.advance(tasks[which], n),
        ).to_dict()
        if embed:  # texts the cache had were never embedded: the bar ends where the model stopped
            done = bar.tasks[tasks["embedded"]].completed
            bar.update(tasks["embedded"], total=done, completed=done)
        return report


@click.command()
@click.option("--no-embed", is_flag=True, help="Only the keyword index (embedding is the slow part).")
@click.option(
    "--summaries",
    is_flag=True,
    help="Also make the machine-made summaries of papers embedded before (one model run each: slow on a big store).",
)
@click.option("--rebuild-keyword", is_flag=True, help="Empty the keyword index and rebuild it from the store.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_obj
def index(app: App, no_embed: bool, summaries: bool, rebuild_keyword: bool, quiet: bool, as_json: bool) -> None:
    """Bring the search indexes up to date with the store: new or changed papers are indexed and embedded.

    Resumable: a killed run continues where its last batch ended. Vectors are cached by model and text, so
    unchanged text is never embedded twice. Changing PAPERFEED_EMBEDDING_MODEL makes this re-embed everything.
    The papers embedded in a run also get their machine-made summary (from the same model run); --summaries makes
    those of papers embedded before.
    """
    from paperfeed.search.indexes import indexes_for

    with app.store() as store:
        if rebuild_keyword:
            indexes_for(store).rebuild_keyword()
        report = sync_with_progress(store, embed=not no_embed, quiet=quiet or as_json, backfill_summaries=summaries)
    if as_json:
        emit_json(report)
    else:
        err.print(", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in report.items()))


@click.command(name="search", epilog=explain_ranking())
@click.argument("query")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=10, show_default=True, help="How many results.")
@click.option(
    "--offset", type=click.IntRange(min=0), default=0, help="Skip this many results (paging; limit + offset ≤ 1000)."
)
@click.option("--mode", type=click.Choice(["hybrid", "keyword", "dense"]), default="hybrid", show_default=True)
@click.option("--recent", "recency", type=float, default=0.0, help="Prefer recent papers (0 = off, 1 = strongly).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.pass_obj
def search_command(app: App, query: str, limit: int, offset: int, mode: str, recency: float, as_json: bool) -> None:
    """Hybrid keyword + semantic search.

    \b
    Syntax: "exact phrase"  -exclude  author:hinton  author:"Geoffrey Hinton"  cat:cs.LG  title:word
            year:2025  year:2023..2025  after:2025-03-01  before:2025-06-30  (or an arXiv id / URL)
    """
    from paperfeed.search.engine import search

    with app.store() as store:
        results = search(store, query, limit, offset=offset, mode=mode, recency=recency)  # type: ignore[arg-type]
    if as_json:
        emit_json(results.to_dict())
        return
    for note in results.notes:
        err.print(f"[yellow]{escape(note)}[/]")
    _print_hits(results.hits)
    if results.total == 0:
        err.print("No results: nothing in this store matches the words or comes close to their meaning.")
        return
    count = f"{'at least ' if not results.exact else ''}{results.total:,} result{'s' if results.total != 1 else ''}"
    err.print(f"[dim]{count} · {results.took_ms:.0f} ms[/]")


@click.command()
@click.argument("paper_id", required=False)
@click.option("--text", help="Instead of a paper: papers like this text (an abstract, a draft; '-' reads stdin).")
@click.option("-n", "--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--recent-days", type=click.IntRange(0, 36_500), help="Only papers from the last N days.")
@click.option(
    "--sort",
    type=click.Choice(["relevance", "recency", "popularity"]),
    default="relevance",
    show_default=True,
    help="recency: the most similar papers newest first; popularity: by upvotes and comments (trending's points).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.pass_obj
def similar(
    app: App, paper_id: str | None, text: str | None, limit: int, recent_days: int | None, sort: str, as_json: bool
) -> None:
    """Papers similar to PAPER_ID (nearest by embedding fused with its distinctive words, other versions of it
    removed), or to --text (by embedding)."""
    from paperfeed.community.related import similar_papers
    from paperfeed.search.engine import similar_to_text

    if (paper_id is None) == (text is None):
        raise click.UsageError("give either a PAPER_ID or --text")
    if text is not None and sort != "relevance":
        raise click.UsageError("--sort applies to a PAPER_ID's similar papers, not to --text")
    with app.store() as store:
        if text is not None:
            hits = similar_to_text(store, sys.stdin.read() if text == "-" else text, limit, recent_days=recent_days)
        else:
            assert paper_id is not None
            hits = similar_papers(store, paper_id, limit, sort=sort, recent_days=recent_days)
    if as_json:
        emit_json([h.to_dict() for h in hits])
    elif hits:
        _print_hits(hits)
    else:
        within = f" announced in the last {recent_days} days" if recent_days else ""
        click.echo(f"no similar papers{within}", err=True)


@click.group()
def bench() -> None:
    """Measure search quality and speed."""


@bench.command()
@click.argument("collection", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--split", default="test", show_default=True, help="Which qrels/<split>.tsv to score.")
@click.option("--mode", "modes", multiple=True, type=click.Choice(["hybrid", "keyword", "dense"]),
              help="Modes to run (default: all three).")  # fmt: skip
@click.option("--run-out", type=click.Path(path_type=Path, dir_okay=False), help="Write a TREC run file.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.pass_obj
def quality(
    app: App, collection: Path, split: str, modes: tuple[str, ...], run_out: Path | None, as_json: bool
) -> None:
    """nDCG@10, recall@100 and MRR@10 of the product's search on a BEIR-layout COLLECTION.

    The corpus is loaded into a temporary store through the normal ingest and index path; every query runs through
    the same search function as the site. With several modes, --run-out gets the mode name appended.
    """
    from paperfeed.search.evaluation import run_quality

    chosen = list(modes) or ["hybrid", "keyword", "dense"]
    rows = run_quality(collection, split, chosen, app.config.embedding_model, app.config.cache_dir, run_out)
    if as_json:
        emit_json(rows)
        return
    console = Console()
    console.print(f"[bold]{collection.name}[/] ({split}, {rows[0]['queries']} queries)")
    console.print("| mode | nDCG@10 | recall@100 | MRR@10 |")
    console.print("|---|---:|---:|---:|")
    for r in rows:
        console.print(f"| {r['mode']} | {r['ndcg@10']:.3f} | {r['recall@100']:.3f} | {r['mrr@10']:.3f} |")
