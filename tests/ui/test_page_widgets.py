"""The widgets moved out of the Recall, Graph and Forgetting pages (memviz.ui.recall, memviz.ui.graph,
memviz.ui.forgetting), each run in a small AppTest script; the pages' own tests cover them on a real store."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest


def _script():
    from types import SimpleNamespace

    import pandas as pd
    import streamlit as st

    from memviz.decay import DecayParams
    from memviz.ui import forgetting as uf
    from memviz.ui import graph as ug
    from memviz.ui import recall as ur

    index = pd.DataFrame(
        {"id": ["m1", "m2", "m3"], "speaker": ["Ann", "Bob", "Ann"], "text": ["cello", "dog", "kayak"]}
    )
    misses = pd.DataFrame({"id": ["m2"], "rank": [11]})

    def read_index() -> pd.DataFrame:
        st.session_state["index_reads"] = st.session_state.get("index_reads", 0) + 1
        return index

    st.write(f"why={ur.why_not_picker(misses, {}, read_index)} reads={st.session_state.get('index_reads', 0)}")
    preset, run = ur.preset_picker("default")
    st.write(f"preset={preset} run={run}")

    nodes = pd.DataFrame(
        {
            "session_id": ["s1", "s2"],
            "speaker": ["Ann", "Bob"],
            "kind": ["episodic", "episodic"],
            "time_s": [1704067200.0, 1704067200.0 + 5 * 86_400],
        }
    )
    flt, model = ug.filter_widgets(nodes)
    st.write(f"filter={flt.sessions} {flt.link_kinds} {flt.min_weight} {flt.include_forgotten} model={model}")
    st.write(f"options={ug.display_options()}")
    from memviz.spacing import SpacingRule

    eng = SimpleNamespace(decay_params=DecayParams(power_d=0.5), reinforce_rule=SpacingRule(w10=2.0))
    params = uf.param_widgets(eng)
    rule = st.session_state["reinforce_rule"]
    st.write(f"power_d={params.power_d} rule_w10={rule.w10} engine_w10={eng.reinforce_rule.w10}")


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_function(_script, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def _said(app) -> str:
    return "\n".join(m.value for m in app.markdown)


def test_why_not_picker_offers_near_misses_then_found_memories_and_an_exact_id(app):
    assert "why=None reads=0" in _said(app)  # the index is read only for a search
    assert app.selectbox(key="rc_why_pick").options == ["near miss #11: m2"]
    app.text_input(key="rc_why_search").set_value("KAYAK").run()
    assert app.selectbox(key="rc_why_pick").options == ["m3: Ann: kayak", "near miss #11: m2"]
    app.selectbox(key="rc_why_pick").set_value("m3").run()
    assert "why=m3" in _said(app)
    app.text_input(key="rc_why_id").set_value("  m1 ").run()  # a typed id wins over the pick
    assert "why=m1" in _said(app)


def test_preset_picker_offers_the_other_presets(app):
    from memviz.recall.presets import PRESET_NAMES, PRESETS

    picker = app.selectbox(key="rc_cmp_preset")
    assert picker.options == [PRESETS[n].label for n in PRESET_NAMES if n != "default"]
    assert "run=False" in _said(app)
    app.button(key="rc_cmp_run").click().run()
    assert f"preset={picker.value} run=True" in _said(app)


def test_graph_filters_and_display_options(app):
    from memviz.models import LINK_KINDS

    assert f"filter=() {LINK_KINDS} 0.0 True model=exponential" in _said(app)
    assert (
        "options=DisplayOptions(view='store', colour_by='community', size_by='importance', lod='top', "
        "max_nodes=60, rank_by='score')" in _said(app)
    )
    app.multiselect(key="graph_sessions").set_value(["s2"])
    app.checkbox(key="graph_forgotten").set_value(False)
    app.radio(key="graph_view").set_value("query")
    app.number_input(key="graph_max_nodes").set_value(50).run()
    assert f"filter=('s2',) {LINK_KINDS} 0.0 False" in _said(app)
    assert "view='query'" in _said(app) and "max_nodes=50" in _said(app)


def test_decay_parameter_sliders_start_at_the_engine_parameters(app):
    assert "power_d=0.5" in _said(app)
    app.slider(key="fg_power_d").set_value(1.0).run()
    assert "power_d=1.0" in _said(app)


def test_reinforcement_rule_sliders_start_at_the_engine_rule_and_set_the_sessions_rule(app):
    assert app.slider(key="fg_rule_w10").value == 2.0 and "rule_w10=2.0" in _said(app)
    app.slider(key="fg_rule_w10").set_value(3.0).run()
    assert "rule_w10=3.0 engine_w10=2.0" in _said(app)  # the session's rule; the shared engine keeps its own
