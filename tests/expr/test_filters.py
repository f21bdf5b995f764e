import hashlib

import pytest

from kflow.expr import ExpressionError, render


@pytest.mark.parametrize(
    "template, expected",
    [
        # strings
        ("{{ 'hello' | upper }}", "HELLO"),
        ("{{ 'HeLLo' | lower }}", "hello"),
        ("{{ 'hello wORLD' | capitalize }}", "Hello wORLD"),
        ("{{ 'hello big world' | title }}", "Hello Big World"),
        ("{{ '  x  ' | trim }}", "x"),
        ("{{ 'Hello world!' | replace({'world': 'Kestra'}) }}", "Hello Kestra!"),
        ("{{ 'a-b-c' | replace({'-': '_', 'a': 'A'}) }}", "A_b_c"),
        ("{{ 'a-b-c' | replace('-', '+') }}", "a+b+c"),
        ("{{ 'a-b-c' | replace('-', '+', 1) }}", "a+b-c"),
        ("{{ 'abc123' | replace({'(\\\\d+)': '<$1>'}, regexp=true) }}", "abc<123>"),
        ("{{ 'Hello World! Ça va?' | slugify }}", "hello-world-ca-va"),
        ("{{ 'this is a long sentence.' | abbreviate(7) }}", "this..."),
        ("{{ 'apple' | upper | abbreviate(3) }}", "APP"),
        ("{{ 'short' | abbreviate(10) }}", "short"),
        ("{{ 'a.b.c' | substringBefore('.') }}", "a"),
        ("{{ 'a.b.c' | substringAfter('.') }}", "b.c"),
        ("{{ 'a.b.c' | substringBeforeLast('.') }}", "a.b"),
        ("{{ 'a.b.c' | substringAfterLast('.') }}", "c"),
        ("{{ 'abc' | substringAfter('x') }}", ""),
        ("{{ 'abc' | substringBefore('x') }}", "abc"),
        ("{{ 'hello' | startsWith('he') }}", "true"),
        ("{{ 'hello' | endsWith('he') }}", "false"),
        ("{{ 'a,b,c' | split(',') }}", '["a","b","c"]'),
        ("{{ 'a,b,,' | split(',') }}", '["a","b"]'),
        ("{{ 'a,b,c' | split(',', 2) }}", '["a","b,c"]'),
        ("{{ 'a.b' | split('.') | last }}", "b"),
        ("{{ 'Hello\\nworld' | indent(2) }}", "Hello\n  world"),
        ("{{ 'Hello\\nworld' | nindent(2) }}", "\n  Hello\n  world"),
        ("{{ \"Can't\" | escapeChar('single') }}", "Can\\'t"),
        ("{{ \"it's\" | escapeChar('shell') }}", "it'\\''s"),
        ("{{ 123 | string }}", "123"),
        ("{{ 'Hello' | length }}", "5"),
        ("{{ 'hello' | reverse }}", "olleh"),
        ("{{ 'Hello, world!' | slice(0, 5) }}", "Hello"),
        ("{{ 'hello' | first }}", "h"),
        ("{{ 'hello' | last }}", "o"),
        # collections
        ("{{ [1, 2, 3] | first }}", "1"),
        ("{{ [1, 2, 3] | last }}", "3"),
        ("{{ [] | first }}", ""),
        ("{{ [1, 2, 3] | length }}", "3"),
        ("{{ {'a': 1} | length }}", "1"),
        ("{{ null | length }}", "0"),
        ("{{ ['a', 'b', 'c'] | join(',') }}", "a,b,c"),
        ("{{ [1, true, null] | join('-') }}", "1-true-"),
        ("{{ ['a', 'b'] | join }}", "ab"),
        ("{{ {'a': 1, 'b': 2} | keys }}", '["a","b"]'),
        ("{{ {'a': 1, 'b': 2} | values }}", "[1,2]"),
        ("{{ [3, 1, 2] | sort }}", "[1,2,3]"),
        ("{{ [3, 1, 2] | rsort }}", "[3,2,1]"),
        ("{{ [1, 2, 3] | reverse }}", "[3,2,1]"),
        ("{{ [1, 2, 3, 4] | slice(1, 3) }}", "[2,3]"),
        ("{{ [1, 2, 3, 4] | slice(2) }}", "[3,4]"),
        ("{{ [1, 2] | slice(0, 99) }}", "[1,2]"),
        ("{{ [1, 2] | merge([3, 4]) }}", "[1,2,3,4]"),
        ("{{ {'a': 1} | merge({'b': 2}) }}", '{"a":1,"b":2}'),
        ("{{ [1, 2, 3, 4, 5] | chunk(2) }}", "[[1,2],[3,4],[5]]"),
        ("{{ ['1', '1', '2', '3'] | distinct }}", '["1","2","3"]'),
        ("{{ [[1, 2], [3, 4]] | flatten }}", "[1,2,3,4]"),
        ("{{ [1, 2, 3] | sum }}", "6"),
        ("{{ [{'n': 'a'}, {'n': 'b'}] | map(attribute='n') | join(',') }}", "a,b"),
        # numbers
        ("{{ -7 | abs }}", "7"),
        ("{{ -7.5 | abs }}", "7.5"),
        ("{{ '123' | number }}", "123"),
        ("{{ '12.5' | number }}", "12.5"),
        ("{{ '12.5' | number('INT') }}", "12"),
        ("{{ '12' | number('FLOAT') }}", "12.0"),
        ("{{ '12' | number('LONG') + 1 }}", "13"),
        ("{{ '12.25' | number('DOUBLE') }}", "12.25"),
        ("{{ '0x1F' | number }}", "31"),
        ("{{ 12345.6789 | numberFormat('###,###.##') }}", "12,345.68"),
        ("{{ 3.14159 | numberFormat('0.00') }}", "3.14"),
        ("{{ 2.5 | round }}", "2.0"),
        ("{{ '42' | int }}", "42"),
        # json / encodings
        ("{{ {'a': [1, 2], 'b': null, 'c': true} | toJson }}", '{"a":[1,2],"b":null,"c":true}'),
        ("{{ 'x\"y' | json }}", '"x\\"y"'),
        ("{{ fromJson('{\"foo\": [666, 1, 2]}').foo[0] }}", "666"),
        ("{{ json('{\"a\": 1}').a }}", "1"),
        ("{{ fromJson('[1, 2]') | length }}", "2"),
        ("{{ fromYaml('a: [1, 2]').a[1] }}", "2"),
        ("{{ {'a': 1} | toYaml | trim }}", "a: 1"),
        ("{{ 'hello' | base64encode }}", "aGVsbG8="),
        ("{{ 'aGVsbG8=' | base64decode }}", "hello"),
        ("{{ 'hello' | base64Encode | base64Decode }}", "hello"),
        ("{{ 'hello' | sha256 }}", hashlib.sha256(b"hello").hexdigest()),
        ("{{ 'hello' | sha1 }}", hashlib.sha1(b"hello").hexdigest()),
        ("{{ 'hello' | sha512 }}", hashlib.sha512(b"hello").hexdigest()),
        ("{{ 'hello' | md5 }}", hashlib.md5(b"hello").hexdigest()),
        ("{{ 'a b&c=d/é' | urlencode }}", "a+b%26c%3Dd%2F%C3%A9"),
        ("{{ 'a+b%26c' | urldecode }}", "a b&c"),
        # null handling in string filters
        ("{{ null | upper }}", ""),
        ("{{ null | default('x') | upper }}", "X"),
    ],
)
def test_filters(template, expected):
    assert render(template, {}) == expected


