"""What a newcomer sees: `paperfeed demo` with no options, then the README's examples exactly as written, and read-only
commands on a machine with no store at all (a clear message, exit code 6, and no database file left behind).

"No options" means the real defaults: the data and cache directories come from the XDG variables (platformdirs), in a
temporary home, and nothing of the test environment's PAPERFEED_* settings is passed on.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"
# README examples that cannot run on the demo alone, and why (every other `paperfeed …` line in a sh block must).
NEEDS_MORE_THAN_THE_DEMO = {
    "ingest": "reads files or remote sources the newcomer does not have",
    "bench": "needs an IR test collection on disk",
    "serve": "serves until stopped",
    "demo": "is what ran first",
    "worker": "runs until stopped",
    "library": "needs a member who signed up and their own files (tests/test_cli_library.py runs the same commands)",
}


def newcomer(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERFEED_", "XDG_"))}
    env.update(XDG_DATA_HOME=str(home / "data"), XDG_CACHE_HOME=str(home / "cache"), HOME=str(home))
    return subprocess.run(
        [sys.executable, "-m", "paperfeed", *args], capture_output=True, text=True, env=env, cwd=home, timeout=600
    )


def readme_examples() -> list[list[str]]:
    """Every `paperfeed …` command in the README's sh blocks, split as a shell would (comments dropped)."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", README.read_text("utf-8"), flags=re.DOTALL):
        for line in block.splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if words[:1] == ["paperfeed"]:
                    commands.append(words[1:])
    return commands


def test_the_readme_has_examples_to_check() -> None:
    names = {c[0] for c in readme_examples()}
    assert {"search", "similar", "subscribe", "digest", "demo", "ingest"} <= names


@pytest.mark.slow
def test_every_readme_example_runs_as_written_after_the_demo(tmp_path: Path) -> None:
    demo = newcomer(tmp_path, "demo", "--no-serve")
    assert demo.returncode == 0, demo.stderr
    assert 'paperfeed search "gaussian splatting"' in demo.stdout  # the hint needs no --data-dir either
    ran = []
    for command in readme_examples():
        if command[0] in NEEDS_MORE_THAN_THE_DEMO:
            continue
        proc = newcomer(tmp_path, *command)
        assert proc.returncode == 0, f"paperfeed {shlex.join(command)}: {proc.stderr[-2000:]}"
        ran.append(command[0])
    assert {"search", "similar", "index", "subscribe", "digest"} <= set(ran)
    for command in (["stats"], ["export", "-o", "papers.jsonl"], ["config"]):
        assert newcomer(tmp_path, *command).returncode == 0
    assert (tmp_path / "papers.jsonl").stat().st_size > 0


def test_the_demo_leaves_a_store_of_other_papers_alone(tmp_path: Path) -> None:
    listing = Path(__file__).parent / "fixtures" / "files" / "arxiv_daily_listings.head50.jsonl.gz"
    assert newcomer(tmp_path, "init").returncode == 0
    assert newcomer(tmp_path, "ingest", "-q", str(listing)).returncode == 0
    demo = newcomer(tmp_path, "demo", "--no-serve")
    assert demo.returncode == 4 and "not the demo's" in demo.stderr and "--data-dir" in demo.stderr
    stats = newcomer(tmp_path, "stats", "--json")
    assert '"papers": 50' in stats.stdout


READ_ONLY = [
    ["stats"],
    ["search", "gaussian splatting"],
    ["similar", "2606.19005"],
    ["export"],
    ["digest", "preview", "--to", "ada@lab.org"],
    ["serve"],
]


@pytest.mark.parametrize("command", READ_ONLY, ids=[c[0] for c in READ_ONLY])
def test_a_read_only_command_without_a_store_says_so_and_creates_nothing(tmp_path: Path, command: list[str]) -> None:
    proc = newcomer(tmp_path, *command)
    assert proc.returncode == 6, proc.stderr
    assert "there is no store at" in proc.stderr and "paperfeed init" in proc.stderr
    data = tmp_path / "data"
    assert not list(data.rglob("*.db*")) if data.exists() else True, list(data.rglob("*"))
    # And with the store named explicitly: the same, and the file stays absent.
    missing = tmp_path / "elsewhere" / "store.db"
    proc = newcomer(tmp_path, "--database-url", f"sqlite:///{missing}", *command)
    assert proc.returncode == 6 and "there is no store at" in proc.stderr
    assert not missing.exists() and not missing.parent.exists()
