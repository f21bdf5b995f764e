"""Flow inputs: declarations parsed from YAML-like dicts, and values resolved against them."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from kflow.flow.inputs import (
    ArrayInput,
    BaseInput,
    Input,
    InputProblem,
    InputsError,
    IntInput,
    SelectInput,
    StringInput,
    parse_input,
    parse_inputs,
    resolve_inputs,
)


def resolve_one(declaration: dict[str, Any], value: Any) -> Any:
    """The resolved value of a single input `x` given `value`."""
    return resolve_inputs([parse_input({"id": "x", **declaration})], {"x": value})["x"]


def problems_of(declared: list[dict[str, Any]], given: dict[str, Any], **kwargs: Any) -> list[InputProblem]:
    with pytest.raises(InputsError) as caught:
        resolve_inputs(parse_inputs(declared), given, **kwargs)
    return caught.value.problems


def problem_of(declaration: dict[str, Any], value: Any) -> str:
    (problem,) = problems_of([{"id": "x", **declaration}], {"x": value})
    return problem.message


# --------------------------------------------------------------------------------------------
# Declarations


class FlowLike(BaseModel):
    inputs: list[Input]


@pytest.mark.parametrize(
    ("data", "cls", "expected"),
    [
        ({"name": "subRedditUrl1", "type": "STRING"}, StringInput, {"id": "subRedditUrl1", "type": "STRING"}),
        ({"id": "count", "type": "int", "defaults": 10, "min": 1}, IntInput, {"type": "INT", "defaults": 10, "min": 1}),
        ({"id": "env", "type": "ENUM", "values": ["dev", "prod"]}, SelectInput, {"type": "SELECT"}),
        ({"id": "env", "type": "Select", "values": [1, 2]}, SelectInput, {"values": ["1", "2"]}),
        ({"id": "xs", "type": "ARRAY", "itemType": "int"}, ArrayInput, {"item_type": "INT"}),
        ({"id": "a.b-c_d", "type": "STRING", "required": False}, StringInput, {"id": "a.b-c_d", "required": False}),
        ({"id": "x", "type": "STRING", "displayName": "X", "dependsOn": {"inputs": ["y"]}}, StringInput, {"display_name": "X"}),
        ({"id": "x", "name": "x", "type": "STRING"}, StringInput, {"id": "x"}),
        ({"id": "d", "type": "DURATION", "min": "PT60S", "max": "P1D"}, BaseInput, {"min": "PT1M", "max": "PT24H"}),
        ({"id": "d", "type": "DATE", "after": date(2024, 1, 1)}, BaseInput, {"after": "2024-01-01"}),
        ({"id": "d", "type": "DATETIME", "before": "2024-03-01T12:00:00+02:00"}, BaseInput, {"before": "2024-03-01T10:00:00Z"}),
        ({"id": "t", "type": "TIME", "after": "08:00"}, BaseInput, {"after": "08:00:00"}),
        ({"id": "m", "type": "MULTISELECT", "options": ["a", "b"]}, BaseInput, {"choices": ["a", "b"]}),
        ({"id": "f", "type": "FILE", "extension": ".csv"}, BaseInput, {"type": "FILE"}),
    ],
)
def test_declaration_parses(data: dict, cls: type, expected: dict) -> None:
    parsed = parse_input(data)
    assert isinstance(parsed, cls)
    for key, value in expected.items():
        assert getattr(parsed, key) == value
    # usable as a field of another model, too
    assert FlowLike.model_validate({"inputs": [data]}).inputs[0] == parsed


def test_declaration_defaults() -> None:
    parsed = parse_input({"id": "x", "type": "STRING"})
    assert (parsed.required, parsed.defaults, parsed.description) == (True, None, None)


def test_declaration_round_trips_with_kestra_keys() -> None:
    data = {"id": "xs", "type": "ARRAY", "itemType": "STRING", "displayName": "Xs", "required": False}
    dumped = parse_input(data).model_dump(by_alias=True, exclude_none=True)
    assert dumped == data
    assert parse_input(dumped) == parse_input(data)


def test_declarations_from_yaml() -> None:
    text = """
- name: subRedditUrl1
  type: STRING
- id: day
  type: DATE
  defaults: 2024-03-01
- id: when
  type: DATETIME
  defaults: 2024-03-01T10:15:30Z
