"""Logging for people (text, the default) or for log collectors (JSON lines: `CHIBO_LOG_FORMAT=json`).

One configuration for our own loggers (`chibo.*`) and uvicorn's, handed to uvicorn as its `log_config` so the
server does not install a second one. Logs go to stderr; the CLI's messages for the operator go to stdout.
"""

from __future__ import annotations

import json
import logging
import logging.config
import os
from datetime import UTC, datetime
from typing import Any

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")

# Attributes every LogRecord has; anything else on a record came from `extra=` and is worth keeping as a field.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, the record's extra fields, and any exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        # uvicorn's access line carries its parts as arguments: keep them as fields a collector can filter on.
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, http_version, status = record.args
            entry.update(client=client, method=method, path=path, http_version=http_version, status=status)
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_") and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # ensure_ascii=False keeps Vietnamese names readable; json escapes newlines, so one record stays one line.
        return json.dumps(entry, ensure_ascii=False, default=str)


def log_format_from_env() -> str:
    value = os.environ.get("CHIBO_LOG_FORMAT", "text").strip().lower()
    if value not in LOG_FORMATS:
        raise SystemExit(
            f"CHIBO_LOG_FORMAT={value!r}: chỉ nhận / must be one of {', '.join(LOG_FORMATS)}",
        )
    return value


def log_level_from_env(default: str = "info") -> str:
    value = os.environ.get("CHIBO_LOG_LEVEL", default).strip().lower()
    if value not in LOG_LEVELS:
        raise SystemExit(f"CHIBO_LOG_LEVEL={value!r}: chỉ nhận / must be one of {', '.join(LOG_LEVELS)}")
    return value


def logging_config(log_format: str = "text", level: str = "info") -> dict[str, Any]:
    """A `logging.config.dictConfig` dictionary, also accepted by `uvicorn.run(log_config=...)`."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"unknown log format {log_format!r}")
    formatter: dict[str, Any]
    if log_format == "json":
        formatter = {"()": JsonLinesFormatter}
    else:
        formatter = {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"}
    upper = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"chibo": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "chibo", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": upper},
        "loggers": {
            # uvicorn's loggers hand their records to the root handler: one format for everything.
            "uvicorn": {"handlers": [], "level": upper, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": upper, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": upper, "propagate": True},
        },
    }


def configure_logging(log_format: str | None = None, level: str | None = None) -> dict[str, Any]:
    """Apply the configuration now (before the server starts) and return it for uvicorn."""
    config = logging_config(log_format or log_format_from_env(), level or log_level_from_env())
    logging.config.dictConfig(config)
    return config
