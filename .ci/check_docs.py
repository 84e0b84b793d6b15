"""Checks of the documentation, called by .ci/docs.

python .ci/check_docs.py built docs            every example ran and drew
python .ci/check_docs.py readme README.md      each Python snippet runs
python .ci/check_docs.py screenshots HTML_DIR  two pages render, titled
"""

import html.parser
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# The pages looked at in a browser, with the title each must show.
PAGES = {
    "home": ("index.html", "sklearn-twolayer"),
    "example": ("auto_examples/plot_quick_start.html", "Quick start"),
}


def check_built(docs):
    """Every example in docs/examples ran and drew at least one figure, and
    each estimator's API page exists where its HTML repr links to."""
    docs = Path(docs)
    html_dir = docs / "_build" / "html"
    examples = sorted((docs / "examples").glob("plot_*.py"))
    assert examples, "no examples found"
    for example in examples:
        page = html_dir / "auto_examples" / f"{example.stem}.html"
        assert page.exists(), f"{page} was not built"
        figures = list(
            (docs / "auto_examples" / "images").glob(f"sphx_glr_{example.stem}_*.png")
        )
        assert figures, f"{example.name} drew no figure"
    print(f"{len(examples)} examples ran and drew their figures")
    check_doc_links(html_dir)


def check_doc_links(html_dir):
    """Each public estimator has an API page; the "?" link of its HTML
    representation points at it when the package names a documentation
    address, and is off (no link to a site that does not exist) when not."""
    from sklearn.base import BaseEstimator

    import sklearn_twolayer
    from sklearn_twolayer._doc_links import DOC_LINK_TEMPLATE, documentation_url

    base = documentation_url()
    for name in sklearn_twolayer.__all__:
        cls = getattr(sklearn_twolayer, name)
        if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
            continue
        page = html_dir / f"api/generated/sklearn_twolayer.{name}.html"
        assert page.exists(), f"{name}: no API page {page}"
        link = cls()._get_doc_link()
        url = ""
        if base is not None:
            url = base + str(page.relative_to(html_dir))
            assert DOC_LINK_TEMPLATE.format(
                estimator_module="sklearn_twolayer", estimator_name=name
            ) == url, DOC_LINK_TEMPLATE
        assert link == url, f"{name} links to {link!r}, not to {url!r}"
        print(
            f"{name}: API page {page.relative_to(html_dir)}; link {link or 'not set'}"
        )


def check_readme(readme):
    """Run each ```python block of the README exactly as written, as a
    script of its own, in an empty folder."""
    text = Path(readme).read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    assert blocks, "no Python blocks in the README"
    for number, block in enumerate(blocks, 1):
        first_line = block.strip().splitlines()[0]
        with tempfile.TemporaryDirectory() as folder:
            script = Path(folder) / f"readme_snippet_{number}.py"
            script.write_text(block)
            result = subprocess.run(
                [sys.executable, script.name],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=600,
                env={**os.environ, "MPLBACKEND": "Agg"},
            )
        if result.returncode != 0:
            sys.exit(f"README snippet {number} ({first_line}) failed:\n{result.stderr}")
        output = result.stdout.strip().splitlines()
        print(f"README snippet {number} ran: {first_line}")
        if output:
            print(f"    printed: {output[-1][:100]}")


class _Titles(html.parser.HTMLParser):
    """The <title> and the first <h1> of a page's text."""

    def __init__(self):
        super().__init__()
        self.title = self.h1 = ""
        self._in = None

    def handle_starttag(self, tag, attrs):
        if tag == "title" or (tag == "h1" and not self.h1):
            self._in = tag

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "title":
            self.title += data
        elif self._in == "h1":
            self.h1 += data


def _chromium(*arguments):
    command = [
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--virtual-time-budget=10000",
        *arguments,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


def _ink(image):
    """Share of pixels that differ clearly from the page's background (its
    most common colour), overall and in the top 300 rows."""
    import numpy as np

    pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    colours, counts = np.unique(pixels.reshape(-1, 3), axis=0, return_counts=True)
    background = colours[np.argmax(counts)]
    ink = np.abs(pixels - background).sum(axis=2) > 60
    return ink.mean(), ink[:300].mean()


def check_screenshots(html_dir):
    from PIL import Image

    html_dir = Path(html_dir).resolve()
    out = html_dir.parent / "screenshots"
    out.mkdir(exist_ok=True)
    for name, (page, title) in PAGES.items():
        url = (html_dir / page).as_uri()
        png = out / f"{name}.png"
        png.unlink(missing_ok=True)
        result = _chromium("--window-size=1280,1000", f"--screenshot={png}", url)
        assert png.exists(), f"no screenshot of {page}:\n{result.stderr[-2000:]}"
        overall, top = _ink(Image.open(png))
        assert overall > 0.01 and top > 0.005, (
            f"the screenshot of {page} is blank ({overall:.2%} of its pixels "
            f"drawn, {top:.2%} near the top)"
        )
        dom = _chromium("--dump-dom", url).stdout
        titles = _Titles()
        titles.feed(dom)
        heading = " ".join(titles.h1.split()).rstrip("#").strip()
        assert title in titles.title, f"{page}: title {titles.title!r}, not {title!r}"
        assert heading == title, f"{page}: heading {heading!r}, not {title!r}"
        print(
            f"{name}: {png} ({overall:.1%} of the pixels drawn), "
            f"title {titles.title.strip()!r}, heading {heading!r}"
        )


if __name__ == "__main__":
    command, argument = sys.argv[1:]
    {"built": check_built, "readme": check_readme, "screenshots": check_screenshots}[
        command
    ](argument)