"""
    declared = parse_inputs(yaml.safe_load(text))
    assert resolve_inputs(declared, {"subRedditUrl1": "https://reddit.com/r/python"}) == {
        "subRedditUrl1": "https://reddit.com/r/python",
        "day": "2024-03-01",
        "when": "2024-03-01T10:15:30Z",
    }


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"id": "x", "type": "NOPE"}, "unknown input type 'NOPE' for input 'x'; valid types are: STRING, INT"),
        ({"id": "x", "type": 3}, "valid types are:"),
        ({"id": "x"}, "input 'x' needs a `type`"),
        ({"type": "STRING"}, "every input needs an `id`"),
        ({"id": "x", "name": "y", "type": "STRING"}, "either `id` or the legacy `name`"),
        ({"id": "_x", "type": "STRING"}, "an input id starts with a letter or digit"),
        ({"id": "a b", "type": "STRING"}, "an input id starts with a letter or digit"),
        ({"id": "x", "type": "STRING", "color": "red"}, "Extra inputs are not permitted"),
        ({"id": "x", "type": "STRING", "min": 1}, "Extra inputs are not permitted"),
        ({"id": "x", "type": "STRING", "validator": "("}, "`validator` is not a valid regular expression"),
        ({"id": "x", "type": "INT", "min": 5, "max": 1}, "`min` (5) is greater than `max` (1)"),
        ({"id": "x", "type": "INT", "min": "abc"}, "valid integer"),
        ({"id": "x", "type": "DURATION", "min": "1 hour"}, "`min`: expected an ISO-8601 duration"),
        ({"id": "x", "type": "DURATION", "min": "PT2H", "max": "PT1H"}, "longer than `max`"),
        ({"id": "x", "type": "DATE", "after": "2024-02-30"}, "`after`: expected a date"),
        ({"id": "x", "type": "DATE", "after": "2024-03-01", "before": "2024-01-01"}, "later than `before`"),
        ({"id": "x", "type": "DATETIME", "after": "2024-03-02T00:00:00Z", "before": "2024-03-01T00:00:00Z"}, "later than"),
        ({"id": "x", "type": "SELECT"}, "Field required"),
        ({"id": "x", "type": "SELECT", "values": []}, "needs at least one of `values`"),
        ({"id": "x", "type": "MULTISELECT", "values": ["a"], "options": ["a"]}, "not both"),
        ({"id": "x", "type": "ARRAY"}, "Field required"),
        ({"id": "x", "type": "ARRAY", "itemType": "ARRAY"}, "`itemType` must be one of"),
        ({"id": "x", "type": "ARRAY", "itemType": "FILE"}, "`itemType` must be one of"),
    ],
)
def test_bad_declaration(data: dict, needle: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_input(data)
    assert needle in str(caught.value)


def test_concrete_class_constructs_without_type() -> None:
    assert StringInput(id="x").type == "STRING"
    assert IntInput(id="n", min=1).min == 1


# --------------------------------------------------------------------------------------------
# Values: good ones, per type


@pytest.mark.parametrize(
    ("declaration", "given", "expected"),
    [
        # STRING / SECRET
        ({"type": "STRING"}, "hello", "hello"),
        ({"type": "STRING"}, "", ""),
        ({"type": "STRING"}, 42, "42"),
        ({"type": "STRING"}, True, "true"),
        ({"type": "STRING", "validator": "[a-z]+"}, "abc", "abc"),
        ({"type": "SECRET"}, "s3cr3t", "s3cr3t"),
        ({"type": "SECRET", "validator": "\\d{4}"}, "1234", "1234"),
        # INT
        ({"type": "INT"}, "42", 42),
        ({"type": "INT"}, " -7 ", -7),
        ({"type": "INT"}, "+3", 3),
        ({"type": "INT"}, 5, 5),
        ({"type": "INT"}, 5.0, 5),
        ({"type": "INT", "min": 1, "max": 10}, "1", 1),
        ({"type": "INT", "min": 1, "max": 10}, 10, 10),
        # FLOAT
        ({"type": "FLOAT"}, "3.5", 3.5),
        ({"type": "FLOAT"}, "1e3", 1000.0),
        ({"type": "FLOAT"}, ".5", 0.5),
        ({"type": "FLOAT"}, 2, 2.0),
        ({"type": "FLOAT", "min": 0.5, "max": 1.5}, "1.5", 1.5),
        # BOOLEAN
        ({"type": "BOOLEAN"}, "true", True),
        ({"type": "BOOLEAN"}, "FALSE", False),
        ({"type": "BOOLEAN"}, "Yes", True),
        ({"type": "BOOLEAN"}, "no", False),
        ({"type": "BOOLEAN"}, "1", True),
        ({"type": "BOOLEAN"}, "0", False),
        ({"type": "BOOLEAN"}, False, False),
        ({"type": "BOOLEAN"}, 1, True),
        ({"type": "BOOL"}, "true", True),
        # DATETIME: Java Instant.toString()
        ({"type": "DATETIME"}, "2024-03-01T10:15:30Z", "2024-03-01T10:15:30Z"),
        ({"type": "DATETIME"}, "2024-03-01T10:15:30+02:00", "2024-03-01T08:15:30Z"),
        ({"type": "DATETIME"}, "2024-03-01T00:30:00-0100", "2024-03-01T01:30:00Z"),
        ({"type": "DATETIME"}, "2024-03-01T10:15:30", "2024-03-01T10:15:30Z"),
        ({"type": "DATETIME"}, "2024-03-01 10:15", "2024-03-01T10:15:00Z"),
        ({"type": "DATETIME"}, "2024-03-01T10:15:30.5Z", "2024-03-01T10:15:30.500Z"),
        ({"type": "DATETIME"}, "2024-03-01T10:15:30.000Z", "2024-03-01T10:15:30Z"),
        ({"type": "DATETIME"}, "2024-03-01T10:15:30.1234Z", "2024-03-01T10:15:30.123400Z"),
        ({"type": "DATETIME"}, "2024-03-01T10:15:30.123456789Z", "2024-03-01T10:15:30.123456789Z"),
        ({"type": "DATETIME"}, "2024-03-01T23:30:00-01:00", "2024-03-02T00:30:00Z"),
        ({"type": "DATETIME"}, datetime(2024, 3, 1, 10, 15, 30, 250000), "2024-03-01T10:15:30.250Z"),
        (
            {"type": "DATETIME"},
            datetime(2024, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))),
            "2024-03-01T10:00:00Z",
        ),
        ({"type": "DATETIME", "after": "2024-01-01T00:00:00Z"}, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"),
        ({"type": "DATETIME", "before": "2024-01-01T00:00:00Z"}, "2024-01-01T01:00:00+01:00", "2024-01-01T00:00:00Z"),
        # DATE
        ({"type": "DATE"}, "2024-03-01", "2024-03-01"),
        ({"type": "DATE"}, date(2024, 2, 29), "2024-02-29"),
        ({"type": "DATE", "after": "2024-01-01", "before": "2024-12-31"}, "2024-12-31", "2024-12-31"),
        # TIME
        ({"type": "TIME"}, "10:15:30", "10:15:30"),
        ({"type": "TIME"}, "10:15", "10:15:00"),
        ({"type": "TIME"}, "23:59:59.5", "23:59:59.500"),
        ({"type": "TIME"}, time(8, 5), "08:05:00"),
        ({"type": "TIME", "after": "08:00", "before": "18:00"}, "08:00:00", "08:00:00"),
        # DURATION: Java Duration.toString()
        ({"type": "DURATION"}, "PT1H", "PT1H"),
        ({"type": "DURATION"}, "PT90M", "PT1H30M"),
        ({"type": "DURATION"}, "pt1h30m", "PT1H30M"),
        ({"type": "DURATION"}, "P2D", "PT48H"),
        ({"type": "DURATION"}, "P1DT1S", "PT24H1S"),
        ({"type": "DURATION"}, "PT0.5S", "PT0.5S"),
        ({"type": "DURATION"}, "PT1.250S", "PT1.25S"),
        ({"type": "DURATION"}, "PT0S", "PT0S"),
        ({"type": "DURATION"}, "-PT90M", "PT-1H-30M"),
        ({"type": "DURATION"}, "PT-0.5S", "PT-0.5S"),
        ({"type": "DURATION"}, "PT-1.5S", "PT-1.5S"),
        ({"type": "DURATION"}, "90", "PT1M30S"),
        ({"type": "DURATION"}, "1.5", "PT1.5S"),
        ({"type": "DURATION"}, 3600, "PT1H"),
        ({"type": "DURATION"}, 0.25, "PT0.25S"),
        ({"type": "DURATION"}, timedelta(days=1, minutes=1), "PT24H1M"),
        ({"type": "DURATION", "min": "PT1M", "max": "PT1H"}, "PT60S", "PT1M"),
        ({"type": "DURATION", "min": "PT1M", "max": "PT1H"}, 3600, "PT1H"),
        # JSON / YAML
        ({"type": "JSON"}, '{"a": [1, 2]}', {"a": [1, 2]}),
        ({"type": "JSON"}, "[1, 2]", [1, 2]),
        ({"type": "JSON"}, "3", 3),
        ({"type": "JSON"}, '"text"', "text"),
        ({"type": "JSON"}, {"a": (1, 2)}, {"a": [1, 2]}),
        ({"type": "JSON"}, [1, "b"], [1, "b"]),
        ({"type": "YAML"}, "a: 1\nb: [x, y]", {"a": 1, "b": ["x", "y"]}),
        ({"type": "YAML"}, "day: 2024-03-01", {"day": "2024-03-01"}),
        # URI / EMAIL
        ({"type": "URI"}, "https://example.com/a?b=c", "https://example.com/a?b=c"),
        ({"type": "URI"}, "s3://bucket/key.csv", "s3://bucket/key.csv"),
        ({"type": "URI"}, "kestra:///company/flow/file.txt", "kestra:///company/flow/file.txt"),
        ({"type": "URI"}, "mailto:someone@example.com", "mailto:someone@example.com"),
        ({"type": "EMAIL"}, "someone@example.com", "someone@example.com"),
        # SELECT / ENUM / MULTISELECT
        ({"type": "SELECT", "values": ["dev", "prod"]}, "prod", "prod"),
        ({"type": "ENUM", "values": ["dev", "prod"]}, "dev", "dev"),
        ({"type": "SELECT", "values": [1, 2]}, 2, "2"),
        ({"type": "SELECT", "values": ["a"], "allowCustomValue": True}, "zzz", "zzz"),
        ({"type": "MULTISELECT", "values": ["a", "b", "c"]}, ["a", "c"], ["a", "c"]),
        ({"type": "MULTISELECT", "values": ["a", "b", "c"]}, '["b"]', ["b"]),
        ({"type": "MULTISELECT", "options": ["a", "b"]}, ["a"], ["a"]),
        # ARRAY
        ({"type": "ARRAY", "itemType": "INT"}, "[1, 2]", [1, 2]),
        ({"type": "ARRAY", "itemType": "INT"}, ["1", 2], [1, 2]),
        ({"type": "ARRAY", "itemType": "STRING"}, '["a", "b"]', ["a", "b"]),
        ({"type": "ARRAY", "itemType": "STRING"}, [], []),
        ({"type": "ARRAY", "itemType": "FLOAT"}, (1, "2.5"), [1.0, 2.5]),
        ({"type": "ARRAY", "itemType": "BOOLEAN"}, ["yes", False], [True, False]),
        ({"type": "ARRAY", "itemType": "DATE"}, ["2024-03-01"], ["2024-03-01"]),
        ({"type": "ARRAY", "itemType": "DATETIME"}, ["2024-03-01T10:00:00+01:00"], ["2024-03-01T09:00:00Z"]),
        ({"type": "ARRAY", "itemType": "DURATION"}, ["P1D", 60], ["PT24H", "PT1M"]),
        ({"type": "ARRAY", "itemType": "JSON"}, ['{"a": 1}', {"b": 2}], [{"a": 1}, {"b": 2}]),
        ({"type": "ARRAY", "itemType": "URI"}, ["https://a.example/x"], ["https://a.example/x"]),
        # FILE, without internal storage: only URIs of stored files
        ({"type": "FILE"}, "kestra:///ns/flow/executions/e1/inputs/f/data.csv", "kestra:///ns/flow/executions/e1/inputs/f/data.csv"),
    ],
)
def test_good_value(declaration: dict, given: Any, expected: Any) -> None:
    value = resolve_one(declaration, given)
    assert value == expected
    assert type(value) is type(expected)
    json.dumps(value)  # the execution state is JSON


# --------------------------------------------------------------------------------------------
# Values: bad ones, per type


@pytest.mark.parametrize(
    ("declaration", "given", "message"),
    [
        ({"type": "STRING"}, {"a": 1}, "expected a string, got {\"a\": 1}"),
        ({"type": "STRING", "validator": "[a-z]+"}, "abc1", "expected a value matching the validator '[a-z]+', got 'abc1'"),
        ({"type": "STRING", "validator": "^a"}, "ab", "expected a value matching the validator '^a', got 'ab'"),
        ({"type": "INT"}, "abc", "expected an integer, got 'abc'"),
        ({"type": "INT"}, "1.5", "expected an integer, got '1.5'"),
        ({"type": "INT"}, "1_000", "expected an integer, got '1_000'"),
        ({"type": "INT"}, 1.5, "expected an integer, got 1.5"),
        ({"type": "INT"}, True, "expected an integer, got true"),
        ({"type": "INT", "min": 1}, "0", "expected an integer >= 1, got 0"),
        ({"type": "INT", "max": 10}, 11, "expected an integer <= 10, got 11"),
        ({"type": "FLOAT"}, "abc", "expected a number, got 'abc'"),
        ({"type": "FLOAT"}, "nan", "expected a number, got 'nan'"),
        ({"type": "FLOAT"}, float("inf"), "expected a finite number, got Infinity"),
        ({"type": "FLOAT"}, [1], "expected a number, got [1]"),
        ({"type": "FLOAT", "min": 0.5}, "0.25", "expected a number >= 0.5, got 0.25"),
        ({"type": "FLOAT", "max": 1}, 1.01, "expected a number <= 1.0, got 1.01"),
        ({"type": "BOOLEAN"}, "maybe", "expected a boolean (true or false), got 'maybe'"),
        ({"type": "BOOLEAN"}, 2, "expected a boolean (true or false), got 2"),
        ({"type": "DATETIME"}, "yesterday", "expected an ISO-8601 date-time like 2024-03-01T10:15:30Z, got 'yesterday'"),
        ({"type": "DATETIME"}, "2024-03-01", "expected an ISO-8601 date-time like 2024-03-01T10:15:30Z, got '2024-03-01'"),
        ({"type": "DATETIME"}, "2024-13-01T00:00:00Z", "got '2024-13-01T00:00:00Z' (month must be in 1..12)"),
        ({"type": "DATETIME"}, date(2024, 3, 1), "got the date '2024-03-01' without a time"),
        ({"type": "DATETIME"}, 1709287200, "expected an ISO-8601 date-time like 2024-03-01T10:15:30Z, got 1709287200"),
        (
            {"type": "DATETIME", "after": "2024-01-01T00:00:00Z"},
            "2023-12-31T23:59:59Z",
            "expected a date-time at or after 2024-01-01T00:00:00Z, got 2023-12-31T23:59:59Z",
        ),
        (
            {"type": "DATETIME", "before": "2024-01-01T00:00:00Z"},
            "2024-01-01T00:00:00.001Z",
            "expected a date-time at or before 2024-01-01T00:00:00Z, got 2024-01-01T00:00:00.001Z",
        ),
        ({"type": "DATE"}, "01/03/2024", "expected a date like 2024-03-01, got '01/03/2024'"),
        ({"type": "DATE"}, "2023-02-29", "expected a date like 2024-03-01, got '2023-02-29' (day is out of range for month)"),
        ({"type": "DATE"}, "2024-03-01T00:00:00Z", "expected a date like 2024-03-01, got '2024-03-01T00:00:00Z'"),
        ({"type": "DATE"}, datetime(2024, 3, 1), "got the date-time '2024-03-01T00:00:00'"),
        ({"type": "DATE", "after": "2024-01-01"}, "2023-12-31", "expected a date on or after 2024-01-01, got 2023-12-31"),
        ({"type": "DATE", "before": "2024-01-01"}, date(2024, 1, 2), "expected a date on or before 2024-01-01, got 2024-01-02"),
        ({"type": "TIME"}, "25:00", "expected a time like 10:15:30, got '25:00' (out of range)"),
        ({"type": "TIME"}, "noon", "expected a time like 10:15:30, got 'noon'"),
        ({"type": "TIME"}, 36930, "got 36930 (quote times in YAML: '10:15:30')"),
        ({"type": "TIME"}, "10:15:30+01:00", "expected a time like 10:15:30, got '10:15:30+01:00'"),
        ({"type": "TIME", "after": "08:00"}, "07:59:59", "expected a time at or after 08:00:00, got 07:59:59"),
        ({"type": "TIME", "before": "18:00"}, "18:00:01", "expected a time at or before 18:00:00, got 18:00:01"),
        ({"type": "DURATION"}, "1 hour", "expected an ISO-8601 duration like PT1H30M or P2D, or a number of seconds, got '1 hour'"),
        ({"type": "DURATION"}, "P1Y", "expected an ISO-8601 duration like PT1H30M or P2D, or a number of seconds, got 'P1Y'"),
        ({"type": "DURATION"}, "PT", "got 'PT' (nothing after T)"),
        ({"type": "DURATION"}, "P", "or a number of seconds, got 'P'"),
        ({"type": "DURATION"}, True, "or a number of seconds, got true"),
        ({"type": "DURATION", "min": "PT1M"}, "PT59S", "expected a duration of at least PT1M, got PT59S"),
        ({"type": "DURATION", "max": "PT1H"}, "P1D", "expected a duration of at most PT1H, got PT24H"),
        ({"type": "JSON"}, "{oops", "expected JSON, got '{oops' (Expecting property name enclosed in double quotes at line 1 column 2)"),
        ({"type": "JSON"}, "abc", "expected JSON, got 'abc' (Expecting value at line 1 column 1)"),
        ({"type": "JSON"}, {"a": {1, 2}}, "expected JSON data, got "),
        ({"type": "YAML"}, "a: [1", "expected YAML, got 'a: [1'"),
        ({"type": "URI"}, "not a uri", "expected an absolute URI like https://example.com/data.csv, got 'not a uri'"),
        ({"type": "URI"}, "/relative/path", "expected an absolute URI like https://example.com/data.csv (with a scheme"),
        ({"type": "URI"}, "https://", "(a https URI needs a host), got 'https://'"),
        ({"type": "URI"}, 42, "expected an absolute URI like https://example.com/data.csv, got 42"),
        ({"type": "EMAIL"}, "someone", "expected an e-mail address like someone@example.com, got 'someone'"),
        ({"type": "SELECT", "values": ["dev", "prod"]}, "test", "expected one of 'dev', 'prod', got 'test'"),
        ({"type": "ENUM", "values": ["dev", "prod"]}, "DEV", "expected one of 'dev', 'prod', got 'DEV'"),
        ({"type": "SELECT", "values": ["dev", "prod"]}, ["dev"], "expected one of 'dev', 'prod', got [\"dev\"]"),
        ({"type": "MULTISELECT", "values": ["a", "b"]}, ["a", "z", "y"], "expected values among 'a', 'b', got 'z', 'y'"),
        ({"type": "MULTISELECT", "values": ["a", "b"]}, "a", 'expected a list, or a JSON array like ["a", "b"], got \'a\''),
        ({"type": "ARRAY", "itemType": "INT"}, "1,2", 'expected a list, or a JSON array like ["a", "b"], got \'1,2\''),
        ({"type": "ARRAY", "itemType": "INT"}, '{"a": 1}', "expected a list, or a JSON array"),
        ({"type": "ARRAY", "itemType": "INT"}, 5, "expected a list, or a JSON array like [\"a\", \"b\"], got 5"),
        (
            {"type": "ARRAY", "itemType": "INT"},
            '[1, "x", 3.5]',
            "expected a list of INT; item 1: expected an integer, got 'x'; item 2: expected an integer, got 3.5",
        ),
        ({"type": "ARRAY", "itemType": "DATE"}, ["2024-03-01", None], "expected a list of DATE; item 1: expected a value, got null"),
        (
            {"type": "FILE"},
            "/tmp/data.csv",
            "file inputs need internal storage to upload to; got '/tmp/data.csv', give a kestra:// URI of a file already stored instead",
        ),
    ],
)
def test_bad_value(declaration: dict, given: Any, message: str) -> None:
    assert message in problem_of(declaration, given)


def test_secret_value_never_shown() -> None:
    (problem,) = problems_of([{"id": "pin", "type": "SECRET", "validator": "\\d{4}"}], {"pin": "hunter2"})
    assert "hunter2" not in str(problem)
    assert "does not" in problem.message
    (problem,) = problems_of([{"id": "pin", "type": "SECRET"}], {"pin": {"token": "hunter2"}})
    assert "hunter2" not in str(problem)
    assert problem.message == "expected a string, got a mapping"


# --------------------------------------------------------------------------------------------
# Missing values, defaults, required


@pytest.mark.parametrize(
    ("declaration", "given", "expected"),
    [
        ({"type": "INT", "defaults": 10}, {}, 10),
        ({"type": "INT", "defaults": "10"}, {}, 10),
        ({"type": "INT", "defaults": 10}, {"x": "3"}, 3),
        ({"type": "INT", "defaults": 10}, {"x": None}, 10),
        ({"type": "INT", "defaults": 10}, {"x": ""}, 10),
        ({"type": "STRING", "defaults": "hi"}, {"x": ""}, ""),
        ({"type": "DURATION", "defaults": "P1D"}, {}, "PT24H"),
        ({"type": "DATE", "defaults": date(2024, 3, 1)}, {}, "2024-03-01"),
        ({"type": "BOOLEAN", "defaults": False}, {}, False),
        ({"type": "SELECT", "values": ["a", "b"], "defaults": "b"}, {}, "b"),
        ({"type": "ARRAY", "itemType": "INT", "defaults": [1, 2]}, {}, [1, 2]),
        ({"type": "JSON", "defaults": {"a": 1}}, {}, {"a": 1}),
        ({"type": "INT", "required": False}, {}, None),
        ({"type": "INT", "required": False}, {"x": None}, None),
        ({"type": "INT", "required": False, "defaults": 5}, {}, 5),
    ],
)
def test_missing_value(declaration: dict, given: dict, expected: Any) -> None:
    resolved = resolve_inputs([parse_input({"id": "x", **declaration})], given)
    assert resolved == {"x": expected}


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ({"type": "INT"}, "required input is missing"),
        ({"type": "INT", "required": True}, "required input is missing"),
        ({"type": "INT", "defaults": "abc"}, "invalid default: expected an integer, got 'abc'"),
        ({"type": "INT", "defaults": 0, "min": 1}, "invalid default: expected an integer >= 1, got 0"),
        ({"type": "SELECT", "values": ["a"], "defaults": "b"}, "invalid default: expected one of 'a', got 'b'"),
        ({"type": "INT", "required": False, "defaults": "x"}, "invalid default: expected an integer, got 'x'"),
    ],
)
def test_missing_value_problem(declaration: dict, message: str) -> None:
    assert problem_of(declaration, None) == message


def test_an_invalid_default_is_not_used_when_a_value_is_given() -> None:
    assert resolve_one({"type": "INT", "defaults": "abc"}, "3") == 3


# --------------------------------------------------------------------------------------------
# The whole set


def test_unknown_input() -> None:
    problems = problems_of([{"id": "a", "type": "INT"}, {"id": "b", "type": "STRING"}], {"a": 1, "b": "x", "c": 3})
    assert [str(p) for p in problems] == ["input 'c': unknown input; declared inputs are: a, b"]


def test_unknown_input_without_declarations() -> None:
    (problem,) = problems_of([], {"c": 3})
    assert problem.message == "unknown input; the flow declares no inputs"


def test_all_problems_reported_together() -> None:
    declared = [
        {"id": "count", "type": "INT"},
        {"id": "ratio", "type": "FLOAT", "max": 1},
        {"id": "env", "type": "SELECT", "values": ["dev", "prod"]},
        {"id": "day", "type": "DATE"},
        {"id": "ok", "type": "STRING"},
    ]
    with pytest.raises(InputsError) as caught:
        resolve_inputs(parse_inputs(declared), {"count": "abc", "ratio": "2", "env": "qa", "ok": "fine", "extra": 1})
    err = caught.value
    assert [(p.input, p.type) for p in err.problems] == [
        ("count", "INT"),
        ("ratio", "FLOAT"),
        ("env", "SELECT"),
        ("day", "DATE"),
        ("extra", ""),
    ]
    assert str(err).splitlines() == [
        "input 'count' (INT): expected an integer, got 'abc'",
        "input 'ratio' (FLOAT): expected a number <= 1.0, got 2.0",
        "input 'env' (SELECT): expected one of 'dev', 'prod', got 'qa'",
        "input 'day' (DATE): required input is missing",
        "input 'extra': unknown input; declared inputs are: count, ratio, env, day, ok",
    ]


def test_resolved_inputs_keep_declaration_order_and_are_json() -> None:
    declared = parse_inputs(
        [
            {"id": "b", "type": "DATETIME"},
            {"id": "a", "type": "JSON"},
            {"id": "c", "type": "STRING", "required": False},
        ]
    )
    resolved = resolve_inputs(declared, {"a": '{"k": [1]}', "b": "2024-03-01T10:15:30+01:00"})
    assert list(resolved) == ["b", "a", "c"]
    assert json.loads(json.dumps(resolved)) == {"b": "2024-03-01T09:15:30Z", "a": {"k": [1]}, "c": None}


def test_declared_twice() -> None:
    problems = problems_of([{"id": "a", "type": "INT"}, {"id": "a", "type": "STRING"}], {"a": "1"})
    assert [p.message for p in problems] == ["declared more than once"]


def test_declarations_may_be_given_as_dicts() -> None:
    assert resolve_inputs([{"name": "n", "type": "int"}], {"n": "2"}) == {"n": 2}


def test_inputs_error_is_an_exception_with_problems() -> None:
    err = InputsError([InputProblem(input="count", type="INT", message="expected an integer, got 'abc'")])
    assert str(err) == "input 'count' (INT): expected an integer, got 'abc'"
    assert isinstance(err, Exception)


# --------------------------------------------------------------------------------------------
# FILE inputs


class Storage:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def __call__(self, input_id: str, value: Any) -> str:
        self.calls.append((input_id, value))
        if value == "missing.csv":
            raise FileNotFoundError("no such file: missing.csv")
        if value == "weird":
            return "/not/a/kestra/uri"
        return f"kestra:///ns/flow/executions/e1/inputs/{input_id}/{value}"


def test_file_input_goes_through_the_handler() -> None:
    storage = Storage()
    resolved = resolve_inputs(
        parse_inputs([{"id": "data", "type": "FILE"}, {"id": "other", "type": "FILE", "defaults": "default.csv"}]),
        {"data": "data.csv"},
        files=storage,
    )
    assert resolved == {
        "data": "kestra:///ns/flow/executions/e1/inputs/data/data.csv",
        "other": "kestra:///ns/flow/executions/e1/inputs/other/default.csv",
    }
    assert storage.calls == [("data", "data.csv"), ("other", "default.csv")]


def test_file_input_already_stored_skips_the_handler() -> None:
    storage = Storage()
    uri = "kestra:///ns/flow/executions/e0/inputs/data/x.csv"
    assert resolve_inputs(parse_inputs([{"id": "data", "type": "FILE"}]), {"data": uri}, files=storage) == {"data": uri}
    assert storage.calls == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("missing.csv", "could not store the file 'missing.csv': FileNotFoundError: no such file: missing.csv"),
        ("weird", "storing the file 'weird' gave '/not/a/kestra/uri', not a kestra:// URI"),
    ],
)
def test_file_handler_failures_are_problems(value: str, message: str) -> None:
    (problem,) = problems_of([{"id": "data", "type": "FILE"}], {"data": value}, files=Storage())
    assert problem.message == message


# --------------------------------------------------------------------------------------------
# Java's printing, checked against values Java gives


@pytest.mark.parametrize(
    ("given", "java"),
    [
        # java.time.Duration.parse(given).toString()
        ("PT8H6M12.345S", "PT8H6M12.345S"),
        ("PT-6H3M", "PT-5H-57M"),
        ("-PT6H3M", "PT-6H-3M"),
        ("-PT-6H+3M", "PT5H57M"),
        ("PT-0.000000001S", "PT-0.000000001S"),
        ("PT1.000000001S", "PT1.000000001S"),
        ("PT0.1S", "PT0.1S"),
        ("P-1D", "PT-24H"),
        ("PT-59.5S", "PT-59.5S"),
        ("PT-61.5S", "PT-1M-1.5S"),
        ("PT3600S", "PT1H"),
        ("PT0,5S", "PT0.5S"),
    ],
)
def test_duration_matches_java(given: str, java: str) -> None:
    assert resolve_one({"type": "DURATION"}, given) == java


@pytest.mark.parametrize(
    ("given", "java"),
    [
        # java.time.Instant.parse(given).toString()
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"),
        ("1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z"),
        ("2024-02-29T23:59:59.1Z", "2024-02-29T23:59:59.100Z"),
        ("2024-03-01T10:15:30.000001Z", "2024-03-01T10:15:30.000001Z"),
        ("0999-01-01T00:00:00Z", "0999-01-01T00:00:00Z"),
    ],
)
def test_instant_matches_java(given: str, java: str) -> None:
    assert resolve_one({"type": "DATETIME"}, given) == java
