"""BibTeX entries: whole entries for arXiv and non-arXiv papers, escaping (math kept, TeX accents to UTF-8),
author names BibTeX splits correctly, and ASCII citation keys."""

from __future__ import annotations

import re

import pytest

from paperfeed.formats.bibtex import bibtex, citation_key, escape
from paperfeed.papers import Paper

ATTENTION = Paper(
    id="1706.03762",
    title="Attention Is All You Need",
    version=7,
    authors=["Ashish Vaswani", "Noam Shazeer", "Niki Parmar"],
    categories=["cs.CL", "cs.LG"],
    submitted="2017-06-12",
    updated="2023-08-02",
)

ENTRIES = [
    (
        "arXiv paper",
        ATTENTION,
        """@misc{vaswani2017attention,
  title = {{Attention Is All You Need}},
  author = {Ashish Vaswani and Noam Shazeer and Niki Parmar},
  year = {2017},
  eprint = {1706.03762},
  archivePrefix = {arXiv},
  primaryClass = {cs.CL},
  url = {https://arxiv.org/abs/1706.03762}
}
""",
    ),
    (
        "arXiv paper with doi and journal reference, specials and math in the title",
        Paper(
            id="0804.2273",
            title="Quasi-free $\\Lambda_b$ production & the 100% #1 case",
            authors=["J. Müller", "Ł. Wałęsa"],
            categories=["hep-ph"],
            submitted="2008-04-14",
            doi="10.1103/PhysRevD.78.014012",
            journal_ref="Phys. Rev. D 78, 014012 (2008)",
        ),
        """@misc{muller2008quasi,
  title = {{Quasi-free $\\Lambda_b$ production \\& the 100\\% \\#1 case}},
  author = {J. Müller and Ł. Wałęsa},
  year = {2008},
  eprint = {0804.2273},
  archivePrefix = {arXiv},
  primaryClass = {hep-ph},
  doi = {10.1103/PhysRevD.78.014012},
  note = {Phys. Rev. D 78, 014012 (2008)},
  url = {https://arxiv.org/abs/0804.2273}
}
""",
    ),
    (
        "old-style id, no authors, no date, no category",
        Paper(id="hep-th/9901001", title="On  the\n   Strings"),
        """@misc{hepth9901001strings,
  title = {{On the Strings}},
  eprint = {hep-th/9901001},
  archivePrefix = {arXiv},
  url = {https://arxiv.org/abs/hep-th/9901001}
}
""",
    ),
    (
        "non-arXiv paper with a project page and doi",
        Paper(
            id="pf-0123456789ab",
            title="A Survey of Things",
            authors=["Jane Doe"],
            submitted="2024-01-02",
            project_urls=["https://example.org/survey"],
            doi="10.1000/xyz_1",
        ),
        """@misc{doe2024survey,
  title = {{A Survey of Things}},
  author = {Jane Doe},
  year = {2024},
  doi = {10.1000/xyz_1},
  url = {https://example.org/survey}
}
""",
    ),
    (
        "non-arXiv paper with only a doi: the doi resolver is the url",
        Paper(id="pf-0123456789ab", title="Notes", announced="2020-05-05", doi="10.1000/abc"),
        """@misc{pf0123456789abnotes,
  title = {{Notes}},
  year = {2020},
  doi = {10.1000/abc},
  url = {https://doi.org/10.1000/abc}
}
""",
    ),
    (
        "non-arXiv paper with a title only",
        Paper(id="pf-0123456789ab", title="Untitled notes"),
        """@misc{pf0123456789abuntitled,
  title = {{Untitled notes}}
}
""",
    ),
]


@pytest.mark.parametrize(("name", "paper", "expected"), ENTRIES, ids=[e[0] for e in ENTRIES])
def test_entry(name: str, paper: Paper, expected: str) -> None:
    entry = bibtex(paper)
    assert entry == expected
    assert _braces_balanced(entry)


def _braces_balanced(entry: str) -> bool:
    depth = 0
    for ch in re.sub(r"\\[{}]", "", entry):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


