"""The one exception the expression package raises."""

from __future__ import annotations

_MAX_EXPR = 200


def _truncate(text: str, limit: int = _MAX_EXPR) -> str:
    text = str(text)
    if len(text) <= limit:
        return text
    return text[: limit - 3] + "..."


class ExpressionError(Exception):
    """A template could not be rendered (syntax, undefined variable, filter failure, limits).

    Attributes:
        expression: the template text (truncated to ~200 chars)
        message: what went wrong, human readable
        property: dotted/indexed path inside the value given to ``render_value`` (or None)
    """

    def __init__(self, expression: str, message: str, property: str | None = None):
        self.expression = _truncate(expression)
        self.message = str(message)
        self.property = property
        super().__init__(self.expression, self.message, self.property)

    def __reduce__(self):
        return (type(self), (self.expression, self.message, self.property))

    def __str__(self) -> str:
        where = f" (at {self.property})" if self.property else ""
        return f"cannot render {_quote(self.expression)}{where}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"ExpressionError(expression={self.expression!r}, message={self.message!r}, "
            f"property={self.property!r})"
        )


def _quote(text: str) -> str:
    return '"' + text.replace("\n", "\\n") + '"'


class _Abort(Exception):
    """Raised inside rendering (filters, guards); converted to ExpressionError by the renderer."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)
