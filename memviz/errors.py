"""Typed errors: everything memviz raises on bad input derives from :class:`MemvizError`."""

from __future__ import annotations


class MemvizError(Exception):
    """Base class of every error memviz raises deliberately (bad input, unknown id, missing model)."""


class EmptyTextError(MemvizError, ValueError):
    """A memory text or query is empty or only whitespace."""


class SchemaError(MemvizError, ValueError):
    """A data file does not match the schema of the format it was read as.

    The message names the file, the format and the offending location (e.g. ``conversation[2].session_3[5]``).
    """


class UnknownMemoryError(MemvizError, KeyError):
    """One or more memory ids do not exist in the store."""

    def __init__(self, ids: list[str]):
        self.ids = list(ids)
        shown = ", ".join(self.ids[:5]) + (" ..." if len(self.ids) > 5 else "")
        super().__init__(f"unknown memory id(s): {shown}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]


class DuplicateMemoryError(MemvizError, ValueError):
    """A batch would write a memory id that already exists (in the store or twice in the batch)."""


class ConfigError(MemvizError, ValueError):
    """An invalid setting: k <= 0, an unknown decay model, a weight that is not a finite number, ..."""


class ModelNotAvailableError(MemvizError, RuntimeError):
    """A model is not installed or cannot be loaded offline."""


class StoreError(MemvizError, RuntimeError):
    """The store cannot be opened or written (wrong table schema, unreadable path, failed batch)."""


class StoreNotFoundError(StoreError):
    """A read found no memory store at the location given (reads never create one)."""


class SettingsMismatchError(ConfigError):
    """A store was opened with settings (context, full-text tokenizer) other than those it was made with."""


class EmbedderMismatchError(SettingsMismatchError):
    """A store was opened with an embedder other than the one its vectors were made with: mixing two models'
    vector spaces would silently corrupt recall, so it is refused."""
