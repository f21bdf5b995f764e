"""`--input key=value` pairs as given on a command line."""

from __future__ import annotations


class UsageError(Exception):
    """A mistake in how kflow was called: one line for the user, exit code 2."""


def parse_pairs(pairs: list[str], flag: str = "--input") -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{flag} {pair!r}: expected KEY=VALUE, for example {flag} name=world")
        out[key] = value
    return out