ESCAPES = [
    ("plain", "Deep Learning", "Deep Learning"),
    ("specials", "R&D 50% #1 a_b {x}", r"R\&D 50\% \#1 a\_b \{x\}"),
    ("math kept", r"$O(n_1 \log n)$ & $\{x\}$", r"$O(n_1 \log n)$ \& $\{x\}$"),
    ("stray dollar", "costs $5", r"costs \$5"),
    ("unbalanced math is text", "$a{$", r"\$a\{\$"),
    ("already escaped", r"Q\&A 10\% a\_b", r"Q\&A 10\% a\_b"),
    ("other backslashes printed", r"\emph{x}", r"\textbackslash{}emph\{x\}"),
    ("tilde and caret", "~x^2", r"\textasciitilde{}x\textasciicircum{}2"),
    ("non-ASCII kept", "Ångström – naïve 模型", "Ångström – naïve 模型"),
    ("whitespace collapsed", " a \n  b ", "a b"),
    ("accent", 'Schr\\"odinger', "Schrödinger"),
    ("braced accent", 'G\\"{o}del {\\"U}ber', "Gödel Über"),
    ("word accents", r"Erd\H{o}s Fran\c{c}ois", "Erdős François"),
    ("dotless i", r"na\"{\i}ve", "naïve"),
    ("letters", r"Stra\ss{}e {\o}ster", "Straße øster"),
    ("accents not touched inside math", r"$\ddot{x}$ \"o", r"$\ddot{x}$ ö"),
    ("a macro that is not an accent", r"\cdot", r"\textbackslash{}cdot"),
]


@pytest.mark.parametrize(("name", "text", "expected"), ESCAPES, ids=[e[0] for e in ESCAPES])
def test_escape(name: str, text: str, expected: str) -> None:
    assert escape(text) == expected


AUTHORS = [
    ("plain", ["Ada Lovelace", "Alan Turing"], "Ada Lovelace and Alan Turing"),
    ("suffix moved where BibTeX expects it", ["John Smith, Jr."], "Smith, Jr., John"),
    ("organisation with 'and'", ["Bill and Melinda Gates Foundation"], "{Bill and Melinda Gates Foundation}"),
    ("specials escaped", ["A. O'Brien & Co"], r"A. O'Brien \& Co"),
    ("non-Latin kept", ["李华"], "李华"),
    ("TeX accent", ['M. M\\"uller'], "M. Müller"),
]


@pytest.mark.parametrize(("name", "authors", "expected"), AUTHORS, ids=[a[0] for a in AUTHORS])
def test_author_field(name: str, authors: list[str], expected: str) -> None:
    entry = bibtex(Paper(id="2503.01234", title="T", authors=authors))
    assert f"  author = {{{expected}}},\n" in entry


KEYS = [
    ("scholar style", ATTENTION, "vaswani2017attention"),
    (
        "stopwords skipped",
        Paper(id="2407.21783", title="The Llama 3 Herd", authors=["A. Grattafiori"], submitted="2024-07-31"),
        "grattafiori2024llama",
    ),
    (
        "accents folded",
        Paper(id="2501.00001", title="Über Graphs", authors=["José Ñúñez"], submitted="2025-01-01"),
        "nunez2025uber",
    ),
    (
        "TeX accents folded",
        Paper(id="2501.00001", title="x", authors=['K. G\\"odel'], submitted="2025-01-01"),
        "godel2025x",
    ),
    (
        "letters NFKD keeps",
        Paper(id="2501.00001", title="Ørsted", authors=["Ł. Wałęsa"], submitted="2025-01-01"),
        "walesa2025orsted",
    ),
    (
        "last-name-first",
        Paper(id="2501.00001", title="On X", authors=["Smith, John"], submitted="2025-01-01"),
        "smith2025x",
    ),
    ("suffix", Paper(id="2501.00001", title="X", authors=["John Smith, Jr."], submitted="2025-01-01"), "smith2025x"),
    (
        "math skipped",
        Paper(id="2501.00001", title="$k$-Means Again", authors=["Lloyd"], submitted="2025-01-01"),
        "lloyd2025means",
    ),
    (
        "only stopwords",
        Paper(id="2501.00001", title="The A", authors=["Lloyd"], submitted="2025-01-01"),
        "lloyd2025the",
    ),
    (
        "non-Latin name: the id stands in",
        Paper(id="2501.00001", title="Model", authors=["李华"], submitted="2025-01-01"),
        "250100001model",
    ),
    ("no year", Paper(id="2501.00001", title="Model", authors=["Lloyd"]), "lloydmodel"),
]


@pytest.mark.parametrize(("name", "paper", "expected"), KEYS, ids=[k[0] for k in KEYS])
def test_citation_key(name: str, paper: Paper, expected: str) -> None:
    key = citation_key(paper)
    assert key == expected
    assert re.fullmatch(r"[a-z0-9]+", key)
    assert bibtex(paper).startswith(f"@misc{{{key},\n")


def test_doi_and_url_are_verbatim_without_braces_or_spaces() -> None:
    entry = bibtex(Paper(id="pf-0123456789ab", title="T", doi="10.1000/{a} b_c", project_urls=["https://e.org/a b%20"]))
    assert "  doi = {10.1000/ab_c},\n" in entry
    assert "  url = {https://e.org/ab%20}\n" in entry
