"""The one jinja environment: the only one in the package, strict, autoescaping, with one set of filters."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest
from conftest import REPO

from eitest.outputs import templating
from eitest.outputs.templating import environment, render

PACKAGE = REPO / "eitest"


def test_the_one_environment_is_the_only_one_in_the_package():
    # Any construction of a jinja Environment, whatever the import style (jinja2.Environment, from jinja2 import ...).
    pattern = re.compile(r"\bEnvironment\s*\(|from\s+jinja2\s+import")
    found = {
        str(path.relative_to(REPO)): len(pattern.findall(path.read_text(encoding="utf-8")))
        for path in PACKAGE.rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    }
    assert found == {"eitest/outputs/templating.py": 1}


def test_environment_is_built_once_and_holds_every_template():
    env = environment()
    assert environment() is env
    assert sorted(env.list_templates()) == [
        "comparison_report.html.j2",
        "distributions.html.j2",
        "forms_report.html.j2",
        "irt_section.html.j2",
        "memorisation.html.j2",
        "replication.html.j2",
        "report.html.j2",
        "survey.html.j2",
    ]
    for name in env.list_templates():
        env.get_template(name)  # each compiles under the one set of options and filters
    assert set(templating.FILTERS) <= set(env.filters)


def test_autoescape_everywhere_and_undefined_is_an_error():
    env = environment()
    hostile = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    page = env.from_string("<p>{{ text }}</p><p title='{{ text }}'></p>").render(text=hostile)
    assert "<script>" not in page and "<img" not in page
    assert page.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;") == 2
    with pytest.raises(jinja2.UndefinedError, match="'tpyo' is undefined"):
        env.from_string("{{ tpyo }}").render(typo=1)


def test_render_uses_the_templates_folder():
    with pytest.raises(jinja2.TemplateNotFound):
        render("no-such-page.html.j2")


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("num", (0.12345,), "0.12"),
        ("num", (0.12345, 3), "0.123"),
        ("num", (-3.0, 1), "-3.0"),
        ("num", (math.nan,), "—"),
        ("num", (None,), "—"),
        ("pct", (0.8125,), "81.2%"),
        ("pct", (0.81, 0), "81%"),
        ("prop", (0.456,), ".46"),
        ("prop", (-0.12,), "-.12"),
        ("pval", (0.0213,), "p = .021"),
        ("pval", (0.0004,), "p < .001"),
        ("pval", (math.nan,), "n/a"),
        ("p_cell", (0.0213,), "= .021"),
        ("p_cell", (0.0004,), "< .001"),
        ("p_cell", (0.9995,), "> .999"),
        ("p_cell", (math.nan,), "—"),
        ("p_cell", (None,), "—"),
        ("money", (0.012345,), "$0.0123"),
        ("money", (None,), "unknown"),
        ("money", (math.nan,), "unknown"),
        ("short", ("0123456789abcdef",), "0123456789ab"),
        ("short", ("0123456789abcdef", 7), "0123456"),
        ("short", (None,), ""),
    ],
)
def test_filters(name: str, args: tuple, expected: str):
    assert templating.FILTERS[name](*args) == expected
    # and the same through a template, as the pages use them
    call = f"{{{{ x | {name}({', '.join(map(repr, args[1:]))}) }}}}" if len(args) > 1 else f"{{{{ x | {name} }}}}"
    assert environment().from_string(call).render(x=args[0]) == expected.replace("<", "&lt;").replace(">", "&gt;")


def test_a_page_without_statistics_renders_without_scipy_or_pandas(tmp_path: Path):
    # The filters import eitest.stats (scipy, pandas) only when they format a number: the survey page needs none.
    code = (
        "import sys; from eitest.instruments import catalogue; from eitest.human.survey import html_page; "
        "page = html_page(catalogue()['open-steu']); "
        "print(len(page) > 1000, sorted({'scipy', 'pandas', 'numpy', 'statsmodels'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "True []"
