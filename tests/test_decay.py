import math

import numpy as np
import pytest

from memviz import decay
from memviz.errors import ConfigError

DAY = decay.SECONDS_PER_DAY


def test_exponential_matches_hand_computed_values():
    r = decay.exponential_retention([0, 1, 2, 10], 2.0)
    assert np.allclose(r, [1.0, math.exp(-0.5), math.exp(-1.0), math.exp(-5.0)])


def test_exponential_stronger_memories_fade_slower():
    # The MemoryBank code bug exp(-t / 5*S) would make this fail.
    weak, strong = decay.exponential_retention(3.0, [1.0, 5.0])
    assert strong > weak


def test_future_memories_count_as_fresh():
    assert decay.exponential_retention(-5.0, 1.0) == 1.0
    assert decay.power_retention(-5.0, 1.0) == 1.0


def test_power_law_matches_hand_computed_values():
    r = decay.power_retention([0, 3, 8], 1.0, d=0.5)
    assert np.allclose(r, [1.0, 0.5, 1 / 3])


def test_actr_activation_sums_over_accesses():
    now = 10 * DAY
    # memory 0: accessed 1 and 4 days ago; memory 1: 1 day ago; memory 2: never before now (future access)
    access = np.array([now - DAY, now - 4 * DAY, now - DAY, now + DAY])
    offsets = np.array([0, 2, 3, 4])
    b = decay.actr_activation(now, access, offsets, d=0.5)
    assert b[0] == pytest.approx(math.log(1 + 4**-0.5))
    assert b[1] == pytest.approx(0.0)
    assert b[2] == -np.inf
    p = decay.actr_probability(b, tau=0.0, s=0.4)
    assert p[1] == pytest.approx(0.5)
    assert p[0] == pytest.approx(1 / (1 + math.exp(-math.log(1.5) / 0.4)))
    assert p[2] == 0.0


def test_retention_dispatch_and_unknown_model():
    now = 5 * DAY
    r = decay.retention("exponential", now, np.array([now - DAY]), np.array([1.0]))
    assert r[0] == pytest.approx(math.exp(-1))
    with pytest.raises(ConfigError, match="unknown decay model"):
        decay.retention("linear", now, np.array([0.0]), np.array([1.0]))
    with pytest.raises(ConfigError):
        decay.retention("actr", now, np.array([0.0]), np.array([1.0]))


def test_reinforce_rule_memorybank_and_spacing():
    assert decay.ReinforceRule(increment_days=1.0, gain=0.0).apply(3.0, 0.2) == pytest.approx(4.0)
    rule = decay.ReinforceRule(increment_days=1.0, gain=1.0)
    # A recall after retention fell to 0.2 strengthens more than an immediate one (spacing effect).
    assert rule.apply(3.0, 0.2) == pytest.approx(3 + 1 + 3 * 0.8)
    assert rule.apply(3.0, 1.0) == pytest.approx(4.0)
    with pytest.raises(ConfigError):
        decay.ReinforceRule(increment_days=-1)


def test_initial_stability_grows_with_importance():
    s = decay.initial_stability_days([0.0, 0.5, 1.0])
    assert np.allclose(s, [2.0, 6.0, 10.0])


def test_bad_params_are_refused():
    with pytest.raises(ConfigError):
        decay.DecayParams(power_d=0)
