"""The operations routes: ``/healthz`` (JSON, 200 or 503; see ``health.py``) and ``/metrics`` (Prometheus text;
see ``metrics.py``). Neither is cached, and neither identifies the visitor, so neither sets a cookie."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from paperfeed.web.health import check
from paperfeed.web.metrics import app_registry
from paperfeed.web.site import site

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/healthz")
def healthz(request: Request) -> Response:
    s = site(request)
    report = check(s.store, s.config.health_max_index_lag)
    return JSONResponse(report.to_json(), status_code=200 if report.healthy else 503, headers=NO_STORE)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    s = site(request)
    registry = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = request.app.state.metrics_registry = app_registry(s.store, s.config)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST, headers=NO_STORE)
