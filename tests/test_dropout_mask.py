"""The dropout mask: a counter-based hash, recomputed by numpy here."""

import numpy as np
import pytest

# Built for the tests only (see test_installed_distribution.py).
dropout_keep_mask = pytest.importorskip(
    "sklearn_twolayer._kernel_probes"
).dropout_keep_mask

GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def mix64(z):
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def numpy_mask(seed, step, samples, n_units, rate):
    """The mask of the documented hash: unit j of sample s is kept at step t
    when the top 53 bits of mix64(key(s) + (j + 1) * golden) are at least
    rate * 2**53, key(s) = mix64(seed + mix64(t * golden + s))."""
    samples = np.asarray(samples, dtype=np.uint64)
    with np.errstate(over="ignore"):
        keys = mix64(np.uint64(seed) + mix64(np.uint64(step) * GOLDEN + samples))
        units = (np.arange(n_units, dtype=np.uint64) + np.uint64(1)) * GOLDEN
        draws = mix64(keys[:, None] + units[None, :]) >> np.uint64(11)
    return draws >= np.uint64(int(rate * 2**53))


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5, 0.9])
def test_mask_equals_the_numpy_hash(rate):
    samples = np.array([0, 5, 17, 2**40, 3], dtype=np.intp)
    mask = dropout_keep_mask(12345, 7, samples, 300, rate)
    np.testing.assert_array_equal(mask, numpy_mask(12345, 7, samples, 300, rate))


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5])
def test_expected_fraction_of_units_is_dropped(rate):
    mask = dropout_keep_mask(2**63 + 11, 3, np.arange(2000, dtype=np.intp), 200, rate)
    dropped = 1 - mask.mean()
    # 400000 Bernoulli draws: 5 standard deviations.
    assert abs(dropped - rate) < 5 * np.sqrt(rate * (1 - rate) / mask.size)
    # Units and samples are not correlated: per-unit rates scatter as
    # independent draws would.
    per_unit = 1 - mask.mean(axis=0)
    assert per_unit.std() < 2 * np.sqrt(rate * (1 - rate) / 2000)


def test_masks_change_with_step_seed_and_sample():
    samples = np.arange(50, dtype=np.intp)
    base = dropout_keep_mask(1, 1, samples, 64, 0.5)
    assert not np.array_equal(base, dropout_keep_mask(1, 2, samples, 64, 0.5))
    assert not np.array_equal(base, dropout_keep_mask(2, 1, samples, 64, 0.5))
    assert not np.array_equal(base[1:], base[:-1])
    # The same (seed, step, sample) gives the same row wherever it comes.
    np.testing.assert_array_equal(
        dropout_keep_mask(1, 1, samples[::-1].copy(), 64, 0.5), base[::-1]
    )