@pytest.mark.parametrize(
    "template, message",
    [
        ("{{ 'x' | number }}", "not a number"),
        ("{{ 'x' | number('WHAT') }}", "unknown type"),
        ("{{ 'x' | keys }}", "keys needs a map"),
        ("{{ [1, 'a'] | sort }}", "cannot be compared"),
        ("{{ 'x' | abbreviate(-1) }}", ">= 0"),
        ("{{ '!!!' | base64decode }}", "base64decode"),
        ("{{ fromJson('{nope') }}", "invalid JSON"),
        ("{{ 'x' | replace('a') }}", "replace needs"),
        ("{{ 'x' | replace({'(': 'y'}, regexp=true) }}", "invalid regular expression"),
        ("{{ [1] | chunk(0) }}", "chunk size"),
        ("{{ 'x' | indent(100000) }}", "indent amount"),
        ("{{ 'x' | escapeChar('nope') }}", "escapeChar"),
        ("{{ range(1, 2, 0) }}", "step must not be 0"),
        ("{{ max() }}", "at least one"),
    ],
)
def test_filter_errors(template, message):
    with pytest.raises(ExpressionError) as info:
        render(template, {})
    assert message in info.value.message


def test_undefined_into_filter_names_variable():
    with pytest.raises(ExpressionError) as info:
        render("{{ outputs.x.value | trim | upper }}", {"outputs": {}})
    assert info.value.message == "'outputs.x' is undefined"
