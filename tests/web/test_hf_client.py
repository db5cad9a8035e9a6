"""Hugging Face compatibility, proven with the real client: ``huggingface_hub.HfApi(endpoint=<paperfeed>)`` against
the app served by uvicorn on a loopback port, its answers checked against the store. Also the ``/api/papers`` cursor
paging (``Link: <…>; rel="next"``) and the API's published schema (``/openapi.json``, ``/docs``).

No request may leave the machine: huggingface_hub 2.4 fetches ``{ENDPOINT}/api/agent-harnesses`` (by default from
huggingface.co) the first time it builds a User-Agent, unless telemetry is off. The fixtures turn telemetry off,
give the client an empty harness registry, point its global ENDPOINT at our server, and refuse (and record) any
connection or name lookup that is not loopback, so a regression fails the test instead of reaching the internet.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi, constants
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import _detect_agent

from browser_support import free_port, live
from paperfeed.community import rules
from paperfeed.community.trending import rank
from paperfeed.config import load_config
from paperfeed.papers import Paper
from paperfeed.search.indexes import open_indexes
from paperfeed.search.registry import SearchSettings
from paperfeed.store import Store, open_store
from paperfeed.web.app import create_app
from web_support import paper

TODAY = datetime.now(UTC).date().isoformat()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Refuse and record every connection or name lookup that would leave loopback."""
    strays: list[str] = []
    real_connect, real_connect_ex, real_getaddrinfo = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.getaddrinfo,
    )

    def check(address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else None  # a str is a Unix socket path: local
        if host is not None and not _loopback(str(host)):
            strays.append(str(host))
            raise OSError(f"test tried to reach {host}")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _loopback(host.decode() if isinstance(host, bytes) else str(host)):
            strays.append(str(host))
            raise socket.gaierror(f"test tried to look up {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield strays
    assert strays == [], f"requests left loopback: {strays}"


CORPUS = [
    paper(
        "2610.00001",
        "Graph neural networks for molecules",
        "2026-10-05",
        submitted="2026-10-01",
        authors=["Ada Lovelace", "Alan Turing"],
    ),
    paper("2610.00002", "Attention is all you need, again", "2026-10-05", kind="cross"),
    paper("2610.00003", "Graph transformers at scale", "2026-10-07"),
    paper("2610.00004", "Protein folding with diffusion", "2026-10-09"),
    paper("2609.00001", "A September paper", "2026-09-30"),
    paper("hep-th/9901001", "Strings on random graphs", "1999-01-05", submitted="1999-01-04"),
    paper("2611.01234", "Submitted by a member", "2026-11-02"),
    paper("2611.05555", "Popular this week", TODAY),
]
BY_ID = {p.id: p for p in CORPUS}


def seed(store: Store) -> None:
    """Votes, comments, Hugging Face signals and a member's submission over CORPUS."""
    store.upsert_papers(CORPUS)
    now = rules.now_iso()
    alice = store.create_user("alice", None, "-", "admin", now)
    voters = [store.create_user(f"voter{i}", None, "-", "member", now) for i in range(4)]
    for pid, count in {"2610.00001": 2, "2610.00003": 4, "2610.00004": 1, "2611.05555": 2}.items():
        for voter in voters[:count]:
            store.set_vote(voter.id, pid, True, now)
    store.add_comment(voters[0].id, "2610.00001", "Nice.", now)
    store.upsert_papers(
        [Paper(id="2610.00001", title="", source="hf-daily", signals={"upvotes": 5, "num_comments": 3})]
    )
    rules.submit(store, alice, "2611.01234", lambda _: None, TODAY)
    store.set_vote(alice.id, "2611.01234", True, now)


class Served:
    def __init__(self, url: str, store: Store) -> None:
        self.url, self.store = url, store
        self.hf = HfApi(endpoint=url, token=False)


@pytest.fixture(scope="module")
def served(module_store_url: str, tmp_path_factory: pytest.TempPathFactory, embed_cache: Path) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("data")
    port = free_port()
    config = load_config(
        env={
            "PAPERFEED_DATA_DIR": str(data),
            "PAPERFEED_DATABASE_URL": module_store_url,
            "PAPERFEED_CACHE_DIR": str(embed_cache),
            "PAPERFEED_BASE_URL": f"http://127.0.0.1:{port}",  # the Link header's URLs are built from it
        }
    )
    with open_store(config.store_url) as store, pytest.MonkeyPatch.context() as patch:
        seed(store)
        open_indexes(store, SearchSettings.from_config(config)).sync()
        app = create_app(config, store=store, fetch_paper=lambda _: None)
        with live(app, port) as url:
            # Keep huggingface_hub on loopback: no telemetry, no harness registry, and its Hub is this server.
            patch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
            patch.setattr(constants, "ENDPOINT", url)
            patch.setattr(_detect_agent, "_registry", _detect_agent._EMPTY_REGISTRY)
            yield Served(url, store)


def midnight(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC)


def check_against_store(info: Any, store: Store) -> None:
    """A PaperInfo says what the store holds about its paper."""
    stored = BY_ID[info.id]
    activity = store.activity([info.id])[info.id]
    assert info.title == stored.title
    assert info.summary == stored.abstract
    assert [a.name for a in info.authors] == stored.authors
    assert info.upvotes == activity.upvotes + activity.external_upvotes
    assert info.comments == activity.comments + activity.external_comments
    assert info.published_at == midnight(stored.submitted or "")
    if activity.submitter:
        assert info.submitted_by.username == activity.submitter
        assert info.submitted_at == datetime.fromisoformat(activity.submitted_at or "").astimezone(UTC)
    else:  # no member submitted it: the listing that brought it to the feed (HF always names a submitter)
        assert info.submitted_by is not None
        assert (info.submitted_by.username, info.submitted_by.user_type) == ("arxiv", "org")


# -- list_daily_papers ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ({"date": "2026-10-05"}, ["2610.00001", "2610.00002"]),
        ({"date": "2026-10-06"}, []),
        ({"week": "2026-W41"}, ["2610.00004", "2610.00003", "2610.00001", "2610.00002"]),
        ({"month": "2026-09"}, ["2609.00001"]),
        ({"month": "2026-10", "limit": 3}, ["2610.00004", "2610.00003", "2610.00001"]),
        ({"month": "2026-10", "limit": 3, "p": 1}, ["2610.00002"]),
        ({"month": "2026-10", "limit": 3, "p": 2}, []),
        ({"submitter": "alice"}, ["2611.01234"]),
        ({"submitter": "ALICE", "sort": "trending"}, ["2611.01234"]),
        ({"submitter": "voter0"}, []),
        # Ages to the end of the week (2026-10-12 00:00): 00003 4 / (120 + 2)^1.5 = 0.00297 beats
        # 00001 (2 + 0.5 × 1 + 0.5 × 5 + 0.25 × 3) / (168 + 2)^1.5 = 0.00259, then 00004 1 / (72 + 2)^1.5 = 0.00157.
        ({"week": "2026-W41", "sort": "trending"}, ["2610.00003", "2610.00001", "2610.00004"]),
    ],
)
def test_list_daily_papers(served: Served, query: dict[str, Any], ids: list[str]) -> None:
    found = list(served.hf.list_daily_papers(token=False, **query))
    assert [info.id for info in found] == ids
    for info in found:
        check_against_store(info, served.store)
        activity = served.store.activity([info.id])[info.id]
        if not activity.submitter:  # reached the daily feed on its listing day
            assert info.submitted_at == midnight(BY_ID[info.id].announced or "")


