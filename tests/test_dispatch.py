"""The builds of the compiled kernels: which one a CPU runs, how the
environment caps it, and that every build trains as MLPClassifier does."""

import os
import platform
import subprocess
import sys

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier
from sklearn_twolayer._cpu_features import supports_x86_64_level

from sklearn_twolayer import TwoLayerClassifier, _fitting, _network
from sklearn_twolayer._dispatch import (
    BUILDS,
    CPU_ENVIRONMENT_VARIABLE,
    choose_build,
    modules_of,
    runnable_builds,
)

# What each level needs, in /proc/cpuinfo's names (the kernel's view of
# CPUID and of the registers the operating system saves).
LEVEL_FLAGS = {
    3: {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"},
    4: {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
}


def cpuinfo_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None


@pytest.mark.skipif(
    platform.machine() != "x86_64" or cpuinfo_flags() is None,
    reason="needs x86-64 Linux",
)
def test_cpu_levels_agree_with_proc_cpuinfo():
    flags = cpuinfo_flags()
    has_v3 = LEVEL_FLAGS[3] <= flags
    assert supports_x86_64_level(3) == has_v3
    assert supports_x86_64_level(4) == (has_v3 and LEVEL_FLAGS[4] <= flags)
    assert not supports_x86_64_level(2) and not supports_x86_64_level(5)


def test_the_widest_runnable_build_is_used_unless_capped():
    builds = runnable_builds()
    assert builds[0] == "baseline"
    assert builds == [name for name in BUILDS if name in builds]
    assert choose_build() == builds[-1]
    assert choose_build("baseline") == "baseline"
    for cap in BUILDS:
        allowed = list(BUILDS)[: list(BUILDS).index(cap) + 1]
        assert choose_build(cap) == [b for b in builds if b in allowed][-1]


def test_an_unknown_cap_is_refused_with_the_valid_names():
    with pytest.raises(ValueError, match=CPU_ENVIRONMENT_VARIABLE) as error:
        choose_build("sse9")
    for name in BUILDS:
        assert repr(name) in str(error.value)
    with pytest.raises(ValueError, match="does not run"):
        modules_of("sse9")


@pytest.mark.parametrize("cap", [None, *BUILDS])
def test_the_environment_variable_caps_the_build_of_a_new_process(cap):
    env = {k: v for k, v in os.environ.items() if k != CPU_ENVIRONMENT_VARIABLE}
    if cap is not None:
        env[CPU_ENVIRONMENT_VARIABLE] = cap
    # -P: a source folder in the current directory must not shadow the
    # installed package.
    code = (
        "from sklearn_twolayer import _dispatch, _fitting, _network;"
        "print(_dispatch.BUILD, _fitting.Trainer.__module__.rpartition('.')[2],"
        " _network._compiled_forward.__name__.rpartition('.')[2])"
    )
    out = subprocess.run(
        [sys.executable, "-P", "-c", code], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    build, trainer_module, forward_module = out.stdout.split()
    assert build == choose_build(cap)
    suffix = BUILDS[build][0]
    assert trainer_module == f"_trainer{suffix}"
    assert forward_module == f"_forward{suffix}"


def test_a_misspelt_environment_variable_stops_the_import_with_its_remedy():
    env = dict(os.environ, **{CPU_ENVIRONMENT_VARIABLE: "AVX512"})
    out = subprocess.run(
        [sys.executable, "-P", "-c", "import sklearn_twolayer"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "unset it" in out.stderr and "'avx512'" in out.stderr


@pytest.mark.parametrize("build", runnable_builds())
@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_build_follows_mlpclassifier(
    monkeypatch, fit_quietly, digits_split, build, activation, dtype
):
    # The wider builds fuse multiply-adds and vectorise the activations,
    # so their last bits differ from the baseline's: each must still track
    # MLPClassifier from the same start to round-off (float64), or to
    # float32's precision.
    forward, trainer = modules_of(build)
    monkeypatch.setattr(_fitting, "Trainer", trainer.Trainer)
    monkeypatch.setattr(_network, "_compiled_forward", forward)
    X_train, X_test, y_train, _ = digits_split
    params = dict(random_state=3, max_iter=4, activation=activation, batch_size=64)
    ours = fit_quietly(
        TwoLayerClassifier(n_hidden=40, **params), X_train.astype(dtype), y_train
    )
    theirs = fit_quietly(
        MLPClassifier(hidden_layer_sizes=(40,), **params), X_train, y_train
    )
    rtol, atol = (1e-9, 1e-12) if dtype == np.float64 else (2e-3, 2e-4)
    for mine, reference in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_
    ):
        np.testing.assert_allclose(mine, reference, rtol=rtol, atol=atol)
    np.testing.assert_allclose(
        ours.predict_proba(X_test.astype(dtype)),
        theirs.predict_proba(X_test),
        rtol=rtol,
        atol=atol,
    )
