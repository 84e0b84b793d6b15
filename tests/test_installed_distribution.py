"""The installed distribution (a wheel, or ``pip install .``) is complete:
compiled kernels, every Python module, and the optional extras."""

import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import os
import pkgutil
import subprocess
import sys

import pytest
from sklearn_twolayer._openmp_helpers import openmp_enabled

import sklearn_twolayer
from sklearn_twolayer._dispatch import BUILDS, runnable_builds

EXTENSIONS = [
    "_cpu_features",
    "_forward",
    "_openmp_helpers",
    "_trainer",
]

#: The test-only extension, built with -Csetup-args=-Dkernel_probes=true.
PROBES = "_kernel_probes"

#: Set by the CI job that tests the wheel, which is built without PROBES.
TESTING_WHEEL = "SKLEARN_TWOLAYER_TESTING_WHEEL"


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
    # A build for a CPU level this machine lacks may not even import here.
    runnable = runnable_builds()
    other_levels = tuple(
        suffix for build, (suffix, _) in BUILDS.items() if build not in runnable
    )
    for name in sorted(found - {"__main__"}):
        if other_levels and name.endswith(other_levels):
            continue
        importlib.import_module(f"sklearn_twolayer.{name}")


def test_optional_extras_are_declared(distribution):
    extras = set(distribution.metadata.get_all("Provides-Extra"))
    assert {"dask", "onnx", "skops", "plot", "test"} <= extras
    assert distribution.version == sklearn_twolayer.__version__


def test_the_kernel_probes_are_in_the_test_build_and_not_in_the_wheel():
    """The kernel tests skip without the probes: this test fails instead
    when a test build lacks them, and when a wheel has them."""
    installed = importlib.util.find_spec(f"sklearn_twolayer.{PROBES}") is not None
    if os.environ.get(TESTING_WHEEL):
        assert not installed, "the wheel ships the test-only kernel probes"
    else:
        assert installed, (
            'install the package for the tests with pip install ".[test]" '
            "-Csetup-args=-Dkernel_probes=true"
        )


def _extension_name(filename):
    """The module name of an extension module's file, or None."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if filename.endswith(suffix):
            return filename[: -len(suffix)]
    return None


def _without_cpu_level(name):
    for level in ("_avx2", "_avx512"):
        if name.endswith(level):
            return name[: -len(level)]
    return name


def test_the_package_imports_every_extension_module_it_ships(distribution):
    """Fitting and predicting load every compiled module of the package (of
    one CPU level; the others replace it on other CPUs): nothing ships that
    only the tests use."""
    shipped = {
        _without_cpu_level(name)
        for name in (
            _extension_name(str(path)[len("sklearn_twolayer/") :])
            for path in distribution.files
            if str(path).startswith("sklearn_twolayer/")
        )
        if name is not None and "/" not in name
    }
    script = """
import sys
import numpy as np
import scipy.sparse as sp
import sklearn_twolayer as st
X = np.random.default_rng(0).standard_normal((60, 5))
for model, y in [(st.TwoLayerClassifier(max_iter=2), X[:, 0] > 0),
                 (st.TwoLayerRegressor(max_iter=2), X[:, 0])]:
    for data in (X, sp.csr_matrix(X)):
        model.fit(data, y).predict(data)
print(" ".join(sorted(
    name.rpartition(".")[2] for name, module in sys.modules.items()
    if name.startswith("sklearn_twolayer.")
    and (getattr(module, "__file__", None) or "").endswith(".so")
)))
"""
    result = subprocess.run(
        [sys.executable, "-P", "-W", "ignore", "-c", script],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = {_without_cpu_level(name) for name in result.stdout.split()}
    assert shipped - {PROBES} == loaded