@pytest.mark.parametrize(("query", "day"), [({"week": "2026-W41"}, "2026-10-11"), ({}, None)])
def test_trending_order_is_the_store_ranking(served: Served, query: dict[str, str], day: str | None) -> None:
    found = [info.id for info in served.hf.list_daily_papers(sort="trending", token=False, **query)]
    assert found == [t.paper_id for t in rank(served.store, day)]
    if day is None:  # the last seven days: today's papers first, then older ones voted on today
        assert found[:2] == ["2611.05555", "2611.01234"] and len(found) == 5


def test_list_daily_papers_without_a_period_lists_every_feed_paper_newest_first(served: Served) -> None:
    found = [info.id for info in served.hf.list_daily_papers(token=False)]
    assert sorted(found) == sorted(BY_ID)
    assert found[:2] == ["2611.01234", "2611.05555"]  # today's: the member's submission first
    assert found[-1] == "hep-th/9901001"


def test_a_bad_period_is_an_http_error(served: Served) -> None:
    with pytest.raises(HfHubHTTPError) as caught:
        list(served.hf.list_daily_papers(date="2026-02-30", token=False))
    assert caught.value.response.status_code == 422
    assert caught.value.response.json() == {"error": "no such date '2026-02-30'", "status": 422, "where": "date"}


# -- list_papers and paper_info ----------------------------------------------------------------------------------------
def test_list_papers_searches(served: Served) -> None:
    found = list(served.hf.list_papers(query="graph transformers", token=False))
    assert found[0].id == "2610.00003"
    for info in found:
        check_against_store(info, served.store)
    assert list(served.hf.list_papers(query="graph", limit=2, token=False))[1].id in BY_ID


@pytest.mark.parametrize("paper_id", ["2610.00001", "2611.01234", "hep-th/9901001"])
def test_paper_info(served: Served, paper_id: str) -> None:
    info = served.hf.paper_info(paper_id)
    assert info.id == paper_id
    check_against_store(info, served.store)


