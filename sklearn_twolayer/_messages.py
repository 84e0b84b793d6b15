"""Values as error messages show them: as a user wrote them, never as
NumPy's reprs (``np.str_('a')``, ``np.float64(1.5)``)."""

import numpy as np


def plain(value):
    """``value`` with NumPy scalars and arrays turned into Python objects
    (lists for arrays), inside lists, tuples and sets too."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(plain(item) for item in value)
    return value


def shown(value):
    """The repr of ``value`` as a user wrote it: ``'a'`` for ``np.str_('a')``,
    ``1.5`` for ``np.float64(1.5)``, ``[0, 1]`` for an array."""
    return repr(plain(value))
