"""Retrieval evaluation on LoCoMo and LongMemEval with the benchmarks' own protocols.

- :func:`~memviz.evaluate.locomo.run_locomo`: recall@k over dialogue turns (LoCoMo paper, Table 3).
- :func:`~memviz.evaluate.longmemeval.run_longmemeval`: recall_any/recall_all/ndcg_any@k (official).
- :mod:`~memviz.evaluate.metrics`: the metric functions; :mod:`~memviz.evaluate.cli`: ``memviz eval``.

Both runners return one JSON-ready dict: ``overall`` (metric name -> mean in [0, 1]), ``by_category``,
``counts``, ``timing`` and ``questions`` (per question: gold items, retrieved list, gold ranks, metrics and
the recall's ``trace_id`` in its ``store``; see :func:`~memviz.evaluate.common.find_trace`).

The package imports nothing itself, so ``memviz eval --help`` stays quick; import the submodules.
"""
