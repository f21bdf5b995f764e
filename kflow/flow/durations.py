"""ISO-8601 durations (`PT1M30S`, `P1D`) as Kestra writes them, to and from seconds."""

from __future__ import annotations

import math
import re

MAX_DURATION_SECONDS = 36525 * 86400  # 100 years: a timer, a deadline, a pod's activeDeadlineSeconds all hold it

_ISO = re.compile(
    r"^(?P<sign>-)?P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)


def parse_duration(text: str | int | float) -> float:
    """Seconds in an ISO-8601 duration; a bare number is taken as seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text)
        if not math.isfinite(seconds) or abs(seconds) > MAX_DURATION_SECONDS:
            raise ValueError(f"duration {_short(text)} is longer than the {MAX_DURATION_SECONDS // 86400}-day bound (P36525D, 100 years)")
        return seconds
    if len(str(text)) > 100:
        raise ValueError(f"expected an ISO-8601 duration such as PT30S, PT5M or P1D, got {_short(text)}")
    match = _ISO.match(str(text).strip())
    if not match or str(text).strip().upper() in ("P", "PT") or str(text).strip().upper().endswith("T"):
        raise ValueError(f"expected an ISO-8601 duration such as PT30S, PT5M or P1D, got {text!r}")
    parts = {k: float(v) for k, v in match.groupdict().items() if v and k != "sign"}
    seconds = (
        parts.get("w", 0) * 604800
        + parts.get("d", 0) * 86400
        + parts.get("h", 0) * 3600
        + parts.get("m", 0) * 60
        + parts.get("s", 0)
    )
    if not math.isfinite(seconds) or seconds > MAX_DURATION_SECONDS:
        raise ValueError(f"duration {_short(text)} is longer than the {MAX_DURATION_SECONDS // 86400}-day bound (P36525D, 100 years)")
    return -seconds if match.group("sign") else seconds


def _short(text: object) -> str:
    shown = str(text)
    return repr(shown if len(shown) <= 40 else shown[:37] + "...")


def format_duration(seconds: float) -> str:
    """Java's Duration.toString(): PT1H30M, PT0.5S, PT48H."""
    if seconds == 0:
        return "PT0S"
    sign = "-" if seconds < 0 else ""
    total = abs(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    out = "PT"
    if hours:
        out += f"{int(hours)}H"
    if minutes:
        out += f"{int(minutes)}M"
    if secs:
        out += f"{secs:.3f}".rstrip("0").rstrip(".") + "S"
    return sign + out
