"""The address of each estimator's API page, for the "?" link of its HTML
representation in notebooks.

The documentation's base address is written once, as the "Documentation"
URL of ``[project.urls]`` in pyproject.toml; it is read here from the
installed package's metadata. An estimator links to its page with::

    _doc_link_module = DOC_LINK_MODULE
    _doc_link_template = DOC_LINK_TEMPLATE
"""

from importlib.metadata import PackageNotFoundError, metadata

__all__ = ["DOC_LINK_MODULE", "DOC_LINK_TEMPLATE", "documentation_url"]


def documentation_url():
    """The documentation's base address, ending with "/", or None when the
    package metadata does not give one."""
    try:
        entries = metadata("sklearn-twolayer").get_all("Project-URL") or []
    except PackageNotFoundError:
        return None
    for entry in entries:
        label, _, url = entry.partition(",")
        if label.strip() == "Documentation" and url.strip():
            return url.strip().rstrip("/") + "/"
    return None


#: Estimators of this package link to their API page (others, such as a
#: Pipeline holding them, keep scikit-learn's links).
DOC_LINK_MODULE = "sklearn_twolayer"

#: Where the API pages are: ``estimator_module`` is the public module of the
#: estimator (``sklearn_twolayer``), ``estimator_name`` its class name. Empty
#: (no link) without a documentation address.
DOC_LINK_TEMPLATE = (
    ""
    if documentation_url() is None
    else documentation_url() + "api/generated/{estimator_module}.{estimator_name}.html"
)
