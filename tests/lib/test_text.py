"""Text for one line of a file: every line breaker and control character refused, once."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from contrail_common.testing_hostile import BREAKERS, CONTROLS, PROPERTY_SETTINGS
from contrail_common.text import Text, check_strings, check_text


def breaks_or_controls(text: str) -> bool:
    """The oracle, from Unicode itself: categories Cc, Cs, Zl, Zp, or a split by splitlines."""
    return any(
        unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") or len(f"a{c}b".splitlines()) > 1
        for c in text
    )


class Sample(BaseModel):
    value: Text = ""


@pytest.mark.parametrize("character", [*BREAKERS, *CONTROLS, "\ud800"])
def test_every_line_breaker_and_control_character_is_refused(character):
    with pytest.raises(ValueError, match=f"U\\+{ord(character):04X}"):
        check_text(f"a{character}b")
    with pytest.raises(ValidationError):
        Sample(value=f"a{character}b")


def test_splitlines_breakers_are_all_refused():
    for code in range(0x110000):
        character = chr(code)
        if len(f"a{character}b".splitlines()) > 1:
            with pytest.raises(ValueError):
                check_text(character)


@PROPERTY_SETTINGS
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=())))
def test_refused_exactly_when_unicode_says_so(text):
    try:
        check_text(text)
        refused = False
    except ValueError as error:
        refused = True
        assert text not in str(error) or not text, "the message never holds the value"
    assert refused == breaks_or_controls(text)


def test_printable_text_passes():
    for text in ("", "a b", "é€😀", "${HOME}", "a=b", "#x", "\u00a0\ufeff", '"quoted"'):
        assert check_text(text) == text


def test_strings_inside_lists_and_dicts_keys_included():
    assert check_strings({"a": ["b", 1, None], "c": {"d": "e"}}) == {
        "a": ["b", 1, None],
        "c": {"d": "e"},
    }
    for value in (["ok", "x\x85"], {"x\n": "v"}, {"k": {"n": ("x\u2028",)}}):
        with pytest.raises(ValueError):
            check_strings(value)
