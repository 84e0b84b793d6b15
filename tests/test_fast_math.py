"""The kernels' own exp, tanh and normal distribution (vectorisable
replacements for libm's exp, tanh and erfc) against references in extended
precision: exp and tanh in numpy's long double, the normal tail through
scipy's erfcx. Dense grids over the whole range, the overflow and
underflow bounds, subnormal numbers, zeros, infinities and NaN."""

import numpy as np
import pytest
from scipy.special import erfcx

# The references need a wider type than float64 (x87 extended precision
# on x86-64 Linux; quadruple precision elsewhere).
pytestmark = pytest.mark.skipif(
    np.finfo(np.longdouble).nmant < 63, reason="long double is no wider than double"
)

DTYPES = [np.float32, np.float64]
LD = np.longdouble


def grid(dtype, low, high, specials=()):
    """A dense grid over [low, high], random points, zeros, subnormal and
    tiny numbers of both signs, and ``specials``, all of ``dtype``."""
    info = np.finfo(dtype)
    rng = np.random.default_rng(0)
    values = [
        np.linspace(low, high, 200_001),
        rng.uniform(low, high, 100_000),
        rng.standard_normal(100_000) * 3,
        [0.0, -0.0, info.tiny, info.tiny / 2**10, info.smallest_subnormal],
        [-info.tiny, -info.tiny / 2**10, -info.smallest_subnormal, 1e-3, -1e-3],
        specials,
    ]
    return np.concatenate([np.asarray(v, dtype=np.float64) for v in values]).astype(
        dtype
    )


def apply_elementwise(probes, z, name, identity_layer, width=64):
    """An activation of the kernels of the build ``probes``, applied to
    rows of ``width`` values (1 for infinities and NaN)."""
    return identity_layer(probes, z, name, width=width, derivative=False)[0]


def ulp_errors(got, exact, dtype):
    """|got - exact| in units of the last place of exact rounded to dtype
    (the spacing of subnormal numbers below the normal range)."""
    rounded = exact.astype(dtype)
    spacing = np.spacing(np.abs(rounded)).astype(LD)
    return np.abs(got.astype(LD) - exact) / spacing


def within(got, exact, rtol, floor, scale=None):
    """Whether |got - exact| <= rtol * scale where scale >= floor, and <=
    floor below (scale: |exact| unless given)."""
    exact = np.asarray(exact, dtype=LD)
    scale = np.abs(exact) if scale is None else scale
    allowed = np.where(scale >= floor, rtol * scale, floor)
    return np.all(np.abs(got.astype(LD) - exact) <= allowed)


