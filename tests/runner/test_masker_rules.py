"""The one masker's rules (kflow.masking), on plain strings: every form a secret takes in a log."""

from __future__ import annotations

from kflow.masking import MASK, Masker


def masker(*values: str) -> Masker:
    m = Masker()
    for value in values:
        m.add(value)
    return m


def test_a_trailing_newline_is_masked_with_and_without_it():
    m = masker("hunter2-long\n")  # what `echo x | base64` then decoding gives
    assert m.mask("pw=hunter2-long end") == f"pw={MASK} end"
    assert m.mask("hunter2-long\n") == MASK


def test_each_line_of_a_pem_is_masked_on_its_own():
    pem = "-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf\n9Cnzj4p4WGeKLs1Pt8Qu\n-----END KEY-----\n"
    m = masker(pem)
    for line in pem.strip().splitlines():
        assert m.mask(f"log: {line}") == f"log: {MASK}"


def test_repr_and_json_escaped_forms_are_masked():
    m = masker("tab\there\nnewline")
    assert m.mask(repr("tab\there\nnewline")) == f"'{MASK}'"
    assert m.mask('{"v": "tab\\there\\nnewline"}') == f'{{"v": "{MASK}"}}'


def test_short_values_are_masked_only_as_whole_words():
    m = masker("ab")
    assert m.mask("ab") == MASK
    assert m.mask("x ab, y") == f"x {MASK}, y"
    assert m.mask("abc cab tab_ab") == "abc cab tab_ab"


def test_output_keys_are_never_rewritten_but_a_key_that_is_a_whole_secret_is():
    m = masker("a", "long-secret-1")
    data = {"value": "a", "name": "a b", "long-secret-1": 1, "nested": {"data": ["long-secret-1!"]}}
    assert m.mask_value(data) == {"value": MASK, "name": f"{MASK} b", MASK: 1, "nested": {"data": [f"{MASK}!"]}}


def test_nothing_registered_changes_nothing():
    assert Masker().mask("anything") == "anything"
    m = masker("", "  \n")  # blank values are not secrets to mask
    assert m.mask("a b") == "a b"
