"""The location of an s3+ddb:// store names its DynamoDB table; other locations have no remote lock."""

from __future__ import annotations

import pytest

from memviz.errors import StoreError
from memviz.store.ddb_lock import ddb_table, remote_lock


def test_the_table_comes_from_the_location():
    assert ddb_table("s3+ddb://bucket/path?ddbTableName=memviz-commits") == "memviz-commits"
    assert ddb_table("s3://bucket/path") is None and ddb_table("/tmp/store") is None
    assert remote_lock("s3://bucket/path", None) is None
    with pytest.raises(StoreError, match=r"needs its DynamoDB table: s3\+ddb://bucket/path\?ddbTableName=T"):
        ddb_table("s3+ddb://bucket/path")


def test_the_lock_item_is_keyed_apart_from_lances_items():
    lock = remote_lock("s3+ddb://bucket/team/store?ddbTableName=T", {"AWS_REGION": "eu-west-1"})
    assert lock is not None and lock.table == "T"
    assert lock.key == {"base_uri": {"S": "memviz-write-lock:bucket/team/store"}, "version": {"N": "0"}}
    assert lock._client_args == {"region_name": "eu-west-1"}  # LanceDB's option names, any case