def normal_cdf_and_density(z):
    """Phi(z) and exp(-z^2 / 2) in long double: the lower tail as
    erfcx(|z| / sqrt 2) exp(-z^2 / 2) / 2, exact to a few ulp of float64 down
    to the smallest numbers (unlike 1 - Phi or a float64 exp of a rounded
    z^2)."""
    z = z.astype(np.float64)
    a = np.abs(z)
    with np.errstate(over="ignore", invalid="ignore"):
        gaussian = np.exp(-(a.astype(LD) ** 2) / 2)
        tail = LD(0.5) * erfcx(a / np.sqrt(2)).astype(LD) * gaussian
    return np.where(z < 0, tail, 1 - tail), gaussian


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_is_within_one_ulp(compiled_probes, identity_layer, dtype):
    # Measured: at most 0.99 ulp in float64 and 1.02 ulp in float32.
    if dtype == np.float64:
        bounds = [709.78, 709.7827, 709.79, -708.39, -745.13, -745.14, 700, -700]
        z = grid(dtype, -760, 720, bounds + [1e4, -1e4])
    else:
        bounds = [88.72, 88.7228, 88.73, -87.33, -103.97, -103.98, 80, -80]
        z = grid(dtype, -110, 100, bounds + [1e4, -1e4])
    got = apply_elementwise(compiled_probes, z, "exp", identity_layer)
    with np.errstate(over="ignore"):
        exact = np.exp(z.astype(LD))
        overflows = exact.astype(dtype) == np.inf
    assert got.dtype == dtype
    np.testing.assert_array_equal(got[overflows], np.inf)
    assert np.all(ulp_errors(got[~overflows], exact[~overflows], dtype) <= 1.1)
    # Results far below the smallest subnormal number are exactly 0.
    assert np.all(got[z < (-746 if dtype == np.float64 else -104)] == 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_special_values(compiled_probes, identity_layer, dtype):
    z = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0], dtype=dtype)
    exp = apply_elementwise(compiled_probes, z, "exp", identity_layer, width=1)
    np.testing.assert_array_equal(exp, np.array([np.nan, np.inf, 0, 1, 1], dtype))
    logistic = apply_elementwise(
        compiled_probes, z, "logistic", identity_layer, width=1
    )
    np.testing.assert_array_equal(logistic, np.array([np.nan, 1, 0, 0.5, 0.5], dtype))
    gelu, gelu_derivative = identity_layer(compiled_probes, z, "gelu", width=1)
    np.testing.assert_array_equal(gelu, np.array([np.nan, np.inf, 0, 0, 0], dtype))
    np.testing.assert_array_equal(
        gelu_derivative, np.array([np.nan, 1, 0, 0.5, 0.5], dtype)
    )
    silu, silu_derivative = identity_layer(compiled_probes, z, "silu", width=1)
    np.testing.assert_array_equal(silu, np.array([np.nan, np.inf, 0, 0, 0], dtype))
    np.testing.assert_array_equal(
        silu_derivative, np.array([np.nan, 1, 0, 0.5, 0.5], dtype)
    )
    tanh, tanh_derivative = identity_layer(compiled_probes, z, "tanh", width=1)
    np.testing.assert_array_equal(tanh, np.array([np.nan, 1, -1, 0, 0], dtype))
    np.testing.assert_array_equal(
        tanh_derivative, np.array([np.nan, 0, 0, 1, 1], dtype)
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_logistic_is_within_a_few_ulp(compiled_probes, identity_layer, dtype):
    z = grid(dtype, -760, 760, [1e4, -1e4, 709.78, -709.78, 88.72, -88.72])
    got = apply_elementwise(compiled_probes, z, "logistic", identity_layer)
    exact = 1 / (1 + np.exp(-z.astype(LD)))
    # Below the normal range (z < -708 or -87), 0 or a value below the
    # smallest normal number: absolute error under tiny.
    assert within(got, exact, 4 * np.finfo(dtype).eps, np.finfo(dtype).tiny)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_is_within_a_few_ulp(compiled_probes, identity_layer, dtype):
    # Measured: at most 2.5 ulp in float64 and 2.2 in float32. Around 20
    # (9.1 in float32) tanh starts to round to 1, and the kernel clamps.
    ends = [19.06, 20, 20.01, 9.01, 9.1, 9.11, 0.3466, 0.35, 1e4]
    z = grid(dtype, -25, 25, ends + [-v for v in ends])
    value, derivative = identity_layer(compiled_probes, z, "tanh")
    exact = np.tanh(z.astype(LD))
    assert np.all(ulp_errors(value, exact, dtype) <= 3)
    # g' = 1 - tanh^2 is read off the value: absolute errors of a few eps.
    eps = np.finfo(dtype).eps
    assert np.all(np.abs(derivative.astype(LD) - (1 - exact**2)) <= 4 * eps)


@pytest.mark.parametrize("dtype", DTYPES)
def test_silu_is_within_a_few_ulp(compiled_probes, identity_layer, dtype):
    z = grid(dtype, -760, 760, [1e4, -1e4, 709.78, -709.78, 88.72, -88.72])
    value, derivative = identity_layer(compiled_probes, z, "silu")
    z_ld = z.astype(LD)
    s = 1 / (1 + np.exp(-z_ld))
    tiny = np.finfo(dtype).tiny
    rtol = 4 * np.finfo(dtype).eps
    # Where s = logistic(z) is below the normal range, its absolute error
    # tiny is multiplied by up to 1 + |z|.
    floor = tiny * (1 + np.abs(z_ld))
    scale = np.where(s >= tiny, np.abs(z_ld * s), 0)
    assert within(value, z_ld * s, rtol, floor, scale)
    # The derivative s + z s (1 - s) crosses 0 near z = -1.28, where its
    # two terms cancel: errors relative to the sum of their magnitudes.
    terms = np.where(s >= tiny, s + np.abs(z_ld * s * (1 - s)), 0)
    assert within(derivative, s + z_ld * s * (1 - s), rtol, floor, terms)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_and_its_derivative(compiled_probes, identity_layer, dtype):
    # The ends of the range where the tail is computed (9 in float64, 6.5
    # in float32), and their neighbours.
    ends = [9, 8.999, 9.001, 6.5, 6.499, 6.501, 13, 38.5]
    specials = [1e4, -0.7518, 5.6] + ends
    z = grid(dtype, -40, 40, specials + [-v for v in specials])
    value, derivative = identity_layer(compiled_probes, z, "gelu")
    cdf, gaussian = normal_cdf_and_density(z)
    z_ld = z.astype(LD)
    density_term = z_ld * gaussian / np.sqrt(2 * LD(np.pi))
    info = np.finfo(dtype)
    # Phi within a few units of the last place of 1, as the erf form
    # 0.5 * (1 + erf(z / sqrt 2)) has it (measured: 2.5 in float64, 1.4 in
    # float32): gelu's errors relative to |z| (to gelu(z) for z > 0, where
    # Phi >= 1/2), and the derivative's absolute, as its terms are below 1.1
    # and cancel near z = -0.75.
    assert within(value, z_ld * cdf, 4 * info.eps, info.tiny, np.abs(z_ld))
    assert within(derivative, cdf + density_term, 4 * info.eps, 0, np.ones_like(z_ld))


def test_log_is_within_one_ulp(compiled_probes):
    # The log loss takes logarithms of probabilities clipped to [eps, 1 -
    # eps]; the function holds for every positive normal number.
    info = np.finfo(np.float64)
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            np.linspace(info.eps, 1, 200_001),
            rng.uniform(0, 1, 100_000),
            np.exp(rng.uniform(-700, 700, 100_000)),
            # Where the reduction changes k, z - 1 is far from 0 or near it.
            np.sqrt(0.5) * np.array([1, 1 + info.eps, 1 - info.eps / 2, 2, 4]),
            2.0 ** np.arange(-1022, 1024),
            1 - info.eps * np.arange(1, 100),
            1 + info.eps * np.arange(0, 100),
            [info.tiny, info.max, info.eps, 1 - info.eps, 0.5],
        ]
    )
    got = np.empty_like(x)
    compiled_probes.log_of_normals(x, got)
    exact = np.log(x.astype(LD))
    # Measured: at most 0.75 ulp (0.81 in the baseline build).
    assert ulp_errors(got, exact, np.float64).max() <= 1
    assert np.all(got[x == 1] == 0)
    nan = np.array([np.nan])
    compiled_probes.log_of_normals(nan, nan)
    assert np.isnan(nan[0])
