"""Size limits on what an event row keeps: a status reason and its details.

Reasons carry text from plugins and VNF managers, details carry reports; neither may grow
an event row without bound, whoever wrote them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

MAX_REASON = 1024
MAX_DETAILS = 8192


def bounded_reason(reason: str) -> str:
    """`reason` on one line, cut to MAX_REASON characters (marked with an ellipsis)."""
    line = " ".join(str(reason).replace("\x00", "").split())
    return line if len(line) <= MAX_REASON else line[:MAX_REASON - 1] + "…"


def bounded_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """`details` as they are when their JSON fits MAX_DETAILS, else a cut-down JSON text of
    them under `truncated` (still valid JSON, still readable)."""
    text = json.dumps(details, default=str, ensure_ascii=False).replace("\\u0000", "")
    if len(text) <= MAX_DETAILS:
        return json.loads(text)
    return {"truncated": text[:MAX_DETAILS - 100] + "…"}
