"""``/docs``: the JSON API's reference, rendered on the server from the app's own OpenAPI document.

Swagger UI would need a CDN (or a megabyte of vendored JavaScript) and inline scripts the site's content security
policy forbids; a plain page built from ``app.openapi()`` is light, works offline and can never drift from the
routes. The machine-readable document stays at ``/openapi.json``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from paperfeed.web.site import render

router = APIRouter(include_in_schema=False)
_METHODS = ("get", "post", "put", "patch", "delete")


def _schema_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"array of {_schema_name(schema.get('items', {}))}"
    if "anyOf" in schema:
        return " or ".join(_schema_name(s) for s in schema["anyOf"])
    return str(schema.get("type", "object"))


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The spec's operations, grouped by tag order, as plain rows for the template."""
    components = spec.get("components", {}).get("schemas", {})
    rows = []
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            body_name = _schema_name(body) if body else None
            rows.append(
                {
                    "tag": (op.get("tags") or ["other"])[0],
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "type": _schema_name(p.get("schema", {})),
                            "description": p.get("description") or p.get("schema", {}).get("description", ""),
                            "default": p.get("schema", {}).get("default"),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": body_name,
                    "body_fields": components.get(body_name, {}).get("properties", {}) if body_name else {},
                    "responses": sorted(op.get("responses", {})),
                }
            )
    return rows


@router.get("/docs")
def docs(request: Request) -> Response:
    spec = request.app.openapi()
    ops = operations(spec)
    tags = list(dict.fromkeys(op["tag"] for op in ops))
    return render(request, "api_docs.html", spec=spec, operations=ops, tags=tags)
