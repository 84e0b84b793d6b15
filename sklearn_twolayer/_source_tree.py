"""A clear error for a package imported without its build products.

The source folder ``sklearn_twolayer/`` holds the Python modules but neither
the compiled kernels nor the generated ``_version.py``: they exist only in an
installed (or editable) package. Python finds the source folder first when
it runs from the root of a clone, since the working directory leads
``sys.path``.
"""

import os

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _is_build_product(error):
    """Whether ``error`` is a module of this package that only a build makes
    (no such ``.py`` file in the folder)."""
    package, _, module = (error.name or "").rpartition(".")
    if package != __package__ or not module:
        return False
    return not os.path.exists(os.path.join(_PACKAGE_DIR, module + ".py"))


def raise_if_not_built(error):
    """Raise an ImportError that says what to do if ``error`` (a
    ModuleNotFoundError met while importing the package) means the package
    was imported unbuilt; return otherwise, for the caller to re-raise."""
    if not _is_build_product(error):
        return
    root = os.path.dirname(_PACKAGE_DIR)
    if os.path.exists(os.path.join(root, "meson.build")):
        where = (
            f"{__package__} was imported from its source folder {_PACKAGE_DIR}, "
            f"which has no compiled extensions ({error.name} is missing): "
            "Python looks in the current folder first. Install the package "
            "(pip install .) and run Python from another folder, or keep the "
            "current folder off the path with `python -P` (as in "
            "`python -P -m sklearn_twolayer`), or use the `sklearn-twolayer` "
            "command; for development, `pip install --no-build-isolation -e .` "
            "builds the extensions and imports them from anywhere."
        )
    else:
        where = (
            f"{__package__} at {_PACKAGE_DIR} is incomplete ({error.name} is "
            "missing): reinstall it with pip."
        )
    raise ImportError(where, name=error.name) from None
