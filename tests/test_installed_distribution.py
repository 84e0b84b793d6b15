"""The installed distribution (a wheel, or ``pip install .``) is complete:
compiled kernels, every Python module, and the optional extras."""

import importlib
import importlib.metadata
import json
import pkgutil

import pytest
from sklearn_twolayer._openmp_helpers import openmp_enabled

import sklearn_twolayer

EXTENSIONS = [
    "_backward",
    "_forward",
    "_openmp_helpers",
    "_optimizers",
    "_trainer",
]


@pytest.fixture(scope="module")
def distribution():
    dist = importlib.metadata.distribution("sklearn-twolayer")
    direct_url = json.loads(dist.read_text("direct_url.json") or "{}")
    if direct_url.get("dir_info", {}).get("editable", False):
        pytest.skip("an editable install ships no files of its own")
    return dist


def test_wheel_ships_the_compiled_kernels(distribution):
    files = [str(path) for path in distribution.files]
    for name in EXTENSIONS:
        shipped = [
            path
            for path in files
            if path.startswith(f"sklearn_twolayer/{name}.") and path.endswith(".so")
        ]
        assert len(shipped) == 1, (name, shipped)
    # Sources stay out of the wheel: it runs without a compiler or Cython.
    assert not [path for path in files if path.endswith((".pyx", ".pxd", ".c"))]
    assert openmp_enabled()


def test_every_module_of_the_package_imports(distribution):
    shipped = {
        str(path)[len("sklearn_twolayer/") :].split(".")[0]
        for path in distribution.files
        if str(path).startswith("sklearn_twolayer/")
        and str(path).endswith((".py", ".so"))
        and "/" not in str(path)[len("sklearn_twolayer/") :]
    }
    found = {module.name for module in pkgutil.iter_modules(sklearn_twolayer.__path__)}
    assert shipped - {"__init__"} == found
    assert set(EXTENSIONS) <= found
    for name in sorted(found - {"__main__"}):
        importlib.import_module(f"sklearn_twolayer.{name}")


def test_optional_extras_are_declared(distribution):
    extras = set(distribution.metadata.get_all("Provides-Extra"))
    assert {"dask", "onnx", "skops", "plot", "test"} <= extras
    assert distribution.version == sklearn_twolayer.__version__
