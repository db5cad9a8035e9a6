"""Generated images the Hugging Face API shape points at: member avatars and paper thumbnails, as small SVGs.

Clients of the HF papers API expect ``avatarUrl`` and ``thumbnail`` to load; paperfeed has no uploads, so both are
drawn from the id (a stable colour) and, for thumbnails, the paper's title. Text is escaped for XML.
"""

from __future__ import annotations

import hashlib
import textwrap
from xml.sax.saxutils import escape

from paperfeed.papers import Paper


def _hue(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:4], 16) % 360


def avatar_svg(user_id: str) -> str:
    hue = _hue(user_id)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">'
        f'<rect width="64" height="64" rx="32" fill="hsl({hue},55%,55%)"/>'
        f'<circle cx="32" cy="25" r="11" fill="hsl({hue},60%,88%)"/>'
        f'<path d="M12 54c3-11 11-16 20-16s17 5 20 16" fill="hsl({hue},60%,88%)"/></svg>'
    )


def thumbnail_svg(paper: Paper) -> str:
    """A 1200×630 card with the paper's title, first authors and id."""
    hue = _hue(paper.id)
    lines = textwrap.wrap(paper.title, 34)[:4]
    if len(textwrap.wrap(paper.title, 34)) > 4:
        lines[-1] = lines[-1].rstrip() + "…"
    title = "".join(
        f'<text x="72" y="{170 + 78 * i}" font-size="60" font-weight="700">{escape(line)}</text>'
        for i, line in enumerate(lines)
    )
    authors = ", ".join(paper.authors[:3]) + (" et al." if len(paper.authors) > 3 else "")
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1200 630" width="1200" height="630" '
        'font-family="system-ui, sans-serif">'
        f'<rect width="1200" height="630" fill="hsl({hue},35%,96%)"/>'
        f'<rect width="16" height="630" fill="hsl({hue},60%,45%)"/>'
        f'<g fill="#1f2328">{title}</g>'
        f'<text x="72" y="520" font-size="32" fill="#59636e">{escape(authors[:80])}</text>'
        f'<text x="72" y="575" font-size="28" fill="hsl({hue},60%,35%)">{escape(paper.id)} · paperfeed</text></svg>'
    )
