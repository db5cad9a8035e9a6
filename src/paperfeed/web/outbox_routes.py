"""``/outbox``: the local outbox's messages (``PAPERFEED_MAIL_TRANSPORT=outbox``), newest first with their links
clickable, so a demo completes the double opt-in without a mail server. The app mounts this router only in that
mode: with SMTP there is no such page at all (404), since the outbox shows every message to whoever opens it.
"""

from __future__ import annotations

import re
from dataclasses import asdict

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from paperfeed.digests.transport import outbox_dir, read_outbox
from paperfeed.web.site import render, site, wants_json

router = APIRouter(include_in_schema=False)
_URL_RE = re.compile(r"https?://[^\s<>\"']+")


@router.get("/outbox")
def outbox(request: Request) -> Response:
    directory = outbox_dir(site(request).config)
    shown = [(message, _URL_RE.findall(message.text)) for message in read_outbox(directory)]
    if wants_json(request):
        return JSONResponse([{**asdict(message), "links": links} for message, links in shown])
    return render(request, "outbox.html", messages=shown, directory=str(directory))
