"""Encoding filters: JSON/YAML serialization, base64, hashes, URL encoding."""

from __future__ import annotations

import base64
import binascii
import hashlib
import urllib.parse
from typing import Any

from ..limits import check_size
from ..values import to_json as _to_json
from ._util import fail, need, text


def to_json(value: Any) -> str:
    """Serialize to compact JSON (Kestra ``toJson``; legacy ``json`` filter)."""
    need(value)
    try:
        out = _to_json(value)
    except (TypeError, ValueError) as e:
        fail(f"toJson: {e}")
    check_size(len(out), "toJson result")
    return out


def to_yaml(value: Any) -> str:
    import json

    import yaml

    need(value)
    plain = json.loads(_to_json(value))
    return yaml.safe_dump(plain, sort_keys=False, allow_unicode=True)


def base64encode(value: Any) -> str:
    return base64.b64encode(text(value).encode("utf-8")).decode("ascii")


def base64decode(value: Any) -> str:
    try:
        raw = "".join(text(value).split())
        return base64.b64decode(raw.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError) as e:
        fail(f"base64decode: invalid input ({e})")


def _hasher(name: str):
    def digest(value: Any) -> str:
        return hashlib.new(name, text(value).encode("utf-8")).hexdigest()

    digest.__name__ = name
    return digest


def urlencode(value: Any) -> str:
    """Java ``URLEncoder.encode(value, UTF-8)``: spaces become ``+``."""
    need(value)
    if isinstance(value, dict):
        return urllib.parse.urlencode({k: text(v) for k, v in value.items()})
    return urllib.parse.quote_plus(text(value), safe="*")


def urldecode(value: Any) -> str:
    return urllib.parse.unquote_plus(text(value))


FILTERS = {
    "toJson": to_json,
    "json": to_json,
    "tojson": to_json,
    "toYaml": to_yaml,
    "yaml": to_yaml,
    "base64encode": base64encode,
    "base64Encode": base64encode,
    "base64decode": base64decode,
    "base64Decode": base64decode,
    "md5": _hasher("md5"),
    "sha1": _hasher("sha1"),
    "sha256": _hasher("sha256"),
    "sha512": _hasher("sha512"),
    "urlencode": urlencode,
    "urldecode": urldecode,
}
