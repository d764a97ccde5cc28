"""Logging for the CLI: plain lines (cron) or rich on a terminal; secrets redacted everywhere."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime

_SECRET_ENV_HINTS = ("TOKEN", "SECRET", "API_KEY", "WEBHOOK", "PASSWORD")


def _secrets() -> list[str]:
    return [
        v for k, v in os.environ.items()
        if len(v) >= 6 and any(h in k.upper() for h in _SECRET_ENV_HINTS)
    ]


def redact(text: str) -> str:
    """`text` with every secret-looking environment variable's value replaced by ***."""
    for secret in _secrets():
        text = text.replace(secret, "***")
    return text


class RedactSecrets(logging.Filter):
    """Replace the value of every secret-looking environment variable in every record."""

    def __init__(self, extra: list[str] | None = None) -> None:
        super().__init__()
        self.secrets = _secrets() + [s for s in (extra or []) if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for secret in self.secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class JsonLines(logging.Formatter):
    """One JSON object per record: ts (UTC ISO-8601), level, logger, message."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(verbose: bool = False, log_format: str = "text") -> None:
    level = logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if log_format == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "urllib3", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
