"""``paperfeed library``: a member's library from scripts — import reference-manager files, id lists or an author's
papers; list; export the library, a collection or the whole account; restore an account export.

Thin like every command: parse, call one ``paperfeed.library`` function, print a summary (stderr) or ``--json``
(stdout). Exit codes as everywhere: 3 no such member or collection, 4 a malformed file (the message names its
line, nothing was written), 6 the store.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson
from rich.markup import escape

from paperfeed.cli.app import App, pass_app
from paperfeed.cli.output import emit_json, err
from paperfeed.errors import NotFound
from paperfeed.library import account, exports, imports, saves
from paperfeed.store import Store
from paperfeed.store.community import User

member_option = click.option("--member", "member_name", required=True, help="The member's name.")


def _member(store: Store, name: str) -> User:
    found = store.user_by_name(name)
    if found is None:
        raise NotFound(f"no member named {name!r}")
    return found


@click.group()
def library() -> None:
    """A member's library: import, list, export, restore."""


@library.command(name="import")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False, exists=True, allow_dash=True))
@member_option
@click.option("--author", help="Instead of files: every paper in the store by this author.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", *imports.FORMATS]),
    default="auto",
    show_default=True,
    help="The files' format (auto tells BibTeX, RIS and id lists apart).",
)
@click.option("--tags", default="", help="Tags for everything imported, comma-separated.")
@click.option("--collection", help="Put the papers in this collection (made, private, if new).")
@click.option("--dry-run", is_flag=True, help="Report what would match; save nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
def import_command(
    app: App,
    files: tuple[Path, ...],
    member_name: str,
    author: str | None,
    fmt: str,
    tags: str,
    collection: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Import BibTeX / RIS files (Zotero, Mendeley, Google Scholar, JabRef), lists of arXiv ids or URLs, or an
    author's papers; matched by arXiv id, DOI, then title. A malformed file stops everything (exit 4)."""
    if not files and not author:
        raise click.UsageError("give files to import, or --author NAME")
    with app.store() as store:
        member = _member(store, member_name)
        reports = []
        if author:
            reports.append(
                imports.import_author(store, member, author, tags=tags, collection=collection, dry_run=dry_run)
            )
        # Every file is read and matched before any is saved: a malformed second file leaves the first unsaved too.
        texts = [(str(f), sys.stdin.buffer.read() if str(f) == "-" else f.read_bytes()) for f in files]
        for name, data in texts:
            imports.import_references(store, member, data, filename=name, fmt=fmt, dry_run=True)
        for name, data in texts:
            reports.append(
                imports.import_references(
                    store, member, data, filename=name, fmt=fmt, tags=tags, collection=collection, dry_run=dry_run
                )
            )
    if as_json:
        emit_json([r.to_dict() for r in reports] if len(reports) != 1 else reports[0].to_dict())
        return
    for r in reports:
        for m in r.matched:
            err.print(f"  [green]matched[/] {escape(m.paper_id)} by {m.how} ({m.reference.where})", highlight=False)
        for u in r.unmatched:
            err.print(f"  [yellow]not found[/] {escape(u.label)} ({u.where})", highlight=False)
        saved = "nothing saved (dry run)" if r.dry_run else f"{r.added} new in the library"
        err.print(f"{r.format}: {len(r.matched)} matched, {len(r.unmatched)} not found; {saved}", highlight=False)


@library.command(name="list")
@member_option
@click.option("--tag", default="", help="Only papers with this tag.")
@click.option("--state", type=click.Choice(["", "to-read", "read"]), default="", help="Only this reading state.")
@click.option("-q", "--query", default="", help="Words in the title, authors, abstract, note or tags.")
@click.option("--json", "as_json", is_flag=True, help="Print the papers as JSON.")
@pass_app
def list_command(app: App, member_name: str, tag: str, state: str, query: str, as_json: bool) -> None:
    """A member's saved papers, newest saved first."""
    with app.store() as store:
        member = _member(store, member_name)
        shown = saves.listing(store, member, tag=tag, state=state, text=query, limit=500)
        papers = store.get_papers(shown.ids)
    rows = [
        {
            "paper": pid,
            "title": papers[pid].title if pid in papers else "",
            "state": shown.entries[pid].state,
            "tags": list(shown.entries[pid].tags),
            "note": shown.entries[pid].note,
            "saved_at": shown.entries[pid].saved_at,
        }
        for pid in shown.ids
    ]
    if as_json:
        emit_json({"total": shown.total, "papers": rows})
        return
    for row in rows:
        click.echo(f"{row['paper']}\t{row['state']}\t{row['title']}\t{', '.join(row['tags'])}")
    err.print(f"{shown.total} of {shown.saved} saved papers", highlight=False)


@library.command(name="export")
@member_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["bibtex", "ris", "csl", "account"]),
    default="bibtex",
    show_default=True,
    help="A reference-manager format, or the whole account as JSON.",
)
@click.option("--collection", help="Export this collection (a slug) instead of the whole library.")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="File to write (default: stdout)."
)
@pass_app
def export_command(app: App, member_name: str, fmt: str, collection: str | None, output: Path | None) -> None:
    """The library, a collection, or the whole account (profile, votes, comments, ratings, library, collections,
    subscriptions) of a member."""
    with app.store() as store:
        member = _member(store, member_name)
        if fmt == "account":
            text = orjson.dumps(account.export_account(store, member), option=orjson.OPT_INDENT_2).decode() + "\n"
            count = None
        else:
            done = (
                exports.collection_export(store, member, member.name, collection, fmt)
                if collection
                else exports.library_export(store, member, fmt)
            )
            text, count = done.text, done.count
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    what = "the account" if count is None else f"{count} papers"
    err.print(f"exported {what}" + (f" to {output}" if output else ""), highlight=False)


@library.command(name="restore")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@member_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def restore_command(app: App, file: Path, member_name: str, as_json: bool) -> None:
    """Restore the library, collections, ratings, upvotes and blend of an account export (from this store or
    another) into a member's account, all or nothing; restoring the same file twice changes nothing."""
    with app.store() as store:
        report = account.restore_account(store, _member(store, member_name), file.read_bytes())
    if as_json:
        emit_json(report.to_dict())
        return
    err.print(report.summary, highlight=False)
    for what, why in account.NOT_RESTORED:
        if report.not_restored.get(what):
            err.print(f"{what} are not restored: {why}", highlight=False)
