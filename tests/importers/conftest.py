"""Shared fixtures of the importer tests: the real data sets, read from ``<repo>/../shared/data``.

A test that needs a data file is skipped, with the missing path as the reason, when the file is not there.
Each file is imported once per session (the datasets are not modified by the tests).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from memviz.importers import Dataset, Format, load
from memviz.paths import SHARED_DATA

DATA_DIR = SHARED_DATA

LOCOMO = "locomo/locomo_dev.json"
LME_ORACLE = "longmemeval/longmemeval_oracle.json"
LME_S_DEV30 = "longmemeval/longmemeval_s_dev30.json"
MEMORYBANK = "memorybank/memory_bank_en.json"


def _data_file(relative: str) -> Path:
    if not DATA_DIR.is_dir():
        pytest.skip(f"shared data folder not found: {DATA_DIR}")
    path = DATA_DIR / relative
    if not path.is_file():
        pytest.skip(f"shared data file not found: {path}")
    return path


def _raw_and_dataset(relative: str, fmt: Format) -> tuple[Path, Any, Dataset]:
    path = _data_file(relative)
    return path, json.loads(path.read_text(encoding="utf-8")), load(path, fmt)


@pytest.fixture(scope="session")
def locomo() -> tuple[Path, Any, Dataset]:
    """(path, raw JSON, imported Dataset) of the LoCoMo file."""
    return _raw_and_dataset(LOCOMO, "locomo")


@pytest.fixture(scope="session")
def lme_oracle() -> tuple[Path, Any, Dataset]:
    """(path, raw JSON, imported Dataset) of the LongMemEval oracle file."""
    return _raw_and_dataset(LME_ORACLE, "longmemeval")


@pytest.fixture(scope="session")
def lme_s_dev30() -> tuple[Path, Any, Dataset]:
    """(path, raw JSON, imported Dataset) of the LongMemEval_S 30-question file."""
    return _raw_and_dataset(LME_S_DEV30, "longmemeval")


@pytest.fixture(params=["lme_oracle", "lme_s_dev30"], ids=["oracle", "s_dev30"])
def longmemeval(request: pytest.FixtureRequest) -> tuple[Path, Any, Dataset]:
    """Each LongMemEval file in turn (the oracle file, then the LongMemEval_S 30-question file)."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="session")
def memorybank() -> tuple[Path, Any, Dataset]:
    """(path, raw JSON, imported Dataset) of the MemoryBank file (its probing questions lie next to it)."""
    return _raw_and_dataset(MEMORYBANK, "memorybank")
