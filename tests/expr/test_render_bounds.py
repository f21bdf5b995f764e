"""Adversarial renders (issue 12): every way to build a huge string or spin a regex is refused
with the bound named, before the string is built, and within the render deadline."""

from __future__ import annotations

import resource
import threading
import time

import pytest

from kflow.expr import ExpressionError, limits, render

BIG = limits.MAX_STRING


def _refused(template: str, *words: str, context: dict | None = None) -> str:
    with pytest.raises(ExpressionError) as info:
        render(template, context or {})
    for word in words:
        assert word in info.value.message, info.value.message
    return info.value.message


@pytest.mark.parametrize("template, words", [
    ("{{ 'x'.ljust(2000000000) }}", ("ljust() result exceeds",)),
    ("{{ 'x'.rjust(2000000000, '-') }}", ("rjust() result exceeds",)),
    ("{{ 'x'.center(2000000000) }}", ("center() result exceeds",)),
    ("{{ 'x'.zfill(2000000000) }}", ("zfill() result exceeds",)),
    ("{{ ('\t' * 1000).expandtabs(100000) }}", ("expandtabs() result exceeds",)),
    ("{{ 'ab'.replace('', 'x' * 5000000) }}", ("replace() result exceeds",)),
    ("{{ ('x' * 9000000).replace('x', 'yy') }}", ("replace() result exceeds",)),
    ("{{ ('a' * 1000).translate({97: 'b' * 100000}) }}", ("translate() result exceeds",)),
    ("{{ ('x' * 100).join(['y' * 100000] * 200) }}", ("join() result exceeds",)),
    ("{{ '{:>1999999999}'.format(1) }}", ("format width",)),
    ("{{ '{:{}}'.format('a', 1999999999) }}", ("format width",)),
    ("{{ '{0:.999999999f}'.format(1.5) }}", ("format width",)),
    ("{{ '{x:>99999999999999999999}'.format_map({'x': 1}) }}", ("format width",)),
    ("{{ (\"'\" * 3000000) | escapeChar('shell') }}", ("escapeChar result exceeds",)),
    ("{{ [1] | batch(2000000000, 0) | list | length }}", ("batch size exceeds",)),
    ("{{ ('a' * 6000000) | replace({'a': 'bb'}, regexp=true) }}", ("regular expression replace result exceeds",)),
    ("{{ 'ab' | replace({'': 'x' * 6000000}, regexp=true) }}", ("regular expression replace result exceeds",)),
])
def test_string_building_is_refused_before_the_string_exists(template, words):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _refused(template, *words)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 200, f"peak memory grew {grown_mib:.0f} MiB"


def test_many_bounded_strings_in_one_render_exhaust_its_budget():
    template = "{% set s = 'a' * 9000000 %}{% for i in range(40) %}{% set t = s | upper %}{% endfor %}"
    _refused(template, f"exceed {limits.MAX_BUILT} characters in total")


def test_the_budget_is_per_render():
    template = "{% set s = 'a' * 9000000 %}{% for i in range(10) %}{% set t = s | upper %}{% endfor %}ok"
    for _ in range(3):
        assert render(template, {}) == "ok"


def test_bounded_methods_still_work():
    assert render("{{ 'x'.zfill(5) }}|{{ 'a'.center(5, '*') }}|{{ '{:>4}|{:.2f}'.format('a', 1.5) }}", {}) == "0000x|**a**|   a|1.50"
    assert render("{{ '-'.join(['a', 'b']) }}|{{ 'a\tb'.expandtabs(2) }}|{{ 'aXa'.replace('a', 'bb') }}", {}) == "a-b|a b|bbXbb"
    assert render("{{ 'abc' | replace({'(b)': '[$1]'}, regexp=true) }}", {}) == "a[b]c"
    assert render("{{ value | escapeChar('shell') }}", {"value": "it's"}) == "it'\\''s"


def test_a_catastrophic_regex_ends_at_the_render_deadline(monkeypatch):
    """Without the bound this match runs for centuries; with it, 1 s of CPU (the regex module
    counts CPU time, so a busy machine stretches the wall time, not the work)."""
    monkeypatch.setattr(limits, "TIME_LIMIT", 1.0)
    start = time.process_time()
    _refused("{{ ('a' * 40 ~ 'b') | replace({'(a|aa)+$': 'x'}, regexp=true) }}", "regular expression '(a|aa)+$' did not finish within the render deadline, 1s")
    assert time.process_time() - start < 3


def test_a_regex_releases_the_interpreter_while_it_runs(monkeypatch):
    """Another thread (the operator's event loop) keeps running during a regex bomb."""
    monkeypatch.setattr(limits, "TIME_LIMIT", 2.0)
    ticks = 0
    done = threading.Event()

    def tick() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.01)

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        _refused("{{ ('a' * 40 ~ 'b') | replace({'(a|aa)+$': 'x'}, regexp=true) }}", "did not finish within")
    finally:
        done.set()
        ticker.join()
    assert ticks > 50, ticks  # ~200 in 2 s when not blocked; 0-1 if the GIL were held


def test_invalid_patterns_name_the_pattern():
    _refused("{{ 'a' | replace({'(': 'x'}, regexp=true) }}", "invalid regular expression '('")
    _refused("{{ 'a' | replace({'(a)': '$2'}, regexp=true) }}", "invalid replacement")


def test_filters_check_the_deadline(monkeypatch):
    """A chain of filters (no loop, no call) still stops at the deadline."""
    monkeypatch.setattr(limits, "TIME_LIMIT", -1.0)
    _refused("{{ 'a' | upper }}", "took longer than")
