"""The build of the compiled kernels this process runs.

The modules with the element loops of training and prediction
(``_forward`` and ``_trainer``) are built for the x86-64 baseline and, where
the compiler can, once more for AVX2 (suffix ``_avx2``) and for AVX-512
(``_avx512``); see ``src/meson.build``. The widest build that was compiled
and that this CPU runs is imported once, when the package is.

The environment variable ``SKLEARN_TWOLAYER_CPU`` caps the choice at a
narrower build ("baseline", "avx2" or "avx512"): to compare builds, or to
reproduce a fit bit for bit on another CPU (the wider builds fuse multiply
and add, so their last bits can differ from the baseline's).
"""

import functools
import importlib
import os

from ._cpu_features import supports_x86_64_level

#: The environment variable that caps the build.
CPU_ENVIRONMENT_VARIABLE = "SKLEARN_TWOLAYER_CPU"

#: The builds from narrowest to widest: name -> (module suffix, x86-64 level
#: the CPU must support, or None for the baseline).
BUILDS = {
    "baseline": ("", None),
    "avx2": ("_avx2", 3),
    "avx512": ("_avx512", 4),
}


def _import_build(module, build):
    return importlib.import_module(f".{module}{BUILDS[build][0]}", __package__)


def runnable_builds():
    """The builds that were compiled and that this CPU runs, narrowest
    first."""
    return list(_runnable_builds())


@functools.cache
def _runnable_builds():
    # Asked once: the CPU and the installed modules do not change.
    builds = []
    for name, (_, level) in BUILDS.items():
        if level is not None and not supports_x86_64_level(level):
            continue
        try:
            _import_build("_trainer", name)
        except ImportError:  # not compiled (another CPU family or compiler)
            continue
        builds.append(name)
    return tuple(builds)


def choose_build(cap=None):
    """The widest runnable build no wider than ``cap``.

    Parameters
    ----------
    cap : {"baseline", "avx2", "avx512"} or None
        None: no cap.

    Returns
    -------
    str
    """
    if cap is not None and cap not in BUILDS:
        raise ValueError(
            f"{CPU_ENVIRONMENT_VARIABLE}={cap!r} is not one of "
            f"{', '.join(map(repr, BUILDS))}; unset it to use the widest "
            "build this CPU runs."
        )
    allowed = (
        list(BUILDS) if cap is None else list(BUILDS)[: list(BUILDS).index(cap) + 1]
    )
    return [name for name in runnable_builds() if name in allowed][-1]


#: The build in use, and its modules.
BUILD = choose_build(os.environ.get(CPU_ENVIRONMENT_VARIABLE) or None)
forward = _import_build("_forward", BUILD)
trainer = _import_build("_trainer", BUILD)


def modules_of(build):
    """``(forward, trainer)`` modules of a runnable build (for tests and
    benchmarks that compare builds)."""
    if build not in runnable_builds():
        raise ValueError(f"the {build!r} build does not run on this machine")
    return _import_build("_forward", build), _import_build("_trainer", build)
