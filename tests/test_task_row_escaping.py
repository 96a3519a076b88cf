"""A task row escapes its texts as Jinja's autoescape would (app.web.task_row_html)."""

import pytest
from markupsafe import Markup, escape

from app.web.task_row_html import _escaped


@pytest.mark.parametrize("value", [
    "", "plain", "<script>alert('x')</script>", 'Rita "R" & <i>', "é ü 中文 \u2028",
    "&amp; already an entity", 42, None,
])
def test_a_text_is_escaped_exactly_as_markupsafe_escapes_it(value: object):
    assert _escaped(value) == str(escape(value))
    assert type(_escaped(value)) is str


def test_markup_passes_as_is_and_is_not_escaped_twice():
    assert _escaped(Markup("<b>bold</b>")) == "<b>bold</b>"
    assert _escaped(escape("a & b")) == "a &amp; b"
