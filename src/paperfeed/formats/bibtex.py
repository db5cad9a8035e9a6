"""BibTeX entries for papers (the "Cite" button and the ``.bib`` export).

arXiv papers get the entry arXiv itself recommends for biblatex (``@misc`` with ``eprint`` / ``archivePrefix`` /
``primaryClass``); papers without an arXiv id get a plain ``@misc`` with what is known. Text keeps non-ASCII
characters as UTF-8 (biblatex and biber read it; TeX accent macros such as ``\\"o`` are turned into ``ö`` first),
LaTeX specials outside ``$…$`` math are escaped, and titles are double-braced so BibTeX styles keep their capitals.
The citation key is ASCII-only (``lastname`` + ``year`` + first significant title word, Google Scholar style) so it
works with classic BibTeX too.
"""

from __future__ import annotations

import re
import unicodedata

from paperfeed.papers import Paper

# Already-escaped specials (``Q\&A``) stay as they are; every other backslash is printed literally.
_ESCAPED_RE = re.compile(r"\\[&%#_{}$]")
# Inline math: ``$…$`` with no unescaped ``$`` inside.
_MATH_RE = re.compile(r"(?<!\\)\$(?:[^$\\]|\\.)+\$")
_SPECIALS = {
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "\\": r"\textbackslash{}",
    # Not BibTeX specials but LaTeX ones: outside math they stop the document from compiling.
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
}
_ACCENTS = {
    '"': "\N{COMBINING DIAERESIS}",
    "'": "\N{COMBINING ACUTE ACCENT}",
    "`": "\N{COMBINING GRAVE ACCENT}",
    "^": "\N{COMBINING CIRCUMFLEX ACCENT}",
    "~": "\N{COMBINING TILDE}",
    "=": "\N{COMBINING MACRON}",
    ".": "\N{COMBINING DOT ABOVE}",
    "c": "\N{COMBINING CEDILLA}",
    "v": "\N{COMBINING CARON}",
    "u": "\N{COMBINING BREVE}",
    "H": "\N{COMBINING DOUBLE ACUTE ACCENT}",
    "k": "\N{COMBINING OGONEK}",
}
_ACCENT_CMD = (
    r"""\\(?:(?P<sym>["'`^~=.])|(?P<word>[cvuHk])(?=[\s{]))\s*"""
    r"(?:\{(?P<braced>\\i|[A-Za-z])\}|(?P<bare>\\i(?![A-Za-z])|[A-Za-z]))"
)
# "{\"o}", "\"{o}" and "\"o" all mean ö: the braced form first, so its outer braces go too.
_ACCENT_BRACED_RE = re.compile(r"\{" + _ACCENT_CMD + r"\}")
_ACCENT_RE = re.compile(_ACCENT_CMD)
_LETTERS = {r"\ss": "ß", r"\o": "ø", r"\O": "Ø", r"\aa": "å", r"\AA": "Å", r"\ae": "æ", r"\AE": "Æ", r"\l": "ł"}
_LETTER_RE = re.compile(r"\{(\\(?:ss|o|O|aa|AA|ae|AE|l))\}|(\\(?:ss|o|O|aa|AA|ae|AE|l))(?![A-Za-z])(?:\{\})?")
# Letters NFKD does not decompose into ASCII, for citation keys.
_NON_DECOMPOSING = str.maketrans({"ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ł": "l", "Ł": "L", "đ": "d"})
_SUFFIX_RE = re.compile(r"^(?:Jr|Sr|II|III|IV)\.?$")
_KEY_STOPWORDS = frozenset({"a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "at", "by", "from", "is"})


def bibtex(paper: Paper) -> str:
    """One BibTeX entry for ``paper``, ending with a newline."""
    fields: list[tuple[str, str]] = [("title", "{" + escape(paper.title) + "}")]
    if paper.authors:
        fields.append(("author", " and ".join(_author(name) for name in paper.authors)))
    year = _year(paper)
    if year:
        fields.append(("year", year))
    if paper.is_arxiv:
        fields.append(("eprint", paper.id))
        fields.append(("archivePrefix", "arXiv"))
        if paper.primary_category:
            fields.append(("primaryClass", paper.primary_category))
        url: str | None = paper.abs_url
    else:
        # Not a live link (spaces are dropped below), but a citation still names only a web address.
        web = (u for u in paper.project_urls if u.lower().startswith(("http://", "https://")))
        url = next(web, None) or (f"https://doi.org/{paper.doi}" if paper.doi else None)
    if paper.doi:
        fields.append(("doi", _verbatim(paper.doi)))
    if paper.journal_ref:
        fields.append(("note", escape(paper.journal_ref)))
    if url:
        fields.append(("url", _verbatim(url)))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{citation_key(paper)},\n{body}\n}}\n"


