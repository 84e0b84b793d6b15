# Inverted dropout on the hidden layer, with masks that are never stored.
#
# Whether unit j of sample s is kept at optimizer step t follows from a
# counter-based hash of (seed, t, s, j): any thread recomputes the same
# mask for the same sample, whatever rows it was given, so a fit with
# dropout is bitwise the same for any number of threads, and the backward
# pass recomputes the forward pass's mask instead of keeping it.

from cython cimport floating

from _activations cimport multiply_by_slope

ctypedef unsigned long long uint64

cdef enum:
    # Uniform numbers have 53 bits, as a double's mantissa.
    UNIFORM_BITS = 53


cdef inline uint64 mix64(uint64 z) noexcept nogil:
    """A bijective 64-bit finaliser: every input bit flips about half of
    the output bits (the splitmix64 mixing function)."""
    z = (z ^ (z >> 30)) * <uint64> 0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <uint64> 0x94D049BB133111EB
    return z ^ (z >> 31)


cdef inline uint64 row_key(uint64 seed, uint64 step, uint64 sample) noexcept nogil:
    """The hash state of one sample at one step; units are hashed from it."""
    return mix64(seed + mix64(step * <uint64> 0x9E3779B97F4A7C15 + sample))


cdef inline bint keeps(uint64 key, uint64 unit, uint64 threshold) noexcept nogil:
    """Whether the unit is kept: its uniform draw in [0, 2**53) is at least
    ``threshold`` (the dropout rate times 2**53)."""
    return (mix64(key + (unit + 1) * <uint64> 0x9E3779B97F4A7C15)
            >> (64 - UNIFORM_BITS)) >= threshold


cdef inline uint64 rate_threshold(double rate) noexcept nogil:
    return <uint64> (rate * (<uint64> 1 << UNIFORM_BITS))


cdef inline void drop_units(
    floating* hidden,
    Py_ssize_t n_units,
    uint64 key,
    uint64 threshold,
    floating scale,
) noexcept nogil:
    """One sample's hidden activations: dropped units become 0, kept ones
    are multiplied by ``scale = 1 / (1 - rate)`` (inverted dropout, so
    prediction needs no rescaling)."""
    cdef Py_ssize_t j
    for j in range(n_units):
        if keeps(key, j, threshold):
            hidden[j] *= scale
        else:
            hidden[j] = 0


cdef inline void dropout_derivative(
    floating* delta,
    const floating* dropped_hidden,
    const floating* derivative,
    Py_ssize_t n_units,
    int activation,
    uint64 key,
    uint64 threshold,
    floating scale,
) noexcept nogil:
    """delta *= d(dropped hidden)/dZ1 for one sample: 0 for a dropped unit,
    ``scale * g'(Z1)`` for a kept one, with g' as the forward pass wrote it
    (``derivative``), or, when that is NULL, read off the activation before
    it was scaled (``dropped_hidden / scale``; a dropped unit's 0 gives a
    finite g', which multiplies a 0)."""
    cdef Py_ssize_t j
    cdef floating one = 1
    for j in range(n_units):
        delta[j] = scale * delta[j] if keeps(key, j, threshold) else 0
    multiply_by_slope(delta, derivative, dropped_hidden, n_units, activation,
                      one / scale)
