"""How the commands talk: ``--json`` to stdout, messages and progress bars to stderr, papers printed one way.

Machine-readable output goes to stdout only, so ``paperfeed … --json | jq`` works while a bar is drawn on stderr.
"""

from __future__ import annotations

import sys
from typing import Any

import orjson
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from paperfeed.papers import Paper

err = Console(stderr=True)


def emit_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


class SpeedColumn(ProgressColumn):
    """Items per second of a task given a ``unit`` field (``papers/s``), over rich's recent window; blank otherwise."""

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit")
        if not unit or task.speed is None or task.finished:
            return Text("")
        return Text(f"{task.speed:,.1f} {unit}/s", style="progress.data.speed")


class LeftColumn(ProgressColumn):
    """The time a task with a ``unit`` has left at its current speed (``0:19:30 left``); blank otherwise."""

    def render(self, task: Task) -> Text:
        remaining = task.time_remaining
        if not task.fields.get("unit") or remaining is None or task.finished:
            return Text("")
        minutes, seconds = divmod(int(remaining), 60)
        hours, minutes = divmod(minutes, 60)
        return Text(f"{hours}:{minutes:02d}:{seconds:02d} left", style="progress.remaining")


def progress(*, rate: bool = False, speed: bool = False, disable: bool = False) -> Progress:
    """The progress bar of every long command, on stderr; ``rate`` adds a column its task's ``rate`` field fills,
    ``speed`` the items per second and the time left of the tasks added with a ``unit`` field."""
    columns: list[ProgressColumn] = [
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
    ]
    if rate:
        columns.append(TextColumn("{task.fields[rate]}"))
    if speed:
        columns += [SpeedColumn(), LeftColumn()]
    return Progress(*columns, TimeElapsedColumn(), console=err, disable=disable)


class Bar:
    """One task of a progress bar behind the core's progress protocol (``start(total)``, ``advance()``)."""

    def __init__(self, bar: Progress, label: str) -> None:
        self.progress = bar
        self.task = bar.add_task(label, total=None)

    def start(self, total: int) -> None:
        self.progress.update(self.task, total=total)

    def advance(self) -> None:
        self.progress.advance(self.task)


def print_paper(console: Console, paper: Paper) -> None:
    authors = ", ".join(paper.authors[:4]) + (" et al." if len(paper.authors) > 4 else "")
    console.print(f"[bold]{escape(paper.title)}[/]  [dim]{paper.id} · {' '.join(paper.categories[:3])}[/]")
    console.print(f"  {authors}", markup=False)
    abstract = paper.abstract if len(paper.abstract) < 240 else paper.abstract[:240].rsplit(" ", 1)[0] + "…"
    console.print(f"  {abstract}\n", markup=False, style="dim")
