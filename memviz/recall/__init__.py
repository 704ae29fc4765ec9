"""Recall: the configuration and presets, the pipeline as one function per stage (``stages``), the graph
stage, and ``explain`` (why was a memory not retrieved?). ``pipeline.recall`` composes the stages."""

from memviz.recall.config import BASE_COMPONENTS, RETRIEVERS, STAGES, RecallConfig, Retriever

__all__ = ["BASE_COMPONENTS", "RETRIEVERS", "STAGES", "RecallConfig", "Retriever"]
