"""Where a store lives: ``$MEMVIZ_DB`` (a folder or an object-storage URI) and its storage options."""

from __future__ import annotations

import json
import os

from memviz.errors import StoreError

DEFAULT_DB = ".memviz"


def default_db_uri() -> str:
    """The store location: ``$MEMVIZ_DB`` if set, else ``.memviz`` in the working directory."""
    return os.environ.get("MEMVIZ_DB") or DEFAULT_DB


def default_storage_options() -> dict[str, str] | None:
    """Storage options for an object-storage store from ``$MEMVIZ_STORAGE_OPTIONS`` (a JSON object of strings,
    LanceDB's option names, e.g. ``{"aws_endpoint": "http://127.0.0.1:9000", "allow_http": "true"}``), or None.
    Raises StoreError when the variable is set but not a JSON object."""
    raw = os.environ.get("MEMVIZ_STORAGE_OPTIONS", "").strip()
    if not raw:
        return None
    try:
        opts = json.loads(raw)
    except ValueError as e:
        raise StoreError(f"MEMVIZ_STORAGE_OPTIONS is not valid JSON: {e}") from e
    if not isinstance(opts, dict):
        raise StoreError("MEMVIZ_STORAGE_OPTIONS must be a JSON object of option name -> value")
    return {str(k): str(v) for k, v in opts.items()}
