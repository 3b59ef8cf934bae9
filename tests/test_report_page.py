"""The report's landing page (report/workflow.rst), rendered as Snakemake renders it."""

import re

import pytest
import yaml
from docutils.core import publish_parts
from jinja2 import Environment

from conftest import REPO

# docutils 0.22 warns about writer_name, which is what snakemake.report passes
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")


def _landing_page_html() -> str:
    class Snakemake:
        config = yaml.safe_load((REPO / "config.yaml").read_text())

    # snakemake.report: jinja over the text (+ link targets of the results), then docutils' html_body
    text = (REPO / "report/workflow.rst").read_text()
    text += "\n\n.. _reproduction.html: #\n.. _Reproduction: #\n.. _rulegraph.svg: #\n"
    rendered = Environment().from_string(text).render(snakemake=Snakemake, categories={}, files={})
    return publish_parts(rendered, writer_name="html")["html_body"]


def test_landing_page_is_top_aligned():
    """Snakemake centres the text and its rule graph vertically in a full-height box; a tall rule
    graph left a blank band above the text (or hid its first lines). The page overrides that."""
    html = _landing_page_html()
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    assert style, "the <style> block did not survive docutils"
    assert re.search(
        r"div\.h-screen\.items-center:has\(div\.document\)\s*\{\s*align-items:\s*flex-start", style[1]
    )
    assert '<div class="document">' in html  # what the selector keys on
    assert "Start here:" in html


def test_landing_page_starts_with_the_text():
    """Nothing visible before the first paragraph (comments and the style block only)."""
    html = _landing_page_html()
    body = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    body = re.sub(r"<!--.*?-->", "", body, flags=re.S)
    first = re.search(r"<(p|h1|h2|div class=\"section\"|table|ul)\b", body)
    assert first and first.group(1) == "p"
    assert "dl-repro</strong> regenerates" in body[first.start() : first.start() + 200]
