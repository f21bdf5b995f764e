"""Flow inputs: their declaration (`inputs:` in a flow) and turning given values into typed ones.

A flow declares its inputs as a list of mappings::

    inputs:
      - id: count            # legacy Kestra flows write `name:` instead
        type: INT
        defaults: 10
        min: 1

`Input` is the pydantic type of one such item (a union over `type`, discriminated after the
type name is upper-cased and the legacy `ENUM` is renamed `SELECT`). `resolve_inputs` checks the
values given for an execution against the declarations and returns them typed, as JSON data,
because the execution state is JSON: instants, dates, times and durations become the strings
Java's `toString()` prints for them, since that is what Kestra expressions see.

As in Kestra, an invalid input creates no execution at all: `resolve_inputs` collects every
problem and raises one `InputsError`.

Where kflow differs from Kestra, on purpose:
- values given as strings are coerced a little more leniently (booleans accept yes/no/1/0,
  durations accept a plain number of seconds, naive date-times are taken as UTC);
- TIME values always print their seconds (`10:15:00`), where Java's `LocalTime` prints `10:15`;
- `defaults` are taken literally; Kestra's newest versions render them as expressions;
- SELECT/MULTISELECT `expression` (values computed at run time) is not supported;
- regular expressions (`validator`) are Python `re` patterns; Java-only syntax such as `\\p{L}`
  is reported when the flow is loaded;
- keys Kestra uses only for its UI (`displayName`, `dependsOn`, `prefill`, `autoSelectFirst`,
  `isRadio`, FILE `extension`) are accepted and kept, but kflow does nothing with them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Protocol, Union
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from kflow.flow.bounds import BoundError, bound_message, check_data, load_yaml
from kflow.javatime import (
    NANOS_PER_SECOND,
    DurationError,
    Instant,
    format_duration_nanos,
    format_epoch,
    format_local_time,
    instant_of,
    parse_duration_nanos,
    parse_instant,
    parse_local_date,
    parse_local_time,
    seconds_to_nanos,
    timedelta_to_nanos,
)

__all__ = [
    "ARRAY_ITEM_TYPES",
    "INPUT_ID",
    "INPUT_TYPES",
    "ArrayInput",
    "BaseInput",
    "BoolInput",
    "BooleanInput",
    "DateInput",
    "DateTimeInput",
    "DurationInput",
    "EmailInput",
    "FileInputHandler",
    "FileInput",
    "FloatInput",
    "Input",
    "InputProblem",
    "InputsError",
    "IntInput",
    "JsonInput",
    "MultiselectInput",
    "SecretInput",
    "SelectInput",
    "StringInput",
    "TimeInput",
    "UriInput",
    "YamlInput",
    "parse_input",
    "parse_inputs",
    "resolve_inputs",
]

INPUT_ID = re.compile(r"^[a-zA-Z0-9][.a-zA-Z0-9_-]*$")

INPUT_TYPES: tuple[str, ...] = (
    "STRING",
    "INT",
    "FLOAT",
    "BOOLEAN",
    "BOOL",
    "DATETIME",
    "DATE",
    "TIME",
    "DURATION",
    "JSON",
    "YAML",
    "URI",
    "EMAIL",
    "SELECT",
    "MULTISELECT",
    "ARRAY",
    "SECRET",
    "FILE",
)
_TYPE_ALIASES = {"ENUM": "SELECT"}  # ENUM is SELECT's name before Kestra 0.15

# ARRAY's itemType: the types one value of which is written on its own.
ARRAY_ITEM_TYPES: tuple[str, ...] = (
    "STRING",
    "INT",
    "FLOAT",
    "BOOLEAN",
    "BOOL",
    "DATETIME",
    "DATE",
    "TIME",
    "DURATION",
    "JSON",
    "YAML",
    "URI",
    "EMAIL",
)


# --------------------------------------------------------------------------------------------
# Problems


class InputProblem(BaseModel):
    """Why one input value was refused."""

    input: str
    type: str  # the declared type, "" for an input the flow does not declare
    message: str  # what was expected, and what was given

    def __str__(self) -> str:
        kind = f" ({self.type})" if self.type else ""
        return f"input {self.input!r}{kind}: {self.message}"


class InputsError(Exception):
    """The given inputs do not fit the flow's declarations; no execution may be created."""

    def __init__(self, problems: Sequence[InputProblem]):
        self.problems: list[InputProblem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class _Bad(Exception):
    """A value refused by a coercion; the message says what was expected and what was given."""


class FileInputHandler(Protocol):
    """Stores the file given for a FILE input; returns its `kestra://` internal storage URI."""

    def __call__(self, input_id: str, value: Any) -> str: ...


def _show(value: Any, limit: int = 80) -> str:
    """A given value, for a message: strings quoted, the rest as JSON."""
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, default=str, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _kind(value: Any) -> str:
    """What a value is, without showing it (for secrets)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


# --------------------------------------------------------------------------------------------
# Scalar coercions. Each takes a given value (a string from the CLI, or already typed data
# from YAML/JSON) and returns its JSON form, or raises _Bad.


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    raise _Bad(f"expected a string, got {_show(value)}")


_INT_TEXT = re.compile(r"^[-+]?\d+$")


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _Bad(f"expected an integer, got {_show(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_TEXT.match(value.strip()):
        return int(value.strip())
    raise _Bad(f"expected an integer, got {_show(value)}")


_FLOAT_TEXT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise _Bad(f"expected a number, got {_show(value)}")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and _FLOAT_TEXT.match(value.strip()):
        number = float(value.strip())
    else:
        raise _Bad(f"expected a number, got {_show(value)}")
    if not math.isfinite(number):
        raise _Bad(f"expected a finite number, got {_show(value)}")
    return number


_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _Bad(f"expected a boolean (true or false), got {_show(value)}")


# Dates, times and durations: parsed to a value that orders (an instant, a date, nanoseconds),
# printed as Java's toString() does; the rules are kflow.javatime's.

_DATETIME_EXPECTED = "expected an ISO-8601 date-time like 2024-03-01T10:15:30Z"


def _parse_instant(value: Any) -> Instant:
    if isinstance(value, datetime):
        return instant_of(value)
    if isinstance(value, date):
        raise _Bad(f"{_DATETIME_EXPECTED}, got the date {value.isoformat()!r} without a time")
    if not isinstance(value, str):
        raise _Bad(f"{_DATETIME_EXPECTED}, got {_show(value)}")
    try:
        instant = parse_instant(value)
    except ValueError as err:
        raise _Bad(f"{_DATETIME_EXPECTED}, got {_show(value)} ({err})") from None
    if instant is None:
        raise _Bad(f"{_DATETIME_EXPECTED}, got {_show(value)}")
    return instant


def _format_instant(instant: Instant) -> str:
    try:
        return format_epoch(instant)
    except ValueError as err:
        raise _Bad(str(err)) from None


_DATE_EXPECTED = "expected a date like 2024-03-01"


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        raise _Bad(f"{_DATE_EXPECTED}, got the date-time {value.isoformat()!r}")
    if isinstance(value, date):
        return value
    try:
        parsed = parse_local_date(value) if isinstance(value, str) else None
    except ValueError as err:
        raise _Bad(f"{_DATE_EXPECTED}, got {_show(value)} ({err})") from None
    if parsed is None:
        raise _Bad(f"{_DATE_EXPECTED}, got {_show(value)}")
    return parsed


_TIME_EXPECTED = "expected a time like 10:15:30"


def _parse_time(value: Any) -> int:
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise _Bad(f"{_TIME_EXPECTED} (a local time, without an offset), got {value.isoformat()!r}")
        seconds = value.hour * 3600 + value.minute * 60 + value.second
        return seconds * NANOS_PER_SECOND + value.microsecond * 1000
    try:
        nanos = parse_local_time(value) if isinstance(value, str) else None
    except ValueError as err:
        raise _Bad(f"{_TIME_EXPECTED}, got {_show(value)} ({err})") from None
    if nanos is None:
        hint = ""
        if isinstance(value, int) and not isinstance(value, bool):
            # YAML 1.1 reads an unquoted 10:15:30 as the number 36930.
            hint = " (quote times in YAML: '10:15:30')"
        raise _Bad(f"{_TIME_EXPECTED}, got {_show(value)}{hint}")
    return nanos


_SECONDS_TEXT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)$")
_DURATION_EXPECTED = "expected an ISO-8601 duration like PT1H30M or P2D, or a number of seconds"


def _parse_duration(value: Any) -> int:
    """Nanoseconds: Java's Duration text, or (kflow's leniency) a number of seconds."""
    if isinstance(value, timedelta):
        return timedelta_to_nanos(value)
    if isinstance(value, bool):
        raise _Bad(f"{_DURATION_EXPECTED}, got {_show(value)}")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise _Bad(f"{_DURATION_EXPECTED}, got {_show(value)}")
        return seconds_to_nanos(value)
    if not isinstance(value, str):
        raise _Bad(f"{_DURATION_EXPECTED}, got {_show(value)}")
    if _SECONDS_TEXT.match(value.strip()):
        return seconds_to_nanos(Decimal(value.strip()))
    try:
        return parse_duration_nanos(value)
    except DurationError as err:
        reason = f" ({err.reason})" if err.reason else ""
        raise _Bad(f"{_DURATION_EXPECTED}, got {_show(value)}{reason}") from None


# JSON and YAML values.


def _json_data(value: Any, where: str = "") -> Any:
    """`value` if it is JSON data (tuples become lists, YAML dates become ISO strings)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Bad(f"expected JSON data, got the number {value}{where}")
        return value
    if isinstance(value, datetime):
        return _format_instant(_parse_instant(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                if isinstance(key, (bool, int, float)) or key is None:
                    key = json.dumps(key)
                else:
                    raise _Bad(f"expected JSON data, got the key {_show(key)}{where}")
            out[key] = _json_data(item, where)
        return out
    if isinstance(value, (list, tuple)):
        return [_json_data(item, where) for item in value]
    raise _Bad(f"expected JSON data, got {_show(value)}{where}")


def _to_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return _json_data(json.loads(value))
        except json.JSONDecodeError as err:
            raise _Bad(f"expected JSON, got {_show(value)} ({err.msg} at line {err.lineno} column {err.colno})") from None
        except ValueError as err:  # NaN or Infinity in the text
            raise _Bad(f"expected JSON, got {_show(value)} ({err})") from None
    return _json_data(value)


def _to_yaml(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return _json_data(load_yaml(value))
        except BoundError as err:
            raise _Bad(f"expected YAML, got {_show(value)} ({err})") from None
        except yaml.YAMLError as err:
            reason = getattr(err, "problem", None) or "invalid YAML"
            raise _Bad(f"expected YAML, got {_show(value)} ({reason})") from None
    return _json_data(value)


# URIs and e-mail addresses.

_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*$")
_NEEDS_HOST = {"http", "https", "ftp", "ftps", "sftp", "ws", "wss", "s3", "gs", "ssh"}
_URI_EXPECTED = "expected an absolute URI like https://example.com/data.csv"


def _to_uri(value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad(f"{_URI_EXPECTED}, got {_show(value)}")
    text = value.strip()
    if not text or any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise _Bad(f"{_URI_EXPECTED}, got {_show(value)}")
    try:
        parts = urlsplit(text)
    except ValueError as err:
        raise _Bad(f"{_URI_EXPECTED}, got {_show(value)} ({err})") from None
    scheme, _, rest = text.partition(":")
    if not _URI_SCHEME.match(scheme) or not rest or ":" not in text:
        raise _Bad(f"{_URI_EXPECTED} (with a scheme such as https:), got {_show(value)}")
    if scheme.lower() in _NEEDS_HOST and not parts.hostname:
        raise _Bad(f"{_URI_EXPECTED} (a {scheme.lower()} URI needs a host), got {_show(value)}")
    return text


_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


def _to_email(value: Any) -> str:
    if isinstance(value, str) and _EMAIL.match(value.strip()):
        return value.strip()
    raise _Bad(f"expected an e-mail address like someone@example.com, got {_show(value)}")


_SCALARS: dict[str, Any] = {
    "STRING": _to_string,
    "INT": _to_int,
    "FLOAT": _to_float,
    "BOOLEAN": _to_bool,
    "BOOL": _to_bool,
    "DATETIME": lambda value: _format_instant(_parse_instant(value)),
    "DATE": lambda value: _parse_date(value).isoformat(),
    "TIME": lambda value: format_local_time(_parse_time(value)),
    "DURATION": lambda value: format_duration_nanos(_parse_duration(value)),
    "JSON": _to_json,
    "YAML": _to_yaml,
    "URI": _to_uri,
    "EMAIL": _to_email,
}


def _to_list(value: Any) -> list[Any]:
    """A list given as a list, or as a JSON array in a string (as the CLI gives it)."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return parsed
    raise _Bad(f'expected a list, or a JSON array like ["a", "b"], got {_show(value)}')


# --------------------------------------------------------------------------------------------
# Declarations


def _canonical_type(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    name = value.strip().upper()
    name = _TYPE_ALIASES.get(name, name)
    return name if name in INPUT_TYPES else None


def _valid_types() -> str:
    return ", ".join(INPUT_TYPES) + " (ENUM is accepted for SELECT)"


def _normalise(data: Any, default_type: str | None = None) -> Any:
    """Legacy `name` becomes `id`; `type` is upper-cased and checked."""
    if not isinstance(data, Mapping):
        return data
    data = dict(data)
    if default_type is not None and data.get("type") is None:
        data["type"] = default_type  # StringInput(id="x")
    if "name" in data:
        name = data.pop("name")
        if "id" in data and data["id"] != name:
            raise PydanticCustomError(
                "input_id_conflict",
                f"an input has either `id` or the legacy `name`, not both (got id {data['id']!r} and name {name!r})",
            )
        data["id"] = name
    if "id" not in data:
        raise PydanticCustomError("input_id_missing", "every input needs an `id` (or the legacy `name`)")
    if "type" not in data or data["type"] is None:
        raise PydanticCustomError(
            "input_type_missing", f"input {data.get('id')!r} needs a `type`, one of: {_valid_types()}"
        )
    canonical = _canonical_type(data["type"])
    if canonical is None:
        raise PydanticCustomError(
            "input_type_unknown",
            f"unknown input type {data['type']!r} for input {data.get('id')!r}; valid types are: {_valid_types()}",
        )
    data["type"] = canonical
    return data


class BaseInput(BaseModel):
    """What every input has. Use `Input` as the field type; this class is for isinstance()."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
    )

    id: str = Field(description="The input id, as `inputs.<id>` in expressions.")
    type: str
    description: str | None = None
    display_name: str | None = None
    required: bool = True
    defaults: Any = None
    # Accepted because Kestra has them; kflow does not use them.
    depends_on: Any = None
    prefill: Any = None

    @model_validator(mode="before")
    @classmethod
    def _legacy_name_and_type(cls, data: Any) -> Any:
        default = cls.model_fields["type"].default
        return _normalise(data, default if isinstance(default, str) else None)

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not INPUT_ID.match(value):
            raise ValueError(
                f"an input id starts with a letter or digit and holds letters, digits, '.', '_' or '-', got {value!r}"
            )
        return value

    def coerce(self, value: Any, files: FileInputHandler | None = None) -> Any:
        """The typed JSON form of a given (non-null) value; raises _Bad."""
        raise NotImplementedError


def _matches(pattern: str, text: str) -> bool:
    from kflow.flow.regexes import RegexError, fullmatch  # regex loads only when a validator is used

    try:
        return fullmatch(pattern, text)
    except RegexError as err:
        raise _Bad(str(err)) from None


class _ValidatedText(BaseInput):
    validator: str | None = Field(default=None, description="A regular expression the whole value must match.")

    @field_validator("validator")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            from kflow.flow.regexes import RegexError, compile_pattern

            try:
                compile_pattern(value)
            except RegexError as err:
                raise ValueError(f"`validator` is not a valid regular expression: {err}") from None
        return value


class StringInput(_ValidatedText):
    type: Literal["STRING"] = "STRING"

    def coerce(self, value: Any, files: FileInputHandler | None = None) -> str:
        text = _to_string(value)
        if self.validator is not None and not _matches(self.validator, text):
            raise _Bad(f"expected a value matching the validator {self.validator!r}, got {_show(text)}")
        return text


class SecretInput(_ValidatedText):
    """A string that is never shown: messages describe it without its value."""

    type: Literal["SECRET"] = "SECRET"

    def coerce(self, value: Any, files: FileInputHandler | None = None) -> str:
        if isinstance(value, str):
            text = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            text = str(value)
        else:
            raise _Bad(f"expected a string, got {_kind(value)}")
        if self.validator is not None and not _matches(self.validator, text):
            raise _Bad(f"expected a value matching the validator {self.validator!r}, got a value that does not (not shown)")
        return text


def _check_bounds(low: Any, high: Any, low_name: str, high_name: str) -> None:
    if low is not None and high is not None and low > high:
        raise ValueError(f"`{low_name}` ({low}) is greater than `{high_name}` ({high})")


class IntInput(BaseInput):
    type: Literal["INT"] = "INT"
    min: int | None = None
    max: int | None = None

    @model_validator(mode="after")
    def _bounds(self) -> IntInput:
        _check_bounds(self.min, self.max, "min", "max")
        return self

    def coerce(self, value: Any, files: FileInputHandler | None = None) -> int:
        number = _to_int(value)
        if self.min is not None and number < self.min:
            raise _Bad(f"expected an integer >= {self.min}, got {number}")
        if self.max is not None and number > self.max:
            raise _Bad(f"expected an integer <= {self.max}, got {number}")
        return number


class FloatInput(BaseInput):
    type: Literal["FLOAT"] = "FLOAT"
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> FloatInput:
        _check_bounds(self.min, self.max, "min", "max")
        return self

    def coerce(self, value: Any, files: FileInputHandler | None = None) -> float:
        number = _to_float(value)
        if self.min is not None and number < self.min:
            raise _Bad(f"expected a number >= {self.min}, got {number}")
        if self.max is not None and number > self.max:
            raise _Bad(f"expected a number <= {self.max}, got {number}")
        return number


class BooleanInput(BaseInput):
    type: Literal["BOOLEAN"] = "BOOLEAN"

    def coerce(self, value: Any, files: FileInputHandler | None = None) -> bool:
        return _to_bool(value)


class BoolInput(BaseInput):
    """Kestra's newer BOOL: a boolean that may also be left empty."""

    type: Literal["BOOL"] = "BOOL"

    def coerce(self, value: Any, files: FileInputHandler | None = None) -> bool:
        return _to_bool(value)


class _BoundedInput(BaseInput):
    """DATETIME, DATE, TIME and DURATION: a value that orders and prints one way, between two
    optional inclusive bounds written like values (kept in their printed form)."""

    bound_names: ClassVar[tuple[str, str]] = ("after", "before")
    # "expected <low> <bound>", "expected <high> <bound>", "`after` (x) is <order> `before` (y)"
    bound_words: ClassVar[tuple[str, str, str]]

    @staticmethod
    def parse(value: Any) -> Any:
        """The given value as something that orders; raises _Bad."""
        raise NotImplementedError

    @staticmethod
    def render(parsed: Any) -> str:
        """The printed form of a parsed value, as Java's toString() prints it."""
        raise NotImplementedError

    @field_validator("after", "before", "min", "max", mode="before", check_fields=False)
    @classmethod
    def _bound_in_printed_form(cls, value: Any, info: Any) -> Any:
        if value is None:
            return None
        try:
            return cls.render(cls.parse(value))
        except _Bad as err:
            raise ValueError(f"`{info.field_name}`: {err}") from None

    def _bounds(self) -> tuple[Any, Any]:
        return tuple(getattr(self, name) for name in self.bound_names)  # type: ignore[return-value]

    @model_validator(mode="after")
    def _ordered_bounds(self) -> _BoundedInput:
        low, high = self._bounds()
        if low is not None and high is not None and self.parse(low) > self.parse(high):
            low_name, high_name = self.bound_names
            raise ValueError(f"`{low_name}` ({low}) is {self.bound_words[2]} `{high_name}` ({high})")
        return self

    def coerce(self, value: Any, files: FileInputHandler | None = None) -> str:
        parsed = self.parse(value)
        text = self.render(parsed)
        low, high = self._bounds()
        if low is not None and parsed < self.parse(low):
            raise _Bad(f"expected {self.bound_words[0]} {low}, got {text}")
        if high is not None and parsed > self.parse(high):
            raise _Bad(f"expected {self.bound_words[1]} {high}, got {text}")
        return text


class _AfterBefore(_BoundedInput):
    after: str | None = Field(default=None, description="The earliest accepted value (inclusive).")
    before: str | None = Field(default=None, description="The latest accepted value (inclusive).")


class DateTimeInput(_AfterBefore):
    type: Literal["DATETIME"] = "DATETIME"
    bound_words: ClassVar[tuple[str, str, str]] = ("a date-time at or after", "a date-time at or before", "later than")
    parse = staticmethod(_parse_instant)
    render = staticmethod(_format_instant)


class DateInput(_AfterBefore):
    type: Literal["DATE"] = "DATE"
    bound_words: ClassVar[tuple[str, str, str]] = ("a date on or after", "a date on or before", "later than")
    parse = staticmethod(_parse_date)
    render = staticmethod(date.isoformat)


class TimeInput(_AfterBefore):
    type: Literal["TIME"] = "TIME"
    bound_words: ClassVar[tuple[str, str, str]] = ("a time at or after", "a time at or before", "later than")
    parse = staticmethod(_parse_time)
    render = staticmethod(format_local_time)


class DurationInput(_BoundedInput):
    type: Literal["DURATION"] = "DURATION"
    min: str | None = Field(default=None, description="The shortest accepted duration (inclusive).")
    max: str | None = Field(default=None, description="The longest accepted duration (inclusive).")
    bound_names: ClassVar[tuple[str, str]] = ("min", "max")
    bound_words: ClassVar[tuple[str, str, str]] = ("a duration of at least", "a duration of at most", "longer than")
    parse = staticmethod(_parse_duration)
    render = staticmethod(format_duration_nanos)


class JsonInput(BaseInput):
    type: Literal["JSON"] = "JSON"

    def coerce(self, value: Any, files: FileInputHandler | None = None) -> Any:
        return _to_json(value)


class YamlInput(BaseInput):
    type: Literal["YAML"] = "YAML"

    def coerce(self, value: Any, files: FileInputHandler | None = None) -> Any:
        return _to_yaml(value)


class UriInput(BaseInput):
    type: Literal["URI"] = "URI"

    def coerce(self, value: Any, files: FileInputHandler | None = None) -> str:
        return _to_uri(value)


class EmailInput(BaseInput):
    type: Literal["EMAIL"] = "EMAIL"

    def coerce(self, value: Any, files: FileInputHandler | None = None) -> str:
        return _to_email(value)


def _values_as_strings(value: Any) -> Any:
    # Kestra's values are strings; YAML `values: [1, 2]` gives numbers.
    if isinstance(value, list):
        return [_to_string(v) if isinstance(v, (int, float, bool)) else v for v in value]
    return value


def _one_of(values: Sequence[str]) -> str:
    return ", ".join(_show(v) for v in values)


class SelectInput(BaseInput):
    """One value out of `values` (Kestra's ENUM before 0.15)."""

    type: Literal["SELECT"] = "SELECT"
    values: list[str]
    allow_custom_value: bool = False
    auto_select_first: bool | None = None
    is_radio: bool | None = None

    @field_validator("values", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> Any:
        return _values_as_strings(value)

    @model_validator(mode="after")
    def _some_values(self) -> SelectInput:
        if not self.values and not self.allow_custom_value:
            raise ValueError("a SELECT input needs at least one of `values` (or `allowCustomValue: true`)")
        return self

    def coerce(self, value: Any, files: FileInputHandler | None = None) -> str:
        if not isinstance(value, (str, int, float, bool)):
            raise _Bad(f"expected one of {_one_of(self.values)}, got {_show(value)}")
        text = _to_string(value)
        if text not in self.values and not self.allow_custom_value:
            raise _Bad(f"expected one of {_one_of(self.values)}, got {_show(text)}")
        return text


class MultiselectInput(BaseInput):
    """Some values out of `values` (legacy `options`), given as a list or a JSON array."""

    type: Literal["MULTISELECT"] = "MULTISELECT"
    values: list[str] | None = None
    options: list[str] | None = Field(default=None, description="Deprecated Kestra name of `values`.")
    item_type: str = "STRING"
    allow_custom_value: bool = False
    auto_select_first: bool | None = None

    @field_validator("values", "options", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> Any:
        return _values_as_strings(value)

    @model_validator(mode="after")
    def _values_or_options(self) -> MultiselectInput:
        if self.values is not None and self.options is not None:
            raise ValueError("give `values` or the deprecated `options`, not both")
        if not self.choices and not self.allow_custom_value:
            raise ValueError("a MULTISELECT input needs at least one of `values` (or `allowCustomValue: true`)")
        return self

    @property
    def choices(self) -> list[str]:
        return list(self.values if self.values is not None else self.options or [])

    def coerce(self, value: Any, files: FileInputHandler | None = None) -> list[str]:
        items = _to_list(value)
        out: list[str] = []
        wrong: list[str] = []
        for item in items:
            if not isinstance(item, (str, int, float, bool)):
                wrong.append(_show(item))
                continue
            text = _to_string(item)
            if text not in self.choices and not self.allow_custom_value:
                wrong.append(_show(text))
            out.append(text)
        if wrong:
            raise _Bad(f"expected values among {_one_of(self.choices)}, got {', '.join(wrong)}")
        return out


class ArrayInput(BaseInput):
    """A list whose items are each coerced as `itemType`."""

    type: Literal["ARRAY"] = "ARRAY"
    item_type: str

    @field_validator("item_type", mode="before")
    @classmethod
    def _scalar_item_type(cls, value: Any) -> Any:
        name = _canonical_type(value)
        if name not in ARRAY_ITEM_TYPES:
            raise ValueError(f"`itemType` must be one of {', '.join(ARRAY_ITEM_TYPES)}, got {value!r}")
        return name

    def coerce(self, value: Any, files: FileInputHandler | None = None) -> list[Any]:
        items = _to_list(value)
        coerce_item = _SCALARS[self.item_type]
        out: list[Any] = []
        wrong: list[str] = []
        for index, item in enumerate(items):
            if item is None:
                wrong.append(f"item {index}: expected a value, got null")
                continue
            try:
                out.append(coerce_item(item))
            except _Bad as err:
                wrong.append(f"item {index}: {err}")
        if wrong:
            raise _Bad(f"expected a list of {self.item_type}; " + "; ".join(wrong))
        return out


class FileInput(BaseInput):
    """A file, stored in internal storage; the execution carries its `kestra://` URI."""

    type: Literal["FILE"] = "FILE"
    extension: str | None = Field(default=None, description="Accepted for Kestra compatibility; unused.")

    def coerce(self, value: Any, files: FileInputHandler | None = None) -> str:
        if isinstance(value, str) and value.strip().startswith("kestra://"):
            from kflow.uris import BadUri, parse_uri

            try:
                parse_uri(value.strip())  # refuses '..' (path traversal), empty and '.' segments
            except BadUri as err:
                raise _Bad(str(err)) from None
            return value.strip()
        if files is None:
            raise _Bad(
                f"file inputs need internal storage to upload to; got {_show(value)}, "
                "give a kestra:// URI of a file already stored instead"
            )
        try:
            uri = files(self.id, value)
        except Exception as err:  # noqa: BLE001 - any failure to store is this input's problem
            raise _Bad(f"could not store the file {_show(value)}: {type(err).__name__}: {err}") from None
        if not isinstance(uri, str) or not uri.startswith("kestra://"):
            raise _Bad(f"storing the file {_show(value)} gave {_show(uri)}, not a kestra:// URI")
        return uri


Input = Annotated[
    Union[  # noqa: UP007 - a discriminated union needs Union[...] here
        StringInput,
        IntInput,
        FloatInput,
        BooleanInput,
        BoolInput,
        DateTimeInput,
        DateInput,
        TimeInput,
        DurationInput,
        JsonInput,
        YamlInput,
        UriInput,
        EmailInput,
        SelectInput,
        MultiselectInput,
        ArrayInput,
        SecretInput,
        FileInput,
    ],
    Field(discriminator="type"),
    BeforeValidator(_normalise),
]
"""One declared flow input; use `list[Input]` as a field type. Instances are `BaseInput`s."""

_INPUT = TypeAdapter(Input)
_INPUTS = TypeAdapter(list[Input])


def parse_input(data: Any) -> BaseInput:
    """One input declaration (a mapping as written in YAML); raises pydantic.ValidationError."""
    return _INPUT.validate_python(data)


def parse_inputs(data: Any) -> list[BaseInput]:
    """A flow's `inputs:` list; raises pydantic.ValidationError."""
    return _INPUTS.validate_python(data)


# --------------------------------------------------------------------------------------------
# Resolution


_TEXT_TYPES = {"STRING", "SECRET"}


def _absent(declaration: BaseInput, value: Any) -> bool:
    # An empty string stands for "not given" (`--input count=`), except where it is a value.
    return value is None or (value == "" and declaration.type not in _TEXT_TYPES)


def resolve_inputs(
    declared: Sequence[Input],
    given: Mapping[str, Any],
    *,
    files: FileInputHandler | None = None,
) -> dict[str, Any]:
    """The execution's inputs: every declared input, typed, as JSON data.

    A given value is coerced to the declared type (strings from the CLI are parsed; typed
    values are accepted); a missing one takes `defaults` (coerced the same way), else is None
    when optional. FILE values go through `files`, which returns a `kestra://` URI. Every
    problem is collected, then raised together as one `InputsError`.
    """
    declarations = [d if isinstance(d, BaseInput) else parse_input(d) for d in declared]
    problems: list[InputProblem] = []
    resolved: dict[str, Any] = {}
    seen: set[str] = set()

    for declaration in declarations:
        if declaration.id in seen:
            problems.append(InputProblem(input=declaration.id, type=declaration.type, message="declared more than once"))
            continue
        seen.add(declaration.id)
        value = given.get(declaration.id)
        prefix = ""
        if _absent(declaration, value):
            if declaration.defaults is not None:
                value, prefix = declaration.defaults, "invalid default: "
            elif declaration.required:
                problems.append(InputProblem(input=declaration.id, type=declaration.type, message="required input is missing"))
                continue
            else:
                resolved[declaration.id] = None
                continue
        try:
            check_data(value)  # depth, integer size, valid Unicode: before any parsing
            resolved[declaration.id] = declaration.coerce(value, files)
            check_data(resolved[declaration.id])  # what parsing a JSON/YAML text made
        except _Bad as err:
            problems.append(InputProblem(input=declaration.id, type=declaration.type, message=f"{prefix}{err}"))
        except BoundError as err:
            where = f" at {err.path if len(err.path) <= 60 else err.path[:57] + '...'}" if err.path else ""
            problems.append(InputProblem(input=declaration.id, type=declaration.type, message=f"{prefix}{err.message}{where}"))
        except (ValueError, RecursionError) as err:  # Python's own limits (int digits, recursion)
            if bound_message(err) is None:
                raise
            problems.append(InputProblem(input=declaration.id, type=declaration.type, message=f"{prefix}{bound_message(err)}"))

    unknown = [key for key in given if key not in seen]
    if unknown:
        known = ", ".join(d.id for d in declarations)
        message = f"unknown input; declared inputs are: {known}" if known else "unknown input; the flow declares no inputs"
        problems.extend(InputProblem(input=str(key), type="", message=message) for key in unknown)

    if problems:
        raise InputsError(problems)
    return resolved