def citation_key(paper: Paper) -> str:
    """``vaswani2017attention``: first author's last name, year, first significant title word; ASCII only.

    Without a usable last name the paper id stands in for name and year: ``250100001model``.
    """
    last = _ascii_word(_last_name(paper.authors[0])) if paper.authors else ""
    words = re.findall(r"[a-z0-9]+", _ascii(_MATH_RE.sub(" ", paper.title)).lower())
    first = next((w for w in words if w not in _KEY_STOPWORDS), words[0] if words else "")
    if not last:
        # No usable name (none given, or one written without Latin letters): the id keeps the key unique.
        return _ascii_word(paper.id) + first
    return f"{last}{_year(paper) or ''}{first}"


def escape(text: str) -> str:
    """Text for a BibTeX field: TeX accents → UTF-8, specials escaped, ``$…$`` math kept as written."""
    text = " ".join(text.split())
    out: list[str] = []
    pos = 0
    for m in _MATH_RE.finditer(text):
        math = m.group()
        if not _balanced(math):
            continue  # unbalanced braces would end the field early: escape it like text
        out.append(_escape_text(_unaccent_tex(text[pos : m.start()])))
        out.append(math)
        pos = m.end()
    out.append(_escape_text(_unaccent_tex(text[pos:])))
    return "".join(out)


def _escape_text(text: str) -> str:
    out: list[str] = []
    pos = 0
    while pos < len(text):
        m = _ESCAPED_RE.match(text, pos)
        if m:
            out.append(m.group())
            pos = m.end()
            continue
        out.append(_SPECIALS.get(text[pos], text[pos]))
        pos += 1
    return "".join(out)


def _unaccent_tex(text: str) -> str:
    if "\\" not in text:
        return text

    def accent(m: re.Match[str]) -> str:
        letter = (m.group("braced") or m.group("bare")).replace("\\i", "i")
        return unicodedata.normalize("NFC", letter + _ACCENTS[m.group("sym") or m.group("word")])

    text = _ACCENT_RE.sub(accent, _ACCENT_BRACED_RE.sub(accent, text))
    return _LETTER_RE.sub(lambda m: _LETTERS[m.group(1) or m.group(2)], text)


def _balanced(text: str) -> bool:
    depth = 0
    for i, ch in enumerate(text):
        if i and text[i - 1] == "\\":
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _author(name: str) -> str:
    """A name BibTeX splits correctly: "A B, Jr." → "B, Jr., A"; names containing " and " are braced."""
    name = " ".join(name.split())
    head, _, suffix = name.rpartition(", ")
    if head and _SUFFIX_RE.match(suffix) and " " in head:
        first, _, last = head.rpartition(" ")
        name = f"{last}, {suffix}, {first}"
    escaped = escape(name)
    return "{" + escaped + "}" if re.search(r"\band\b", name, re.IGNORECASE) else escaped


def _last_name(name: str) -> str:
    name = " ".join(name.split())
    if "," in name:
        head, _, rest = name.partition(",")
        # "Smith, John" is last-name-first; "John Smith, Jr." is not.
        name = head if not _SUFFIX_RE.match(rest.strip().split(",")[0]) else head.split(" ")[-1]
        if " " not in name:
            return name
    return name.split(" ")[-1]


def _year(paper: Paper) -> str | None:
    for value in (paper.submitted, paper.announced, paper.updated):
        if value and re.match(r"\d{4}", value):
            return value[:4]
    return None


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", _unaccent_tex(text))
    folded = folded.translate(_NON_DECOMPOSING)
    return folded.encode("ascii", "ignore").decode("ascii")


def _ascii_word(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", _ascii(text).lower())


def _verbatim(value: str) -> str:
    # doi and url are verbatim fields in biblatex: no escaping, but braces and spaces cannot appear.
    return re.sub(r"[{}\s]", "", value)
