"""Fixtures of the attention tests: the real models (loaded once per session) and a tiny random Llama."""

from __future__ import annotations

import os

import pytest

from attention_support import make_tiny_llama

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def minilm():
    from memviz.attention.models import load_model

    return load_model("minilm")


@pytest.fixture(scope="session")
def smollm2():
    from memviz.attention.models import load_model

    return load_model("smollm2")


@pytest.fixture(scope="session")
def tiny_llama():
    return make_tiny_llama()
