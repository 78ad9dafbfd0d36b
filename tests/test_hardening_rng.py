"""backend.get_rng_states / set_rng_states: the seed and every device generator that exists."""

import numpy as np

import minicnn as mc
from minicnn import backend


def test_rng_states_round_trip_the_cpu_generator_and_the_seed():
    mc.manual_seed(5)
    backend.default_generator("cpu").random(4)
    states = backend.get_rng_states()
    assert states["seed"] == 5
    if "cuda" not in backend._generators:
        assert sorted(states["generators"]) == ["cpu"]  # only generators that were created
    expected = backend.default_generator("cpu").random(3)

    mc.manual_seed(99)
    backend.set_rng_states(states)
    np.testing.assert_array_equal(backend.default_generator("cpu").random(3), expected)


def test_a_generator_created_after_restoring_is_seeded_from_the_restored_seed():
    mc.manual_seed(7)
    states = backend.get_rng_states()  # manual_seed drops the generators: none exists yet
    assert states == {"seed": 7, "generators": {}}
    expected = np.random.default_rng(7).random(2)
    mc.manual_seed(0)
    backend.default_generator("cpu").random(5)
    backend.set_rng_states(states)
    np.testing.assert_array_equal(backend.default_generator("cpu").random(2), expected)


def test_rng_states_are_a_snapshot():
    mc.manual_seed(1)
    states = backend.get_rng_states()
    first = backend.default_generator("cpu").random(2)
    backend.set_rng_states(states)
    backend.set_rng_states(states)  # restoring twice gives the same state again
    np.testing.assert_array_equal(backend.default_generator("cpu").random(2), first)
