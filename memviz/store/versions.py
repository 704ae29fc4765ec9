"""Time travel: restoring a store's memories and links to an earlier version of the memories table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from memviz.errors import StoreError
from memviz.events import RestoreVersionEvent
from memviz.filters import LinkFilter
from memviz.store import opening

if TYPE_CHECKING:
    from memviz.store.store import MemoryStore


def restore_version(store: MemoryStore, version: int, time_s: float) -> RestoreVersionEvent:
    """Restore the memories and links tables of ``store`` to their state at memories-table ``version`` (as a
    new version of each: history is kept) and return the ``restore_version`` event (at clock time ``time_s``)
    that records it. The caller commits the event, inside a journalled operation
    (:meth:`MemoryStore.restore_version`): the event log is never rolled back.

    The links table is restored to the newest links version recorded (``store_versions`` of a batch's first
    event, of a prune or of an earlier restore) by a commit whose memories version is <= ``version``, or, when
    newer, to the last links version whose timestamp is <= that memories version's (stores written before
    versions were recorded). Links whose memories are absent after the restore (possible only when writers
    interleaved) are then deleted. The event lists the memory ids the restore removed (``removed_ids``) and
    brought back (``restored_ids``). Raises StoreError for a version the memories table does not have. Not
    meant to run while another process writes.
    """
    known = {int(v["version"]): v["timestamp"] for v in store.memories.list_versions()}
    if version not in known:
        raise StoreError(f"the memories table has no version {version!r} (versions {min(known)}..{max(known)})")
    links_version = max(
        [int(v["version"]) for v in store.links.list_versions() if v["timestamp"] <= known[version]] or [1]
    )
    for e in store.list_events():
        sv = e.store_versions or {}
        if sv.get("memories") is not None and int(sv["memories"]) <= version:
            links_version = max(links_version, int(sv["links"]))
    before = set(store.memories_table(columns=["id"]).column("id").to_pylist())
    before_version = store.version()
    store.memories.restore(version)
    store.journal.step("memories")
    store.links.restore(links_version)
    store.journal.step("links")
    opening.upgrade(store)  # a version from before an upgrade lacks the columns added since
    after = set(store.memories_table(columns=["id"]).column("id").to_pylist())
    links = store.links_table()
    ends = set(links.column("source_id").to_pylist()) | set(links.column("target_id").to_pylist())
    if dangling := sorted(ends - after):
        store.delete_links(LinkFilter(touching=dangling))
    if after:
        store.refresh_text_index()
        store.journal.step("fts")
    removed, restored = sorted(before - after), sorted(after - before)
    return RestoreVersionEvent(
        time_s=time_s,
        memory_ids=tuple(removed + restored),
        version=version,
        links_version=links_version,
        from_version=before_version,
        removed_ids=removed,
        restored_ids=restored,
        dangling_links_removed_for=dangling,
        store_versions=store.table_versions(),
    )
