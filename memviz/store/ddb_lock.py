"""The write lock of a store on S3 with LanceDB's DynamoDB commit store (``s3+ddb://bucket/path?ddbTableName=T``):
one item of that same DynamoDB table, taken with a conditional put, held under a renewed lease.

LanceDB's commit store makes each table commit safe among concurrent writers (one manifest per version, by a
conditional put on ``(base_uri, version)``); it does not serialise memviz's read-modify-writes (a batch's
duplicate check and links, reinforce, the clock), which the write lock does (:mod:`memviz.store.locking`).
The lock item is ``base_uri = "memviz-write-lock:<bucket>/<path>"``, ``version = 0`` (Lance's own items are
keyed by table paths, never by that prefix), with ``owner`` and ``expires_wall_s``. It is taken when absent or
expired (``attribute_not_exists(base_uri) OR expires_wall_s < :now``), renewed every ``LEASE_S / 3`` by a
thread while held, and deleted on release (only by its owner). A holder killed without releasing blocks other
writers until its lease ends (:data:`LEASE_S`); the hosts' clocks must agree to well within it.

The client reads the store's storage options (LanceDB's names: ``aws_access_key_id``, ``aws_secret_access_key``,
``aws_session_token``, ``aws_region`` or ``region``, ``dynamodb_endpoint``), else boto3's own configuration and
``$DYNAMODB_ENDPOINT`` as Lance does.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from contextlib import suppress
from typing import Any
from urllib.parse import parse_qs, urlsplit

from memviz.errors import StoreError
from memviz.store.inflight import writer_id

SCHEME = "s3+ddb"
LEASE_S = 60.0
# LanceDB's option names -> boto3 client arguments.
_CLIENT_ARGS = {
    "aws_access_key_id": "aws_access_key_id",
    "aws_secret_access_key": "aws_secret_access_key",
    "aws_session_token": "aws_session_token",
    "aws_region": "region_name",
    "region": "region_name",
    "dynamodb_endpoint": "endpoint_url",
}


def ddb_table(uri: str) -> str | None:
    """The DynamoDB table of an ``s3+ddb://`` store location (its ``ddbTableName``), None for any other."""
    parts = urlsplit(uri)
    if parts.scheme != SCHEME:
        return None
    names = parse_qs(parts.query).get("ddbTableName") or [""]
    if not names[0]:
        raise StoreError(f"{uri}: an s3+ddb:// store needs its DynamoDB table: s3+ddb://bucket/path?ddbTableName=T")
    return names[0]


class DynamoLock:
    """The cross-process part of the write lock of the ``s3+ddb://`` store at ``uri`` (see the module docstring);
    :class:`memviz.store.locking.StoreLock` calls :meth:`acquire` and :meth:`release`. The DynamoDB client is
    made on the first acquisition (a store only read never makes one)."""

    def __init__(self, uri: str, table: str, storage_options: dict[str, str] | None):
        parts = urlsplit(uri)
        options = {k.lower(): v for k, v in (storage_options or {}).items()}
        self._client_args = {arg: options[k] for k, arg in _CLIENT_ARGS.items() if options.get(k)}
        if "endpoint_url" not in self._client_args and os.environ.get("DYNAMODB_ENDPOINT"):
            self._client_args["endpoint_url"] = os.environ["DYNAMODB_ENDPOINT"]
        self._client: Any = None
        self.uri, self.table = uri, table
        self.key = {"base_uri": {"S": f"memviz-write-lock:{parts.netloc}{parts.path}"}, "version": {"N": "0"}}
        self.owner = f"{writer_id()}:{uuid.uuid4().hex[:8]}"  # per store object: two in one process exclude
        self._stop: threading.Event | None = None

    @property
    def client(self) -> Any:
        """The boto3 DynamoDB client. Raises StoreError when boto3 is not installed (``memviz[s3]``)."""
        if self._client is None:
            try:
                import boto3
            except ImportError as e:
                raise StoreError(
                    f"{self.uri}: an s3+ddb:// store needs boto3 for its write lock: pip install 'memviz[s3]'"
                ) from e
            self._client = boto3.client("dynamodb", **self._client_args)
        return self._client

    def _put(self, condition: str, values: dict[str, Any]) -> bool:
        item = self.key | {"owner": {"S": self.owner}, "expires_wall_s": {"N": repr(time.time() + LEASE_S)}}
        try:
            self.client.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#o": "owner"} if "#o" in condition else {},
                ExpressionAttributeValues=values,
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        except Exception as e:
            raise StoreError(f"cannot lock the memory store at {self.uri} (DynamoDB table {self.table}): {e}") from e
        return True

    def acquire(self, wait: bool = True) -> bool:
        """Take the lock (waiting, with backoff up to 0.5 s, while another holds it); with ``wait=False`` return
        False at once when it is held. Raises StoreError when DynamoDB cannot be reached."""
        delay_s = 0.02
        while not self._put(
            "attribute_not_exists(base_uri) OR expires_wall_s < :now", {":now": {"N": repr(time.time())}}
        ):
            if not wait:
                return False
            time.sleep(delay_s)
            delay_s = min(2 * delay_s, 0.5)
        self._stop = threading.Event()
        threading.Thread(target=self._renew, args=(self._stop,), daemon=True, name="memviz-ddb-lock").start()
        return True

    def _renew(self, stop: threading.Event) -> None:
        while not stop.wait(LEASE_S / 3):
            with suppress(StoreError):  # a passing fault: the next renewal (or the lease) covers it
                self._put("#o = :me", {":me": {"S": self.owner}})

    def release(self) -> None:
        """Stop renewing and delete the lock item if this object still owns it."""
        if self._stop is not None:
            self._stop.set()
            self._stop = None
        with suppress(Exception):  # not ours any more (expired and taken), or unreachable: its lease ends it
            self.client.delete_item(
                TableName=self.table,
                Key=self.key,
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":me": {"S": self.owner}},
            )


def remote_lock(uri: str, storage_options: dict[str, str] | None) -> DynamoLock | None:
    """The cross-process lock of an object-storage store when its location provides one (``s3+ddb://``), else
    None."""
    table = ddb_table(uri)
    return DynamoLock(uri, table, storage_options) if table else None


__all__ = ["LEASE_S", "DynamoLock", "ddb_table", "remote_lock"]