@pytest.mark.parametrize(
    ("asked", "paper_id"), [("2610.00001v1", "2610.00001"), ("hep-th/9901001v3", "hep-th/9901001")]
)
def test_paper_info_of_a_versioned_id_is_the_paper(served: Served, asked: str, paper_id: str) -> None:
    info = served.hf.paper_info(asked)
    assert info.id == paper_id
    check_against_store(info, served.store)


def test_paper_info_of_an_unknown_paper_is_404(served: Served) -> None:
    with pytest.raises(HfHubHTTPError) as caught:
        served.hf.paper_info("2699.99999")
    assert caught.value.response.status_code == 404


def test_get_collection_reads_a_public_collection(served: Served) -> None:
    """A member's public collection through huggingface_hub's own client, in its hand-made order."""
    alice = served.store.user_by_name("alice")
    assert alice is not None
    made = served.store.create_collection(alice.id, "picks", "Alice's picks", "Two of note", True, rules.now_iso())
    served.store.add_to_collection(made.id, ["2610.00003", "2610.00001"], rules.now_iso())
    collection = served.hf.get_collection("alice/picks")
    assert (collection.slug, collection.title, collection.description) == (
        "alice/picks",
        "Alice's picks",
        "Two of note",
    )
    assert [(i.item_type, i.item_id, i.position) for i in collection.items] == [
        ("paper", "2610.00003", 0),
        ("paper", "2610.00001", 1),
    ]
    assert not collection.private


# -- /api/papers cursor paging, the schema -----------------------------------------------------------------------------
@pytest.mark.parametrize("limit", [1, 3, 4, 8, 50])
def test_api_papers_cursor_paging_sees_every_paper_once(served: Served, limit: int) -> None:
    url: str | None = f"{served.url}/api/papers?limit={limit}"
    seen: list[str] = []
    pages = 0
    with httpx.Client() as client:
        while url:
            answer = client.get(url)
            assert answer.status_code == 200
            batch = [item["id"] for item in answer.json()]
            assert len(batch) <= limit
            seen += batch
            pages += 1
            url = answer.links.get("next", {}).get("url")
            if url:
                assert answer.headers["link"].endswith('; rel="next"') and url.startswith(served.url)
                assert len(batch) == limit
            assert pages <= len(CORPUS) + 1
    published = sorted(CORPUS, key=lambda p: (p.submitted or "", p.id), reverse=True)
    assert seen == [p.id for p in published]


def test_openapi_and_docs(served: Served) -> None:
    # The schema is built on its first request: slow on a busy machine, so more than httpx's default 5 s.
    with httpx.Client(base_url=served.url, timeout=60) as client:
        schema = client.get("/openapi.json").json()
        docs = client.get("/docs")
    assert schema["info"]["title"] == "paperfeed"
    paths = set(schema["paths"])
    assert {
        "/api/daily_papers",
        "/api/papers",
        "/api/papers/search",
        "/api/papers/{paper_id}",
        "/api/search",
        "/api/trending",
        "/api/me",
        "/api/submit",
        "/api/papers/{paper_id}/vote",
        "/api/papers/{paper_id}/comments",
        "/api/papers/{paper_id}/similar",
    } <= paths
    assert not any(p.startswith(("/login", "/signup", "/settings", "/u/")) for p in paths)  # pages are not API
    assert {p["name"] for p in schema["paths"]["/api/daily_papers"]["get"]["parameters"]} == {
        "p",
        "limit",
        "date",
        "week",
        "month",
        "submitter",
        "sort",
    }
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    for path in ("/api/daily_papers", "/api/papers/search", "/api/papers/{paper_id}/vote", "/api/search"):
        assert f"<code>{path}</code>" in docs.text


def test_the_guard_would_catch_the_clients_call_home(loopback_only: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the set-up above, huggingface_hub asks huggingface.co for its agent registry: the guard stops it."""
    monkeypatch.setattr(constants, "ENDPOINT", "https://huggingface.co")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    assert _detect_agent._fetch_registry() is None  # the client swallows the refused connection
    assert loopback_only == ["huggingface.co"]
    loopback_only.clear()


def test_docs_work_under_the_sites_own_content_security_policy(served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        docs = client.get("/docs")
    assert "script-src 'self'" in docs.headers["content-security-policy"]
    assets = re.findall(r'<(?:script|link)[^>]* (?:src|href)="([^"]+)"', docs.text)
    assert assets and all(url.startswith("/") and not url.startswith("//") for url in assets), assets
    assert not re.search(r"<script>(?!\s*</script>)", docs.text), "inline script"
