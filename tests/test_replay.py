"""Replay (memviz.replay, `memviz replay`) and the spacing reinforcement rule (memviz.spacing)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from click.testing import CliRunner

from memviz.cli import main
from memviz.errors import ConfigError
from memviz.evaluate.common import store_dir
from memviz.events import ClockEvent, RecallEvent, ReinforceEvent
from memviz.importers import load
from memviz.replay import ReplayConfig, replay, time_ordered_steps
from memviz.spacing import SpacingRule
from memviz.store import MemoryStore

from support import TINY_LOCOMO

# Three sessions; session_2 is dated before session_1 (time order is not file order), session_3 a month later.
_S2 = [
    ("Bob", "D2:1", "Ann, how is the yellow kitchen in Lisbon?"),
    ("Ann", "D2:2", "Lisbon is sunny and the kitchen looks great."),
    ("Bob", "D2:3", "Rex the dog chewed my cello bow."),
]
_S3 = [
    ("Ann", "D3:1", "Tom flew back to Toronto yesterday."),
    ("Bob", "D3:2", "My cello teacher says I improved a lot since March."),
    ("Ann", "D3:3", "I painted the Lisbon bedroom blue this time."),
    ("Bob", "D3:4", "Rex loves the beach in Lisbon, as I said."),
]


def _data() -> list[dict]:
    data = copy.deepcopy(TINY_LOCOMO)
    conv = data[0]["conversation"]
    conv["session_1_date_time"] = "1:56 pm on 8 June, 2023"
    conv["session_2"] = [{"speaker": s, "dia_id": d, "text": t} for s, d, t in _S2]
    conv["session_2_date_time"] = "10:00 am on 20 May, 2023"
    conv["session_3"] = [{"speaker": s, "dia_id": d, "text": t} for s, d, t in _S3]
    conv["session_3_date_time"] = "9:00 am on 10 July, 2023"
    return data


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "mini_locomo.json"
    path.write_text(json.dumps(_data()))
    return path


def _store(db) -> MemoryStore:
    return MemoryStore(store_dir(db, "conv-t"), create=False)


def _turn_recalls(store: MemoryStore) -> list[RecallEvent]:
    return [e for e in store.list_events(ops=["recall"]) if "turn" in e.trace["config"].get("replay", {})]


def test_steps_are_sessions_in_time_order(data_file):
    items = load(data_file, "locomo").groups["conv-t"]
    steps = time_ordered_steps(items)
    assert [s[0].session_id for s in steps] == ["conv-t:S2", "conv-t:S1", "conv-t:S3"]
    times = [m.event_time_s for s in steps for m in s]
    assert times == sorted(times)
    assert [len(s) for s in time_ordered_steps(items, batch_size=2)] == [2, 1, 2, 2, 1, 2, 2]


def test_replay_recalls_each_turn_before_it_is_written_at_its_own_time(data_file, tmp_path, fake_embedder):
    db = tmp_path / "rep"
    result = replay(data_file, "locomo", db, ReplayConfig(recall_k=3), embedder=fake_embedder)
    store = _store(db)
    items = {m.id: m for m in load(data_file, "locomo").groups["conv-t"]}
    assert store.count() == len(items) == 12
    recalls = _turn_recalls(store)
    # The first session (S2) has nothing to recall from; every later turn recalls once.
    assert sorted(e.trace["config"]["replay"]["turn"] for e in recalls) == sorted(
        i for i, m in items.items() if m.session_id != "conv-t:S2"
    )
    rows = store.memories_table(columns=["id", "event_time_s", "created_time_s"]).to_pandas().set_index("id")
    for e in recalls:
        turn = items[e.trace["config"]["replay"]["turn"]]
        assert e.time_s == turn.event_time_s  # the recall happens at the turn's own time
        assert turn.id not in e.memory_ids  # a turn never recalls itself
        for hit in e.memory_ids:  # only memories written before the turn (earlier sessions)
            assert rows.loc[hit, "created_time_s"] < turn.event_time_s
            assert items[hit].session_id != turn.session_id
    # One clock event per session, at its last turn; the store clock ends at the last turn.
    clocks = [e for e in store.list_events(ops=["clock"]) if isinstance(e, ClockEvent)]
    assert len(clocks) == 3 and clocks[-1].to_s == max(m.event_time_s for m in items.values())
    # Each memory was created when its session ended (the session is written at its end).
    assert (rows["created_time_s"] >= rows["event_time_s"]).all()
    s = result.summary()
    assert s["recalls"] == len(recalls) == 9 and s["turns"] == 12 and s["memories"] == 12


def test_recall_hits_are_reinforced_with_events_tied_to_the_trace(data_file, tmp_path, fake_embedder):
    db = tmp_path / "rep"
    result = replay(data_file, "locomo", db, ReplayConfig(recall_k=3), embedder=fake_embedder)
    store = _store(db)
    recalls = _turn_recalls(store)
    reinforce = [e for e in store.list_events(ops=["reinforce"]) if isinstance(e, ReinforceEvent)]
    by_trace: dict[str, list[str]] = {}
    for e in reinforce:
        by_trace.setdefault(e.trace_id, []).append(e.memory_ids[0])
        assert e.reason == "recall" and e.stability_after >= e.stability_before
    assert {e.trace["id"]: list(e.memory_ids) for e in recalls if e.memory_ids} == by_trace
    counts = store.memories_table(columns=["id", "recall_count"]).to_pandas().set_index("id")["recall_count"]
    hits = [i for e in recalls for i in e.memory_ids]
    assert counts.to_dict() == {i: hits.count(i) for i in counts.index}
    assert result.summary()["reinforced_memories"] == len(set(hits)) > 0


def _fail_after(monkeypatch, target: str, calls: int) -> None:
    """Make ``memviz.replay.<target>`` raise on call number ``calls`` (an interruption)."""
    import memviz.replay as rp

    real = getattr(rp, target)
    seen = [0]

    def flaky(*a, **k):
        seen[0] += 1
        if seen[0] == calls:
            raise KeyboardInterrupt("interrupted")
        return real(*a, **k)

    monkeypatch.setattr(rp, target, flaky)


@pytest.mark.parametrize(
    ("target", "calls"),
    [("_commit_recalls", 2), ("_write_step", 2), ("_write_step", 3)],
    ids=["before-recalls-of-2nd-session", "between-recall-and-write", "before-3rd-write"],
)
def test_an_interrupted_replay_resumes_and_does_nothing_twice(
    data_file, tmp_path, fake_embedder, monkeypatch, target, calls
):
    db = tmp_path / "rep"
    with monkeypatch.context() as m:
        _fail_after(m, target, calls)
        with pytest.raises(KeyboardInterrupt):
            replay(data_file, "locomo", db, ReplayConfig(recall_k=3, questions=True), embedder=fake_embedder)
    result = replay(data_file, "locomo", db, ReplayConfig(recall_k=3, questions=True), embedder=fake_embedder)
    store = _store(db)
    turns = [e.trace["config"]["replay"]["turn"] for e in _turn_recalls(store)]
    assert len(turns) == len(set(turns)) == 9  # each later turn recalled exactly once
    hits = [i for e in _turn_recalls(store) for i in e.memory_ids]
    assert len(store.list_events(ops=["reinforce"])) == len(hits)
    assert len(store.list_events(ops=["write"])) == store.count() == 12
    questions = [e for e in store.list_events(ops=["recall"]) if "question" in e.trace["config"].get("replay", {})]
    assert len(questions) == 2 * 3
    # A third run does nothing at all.
    n_events = store.stats()["events"]
    again = replay(data_file, "locomo", db, ReplayConfig(recall_k=3, questions=True), embedder=fake_embedder)
    assert _store(db).stats()["events"] == n_events
    assert again.summary() | {"duration_s": 0} == result.summary() | {"duration_s": 0}


def test_questions_are_asked_at_their_time_with_and_without_decay(data_file, tmp_path, fake_embedder):
    db = tmp_path / "rep"
    result = replay(data_file, "locomo", db, ReplayConfig(recall_k=3, questions=True), embedder=fake_embedder)
    store = _store(db)
    end = max(m.event_time_s for m in load(data_file, "locomo").groups["conv-t"])
    asked = [e for e in store.list_events(ops=["recall"]) if "question" in e.trace["config"].get("replay", {})]
    assert len(asked) == 6 and {e.time_s for e in asked} == {end}  # LoCoMo: after the last session
    for e in asked:
        cfg = e.trace["config"]
        assert cfg["reinforce"] is False and cfg["k"] == 10
        assert (cfg["weights"]["retention"] > 0) == cfg["replay"]["decay"]
    assert {e.trace["config"]["replay"]["decay"] for e in asked} == {True, False}
    q = result.questions[0]
    assert q.time_s == end and len(q.decay_top) == len(q.no_decay_top) == 10
    assert q.suppressed == [g for g in q.gold if g in q.no_decay_top and g not in q.decay_top]
    s = result.summary()["questions"]
    assert s["n"] == 3 and 0.0 <= s["recall@10_decay"] <= 1.0


def test_longmemeval_questions_are_asked_before_later_sessions(tmp_path, fake_embedder):
    def session(day: str, texts):
        return [{"role": "user", "content": t} for t in texts]

    item = {
        "question_id": "q1",
        "question_type": "single-session-user",
        "question": "Where did I move?",
        "answer": "Lisbon",
        "question_date": "2023/05/20 (Sat) 10:00",
        "haystack_session_ids": ["a", "b", "c"],
        "haystack_dates": ["2023/05/10 (Wed) 09:00", "2023/06/01 (Thu) 09:00", "2023/05/01 (Mon) 09:00"],
        "haystack_sessions": [
            [{"role": "user", "content": "I moved to Lisbon.", "has_answer": True}],
            session("b", ["I bought a cello."]),
            session("c", ["My dog is called Rex."]),
        ],
        "answer_session_ids": ["a"],
    }
    path = tmp_path / "lme.json"
    path.write_text(json.dumps([item]))
    db = tmp_path / "rep"
    result = replay(path, "longmemeval", db, ReplayConfig(recall_k=2, questions=True), embedder=fake_embedder)
    store = MemoryStore(store_dir(db, "q1"), create=False)
    events = store.list_events()
    first_q = next(n for n, e in enumerate(events) if e.op == "recall" and "question" in e.trace["config"]["replay"])
    written_before = {i for e in events[:first_q] if e.op == "write" for i in e.memory_ids}
    assert len(written_before) == 2  # sessions c and a (before the question date), not b
    assert result.questions[0].time_s == load(path, "longmemeval").questions[0].time_s


def test_cli_replay_json_contract(data_file, tmp_path):
    res = CliRunner().invoke(
        main,
        ["replay", str(data_file), "--format", "locomo", "--db", str(tmp_path / "r"), "--questions", "--json"],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert list(out) == [
        "memories",
        "turns",
        "recalls",
        "reinforced_memories",
        "share_above_forget_threshold",
        "retention_end",
        "duration_s",
        "questions",
    ]
    assert list(out["retention_end"]) == ["p10", "p50", "p90"]
    assert list(out["questions"]) == ["n", "recall@10_decay", "recall@10_no_decay", "gold_suppressed_by_decay"]
    assert out["memories"] == out["turns"] == 12 and out["recalls"] == 9 and out["questions"]["n"] == 3
    assert 0.0 <= out["share_above_forget_threshold"] <= 1.0
    text = CliRunner().invoke(main, ["replay", str(data_file), "--format", "locomo", "--db", str(tmp_path / "r")])
    assert text.exit_code == 0 and "12 turns replayed" in text.stdout


# -- the spacing rule --------------------------------------------------------------------------------------
def test_spacing_rule_a_longer_gap_raises_stability_more():
    rule = SpacingRule()
    s = 5.0
    gaps = np.array([0.0, 1.0, 3.0, 10.0, 30.0])  # days since the last access
    after = rule.apply(s, np.exp(-gaps / s))
    assert after[0] == pytest.approx(s)  # an immediate re-recall changes nothing
    assert np.all(np.diff(after) > 0)
    assert rule.apply(5.0, 0.9) == pytest.approx(17.4657, rel=1e-4)  # the FSRS-5 weights, D = 5


def test_spacing_rule_is_monotone_and_stabilises():
    rule = SpacingRule()
    r = np.linspace(0, 1, 11)
    for s in (1.0, 10.0, 100.0):
        after = rule.apply(s, r)
        assert np.all(after >= s) and np.all(np.diff(after) <= 0)  # lower retention, larger gain
    gains = rule.gain(np.array([1.0, 10.0, 100.0]), 0.5)
    assert np.all(np.diff(gains) < 0)  # stronger memories gain relatively less (S^-w9)
    assert SpacingRule(difficulty=9).apply(5.0, 0.5) < rule.apply(5.0, 0.5)
    assert rule.apply(30_000.0, 0.0) == 36_500.0  # capped


@pytest.mark.parametrize(
    "kwargs", [{"difficulty": 0.5}, {"difficulty": 11}, {"w8": -1}, {"w9": 0.9}, {"w10": 0}, {"w8": float("nan")}]
)
def test_spacing_rule_parameters_are_validated(kwargs):
    with pytest.raises(ConfigError):
        SpacingRule(**kwargs)


def test_engine_reinforces_by_the_spacing_rule_by_default(engine):
    from memviz.spacing import StabilityRule

    assert isinstance(engine.reinforce_rule, SpacingRule)
    rule: StabilityRule = engine.reinforce_rule
    [m] = engine.write(["I moved to Lisbon."]).items
    [ev] = engine.reinforce([m.id])
    assert ev.stability_after == pytest.approx(float(rule.apply(ev.stability_before, ev.retention_before)))
