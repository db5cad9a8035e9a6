"""Reading XML response bodies: the one rule every XML source shares.

A body that is not well-formed XML is bad input, reported with the line where parsing stopped, never a traceback.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from paperfeed.errors import BadInput


def load_xml(data: bytes, where: str) -> ET.Element:
    """Parse a whole XML document, turning a syntax error into BadInput at ``{where}:{line}``."""
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else 0
        raise BadInput(f"malformed XML: {exc}", f"{where}:{line}") from None
