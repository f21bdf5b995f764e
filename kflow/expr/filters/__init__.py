"""Filters, grouped by theme. ``FILTERS`` maps Pebble/Kestra names to callables."""

from __future__ import annotations

from . import collections as _collections
from . import dates as _dates
from . import jq as _jq
from . import serde as _serde
from . import strings as _strings

FILTERS: dict = {}
for _mod in (_strings, _collections, _dates, _serde, _jq):
    FILTERS.update(_mod.FILTERS)
