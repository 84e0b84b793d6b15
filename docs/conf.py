"""Sphinx configuration of the sklearn-twolayer documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html`` (``.ci/docs``
installs what it needs and checks the result). The package must be
installed: the API pages, the examples and the version all come from it.
"""

import os
import re

from sphinx_gallery.sorting import ExplicitOrder

import sklearn_twolayer
from sklearn_twolayer._doc_links import documentation_url

project = "sklearn-twolayer"
author = "The sklearn-twolayer developers"
copyright = "The sklearn-twolayer developers"
release = version = sklearn_twolayer.__version__

# The documentation's address, written once in pyproject.toml (none while
# the site is only built locally).
html_baseurl = documentation_url() or ""

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
    # MathJax shipped with the site, so that equations render offline too.
    "sphinx-mathjax-offline",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "examples/README.rst"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"

# Equations are numbered per page; :eq:`label` refers to them.
math_number_all = False
math_eqref_format = "({number})"

autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-twolayer {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sg_download_links", "sg_launcher_links"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_sidebars = {"index": [], "install": [], "changelog": []}
html_show_sourcelink = False

# Each example runs at build time and its figures are drawn then; a failing
# example fails the build.
sphinx_gallery_conf = {
    "examples_dirs": ["examples"],
    "gallery_dirs": ["auto_examples"],
    "subsection_order": ExplicitOrder(["examples"]),
    # From a first model to the details, then the comparisons.
    "within_subsection_order": ExplicitOrder(
        [
            "plot_quick_start.py",
            "plot_algorithm.py",
            "plot_decision_boundary.py",
            "plot_training_curves.py",
            "plot_grid_search.py",
            "plot_regressor_losses.py",
            "plot_hidden_features.py",
            "plot_autoencoder.py",
            "plot_compare_mlpclassifier.py",
            "plot_thread_scaling.py",
            "*",
        ]
    ),
    "filename_pattern": r"/plot_",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "doc_module": ("sklearn_twolayer",),
    "backreferences_dir": os.path.join("api", "generated", "backreferences"),
    "reference_url": {"sklearn_twolayer": None},
    "remove_config_comments": True,
    "show_memory": False,
    "matplotlib_animations": False,
    "download_all_examples": False,
}


# Docstrings inherited from scikit-learn (score, get_metadata_routing, the
# set_*_request methods) refer to labels and glossary terms of scikit-learn's
# own documentation; here they become plain text.
_SKLEARN_ROLE = re.compile(r":(?:ref|term):`([^`<]*?)\s*(?:<([^>`]*)>)?`")

# A shape such as ``(n_features_in_,)`` names a fitted attribute, whose
# trailing underscore reStructuredText would read as a link.
_SHAPE = re.compile(r"of shape \(([^)]*)\)")
_ATTRIBUTE = re.compile(r"(?<![`\w])(\w+_)(?![`\w])")


def _adapt_docstring(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", None) or ""
    for i, line in enumerate(lines):
        if module.startswith("sklearn."):
            line = _SKLEARN_ROLE.sub(lambda m: m[1] or m[2], line)
        lines[i] = _SHAPE.sub(
            lambda m: "of shape (" + _ATTRIBUTE.sub(r"`\1`", m[1]) + ")", line
        )


def setup(app):
    app.connect("autodoc-process-docstring", _adapt_docstring)
