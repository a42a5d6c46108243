"""The alerting hook: one JSON POST to an optional webhook, never an exception.

An alert that cannot be delivered must not turn a remediation or a failure report into a second
failure, so delivery problems are logged and swallowed.
"""

from __future__ import annotations

import logging
import time

import requests

log = logging.getLogger(__name__)


def send_alert(url: str | None, event: str, summary: str, **fields: object) -> bool:
    """POST {event, summary, time, **fields} to `url`; True when the hook accepted it."""
    log.warning("platform alert [%s]: %s", event, summary)
    if not url:
        return False
    payload = {"event": event, "summary": summary, "time": time.time(), **fields}
    try:
        resp = requests.post(url, json=payload, timeout=3)
    except requests.RequestException as exc:
        log.error("alert webhook %s unreachable: %s", url, type(exc).__name__)
        return False
    if resp.status_code >= 300:
        log.error("alert webhook %s answered %s", url, resp.status_code)
        return False
    return True
