"""Google Vertex AI request-response logging (the BigQuery ``request_response_logging`` table, exported as
NDJSON / JSON / CSV / Parquet).

``model`` is a resource path ``projects/<p>/locations/<l>/publishers/<pub>/models/<id>``: the project is the
``account_id`` and the ``models/<id>`` tail the ``model_requested``. ``full_request`` / ``full_response`` are
Gemini (or, for Claude on Vertex, Anthropic) bodies, nested or JSON strings. The table carries no caller
identity: ``labels.principal_email`` / ``labels.caller`` (when the application sets them) become the
``principal_id``; all labels become tags.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from extractscan.ingest.base import Rejected, as_float, as_str, maybe_json, parse_time
from extractscan.ingest.formats.generic import (
    SafeReader,
    fill,
    mapping_or_empty,
    safe_request,
    safe_response,
    tags_from,
)

_PROJECT = re.compile(r"(?:^|/)projects/([^/]+)")
_MODEL = re.compile(r"(?:^|/)models/(.+)$")
_PRINCIPAL_LABELS = ("principal_email", "principal", "caller", "user")


class VertexRequestResponse(SafeReader):
    name: ClassVar[str] = "vertex_rr"
    summary: ClassVar[str] = "Google Vertex AI request-response logging table (BigQuery export)"
    priority: ClassVar[int] = 60

    def _sniff(self, o: Mapping[str, Any]) -> bool:
        return "full_request" in o or "full_response" in o or ("logging_time" in o and "model" in o)

    def _parse(self, o: Mapping[str, Any]) -> Iterator[dict[str, Any] | Rejected]:
        full_req = maybe_json(o.get("full_request"))
        req = safe_request(full_req)
        resp = safe_response(o.get("full_response"))
        labels = mapping_or_empty(full_req.get("labels")) if isinstance(full_req, Mapping) else {}
        path = as_str(o.get("model")) or ""
        project, model = _PROJECT.search(path), _MODEL.search(path)
        md = mapping_or_empty(o.get("metadata"))
        principal = next((s for s in (as_str(labels.get(k)) for k in _PRINCIPAL_LABELS) if s), None)
        env: dict[str, Any] = {
            "request_id": as_str(o.get("request_id")),
            "event_time": parse_time(o.get("logging_time")),
            "latency_ms": as_float(md.get("request_latency")),
            "account_id": project.group(1) if project else None,
            "principal_id": principal,
            "tags": tags_from(labels),
            "provider": "google-vertex",
            "model_requested": model.group(1) if model else (path or None),
        }
        yield fill(env, req, resp)
