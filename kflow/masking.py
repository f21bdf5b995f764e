"""The one masker: every path that can show a secret value (task log, script stdout and stderr,
outputs, failure reasons, expression errors) goes through `Masker.mask`.

A value registered with `add` is masked in every form it is likely to appear in:
- as given, and stripped (`echo x | base64` leaves a trailing newline);
- each line of a multi-line value (a PEM key is printed line by line);
- escaped as Python's repr and as JSON do it (`'a\\nb'`), the form error messages use.

The short-value rule: a form shorter than 4 characters is masked only where it stands alone,
not inside a word (`[A-Za-z0-9_]` on neither side), so a one-character secret does not turn
every such letter of a log into ******. An output's name is never rewritten (`mask_value`); only
a name that is a whole secret value of 4 characters or more becomes ******.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

MASK = "******"
SHORT = 4  # forms shorter than this are masked only as whole words
_WORD = "A-Za-z0-9_"


def _forms(value: str) -> set[str]:
    """The spellings of `value` a log or a message may contain."""
    base = {value, value.strip()}
    lines = value.strip().splitlines()
    if len(lines) > 1:
        base |= {line.strip() for line in lines}
    forms = set(base)
    for form in base:
        forms.add(repr(form)[1:-1])
        forms.add(json.dumps(form)[1:-1])
        forms.add(json.dumps(form, ensure_ascii=False)[1:-1])
    return {form for form in forms if form.strip()}


class Masker:
    """Secret values seen so far, and one compiled pattern that replaces them all."""

    def __init__(self) -> None:
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def __bool__(self) -> bool:
        return bool(self._forms)

    def add(self, value: Any) -> None:
        if not isinstance(value, str) or not value.strip():
            return
        new = _forms(value) - self._forms
        if new:
            self._forms |= new
            self._pattern = None

    def _compiled(self) -> re.Pattern[str]:
        if self._pattern is None:
            parts = []
            for form in sorted(self._forms, key=len, reverse=True):  # longest first
                escaped = re.escape(form)
                if len(form) < SHORT:
                    escaped = f"(?<![{_WORD}]){escaped}(?![{_WORD}])"
                parts.append(escaped)
            self._pattern = re.compile("|".join(parts))
        return self._pattern

    def mask(self, text: str) -> str:
        """`text` with every registered value replaced by ******."""
        if not self._forms or not text:
            return text
        return self._compiled().sub(MASK, text)

    def mask_value(self, value: Any) -> Any:
        """`mask` applied to every string value in JSON-like data (keys: see `_key`)."""
        if not self._forms:
            return value
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {self._key(k): self.mask_value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.mask_value(v) for v in value]
        return value

    def _key(self, key: Any) -> Any:
        """A key is never rewritten inside (an output's name stays its name), but a key that is
        a whole secret value of 4 characters or more is itself a leak: it becomes ******."""
        return MASK if isinstance(key, str) and len(key) >= SHORT and key in self._forms else key


# -- SECRET inputs, as Kestra shows them: the input itself as ******, its value masked wherever
# else it appears (reasons, outputs, errors). One place for `kflow run` (--json, the summary,
# the Gantt chart, --ui), the operator (the Execution's status, Events) and the engine (the
# reasons it writes).

def input_masker(secret_ids: Iterable[str], inputs: dict[str, Any] | None) -> Masker:
    """A masker of the values of the SECRET inputs among `inputs`."""
    masker = Masker()
    for key in secret_ids:
        masker.add((inputs or {}).get(key))
    return masker


def shown_inputs(inputs: dict[str, Any] | None, secret_ids: Iterable[str]) -> dict[str, Any]:
    """`inputs` with each given SECRET input as ******."""
    secret = set(secret_ids)
    return {k: (MASK if k in secret and v is not None else v) for k, v in (inputs or {}).items()}


def shown_execution(data: dict[str, Any], secret_ids: Iterable[str]) -> dict[str, Any]:
    """An execution as JSON (`Execution.to_json()`), as it may be shown or stored for others."""
    secret = set(secret_ids)
    inputs = data.get("inputs") or {}
    masker = input_masker(secret, inputs)
    shown = masker.mask_value(data)
    if inputs and secret:
        shown["inputs"] = shown_inputs(inputs, secret)
    return shown
