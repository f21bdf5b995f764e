"""HTTP tasks (httpx, imported only when one runs): Download to internal storage, and Request.

Kestra names: `io.kestra.plugin.core.http.Download` / `.Request`, formerly
`io.kestra.plugin.fs.http.Download` / `.Request`. A download streams to storage in 1 MiB
chunks, so its memory does not grow with the file; a failed one leaves nothing in storage.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from kflow.flow.durations import parse_duration
from kflow.flow.task import RunnableTask
from kflow.tasks.errors import TaskFailure

if TYPE_CHECKING:
    from kflow.runner.context import RunContext

CHUNK = 1024 * 1024
BODY_LIMIT = 10 * 1024 * 1024  # Request keeps the body in its outputs: refuse more than this
_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)


class HttpAuth(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = "BASIC"
    username: str | None = None
    password: str | None = None
    token: str | None = None


class HttpOptions(BaseModel):
    """Kestra's `options`: the ones kflow honours; others are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    connectTimeout: str | None = Field(None, description="ISO-8601 duration; default PT30S.")
    readTimeout: str | None = Field(None, description="ISO-8601 duration between two reads; default PT10S as in Kestra.")
    followRedirects: bool = True
    allowFailed: bool = False
    basicAuthUser: str | None = None
    basicAuthPassword: str | None = None
    auth: HttpAuth | None = None


class _Http(RunnableTask):
    uri: str = Field(description="The URL to call.")
    method: str = Field("GET", description="GET, POST, PUT, ...")
    headers: dict[str, Any] | None = Field(None, description="Request headers (a value may be a list).")
    body: str | None = Field(None, description="The request body.")
    contentType: str | None = Field(None, description="The request body's Content-Type.")
    formData: dict[str, Any] | None = Field(None, description="Form fields, sent url-encoded.")
    options: HttpOptions | None = None

    def _client(self):
        import httpx

        options = self.options or HttpOptions()
        connect = parse_duration(options.connectTimeout) if options.connectTimeout else 30.0
        read = parse_duration(options.readTimeout) if options.readTimeout else 10.0
        auth = None
        if options.auth and options.auth.type.upper() == "BASIC" and options.auth.username is not None:
            auth = httpx.BasicAuth(options.auth.username, options.auth.password or "")
        elif options.basicAuthUser is not None:
            auth = httpx.BasicAuth(options.basicAuthUser, options.basicAuthPassword or "")
        return httpx.Client(
            timeout=httpx.Timeout(read, connect=connect),
            follow_redirects=options.followRedirects,
            auth=auth,
        )

    def _request_args(self, ctx: RunContext) -> dict[str, Any]:
        headers: list[tuple[str, str]] = []
        if self.options and self.options.auth and self.options.auth.type.upper() == "BEARER" and self.options.auth.token:
            headers.append(("Authorization", f"Bearer {self.options.auth.token}"))
        for name, value in (self.headers or {}).items():
            for item in value if isinstance(value, list) else [value]:
                headers.append((str(name), _text(item)))
        if self.contentType and not any(n.lower() == "content-type" for n, _ in headers):
            headers.append(("Content-Type", self.contentType))
        args: dict[str, Any] = {"headers": headers}
        if self.formData is not None:
            args["data"] = {k: str(v) for k, v in self.formData.items()}
        elif self.body is not None:
            args["content"] = self.body.encode()
        return args

    def _fail(self, err: Exception) -> TaskFailure:
        return TaskFailure(f"{self.method.upper()} {self.uri} failed: {describe_http_error(err)}")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def describe_http_error(err: Exception) -> str:
    import httpx

    if isinstance(err, httpx.TimeoutException):
        kind = {"ConnectTimeout": "connecting", "ReadTimeout": "waiting for data", "WriteTimeout": "sending", "PoolTimeout": "waiting for a connection"}
        return f"timed out {kind.get(type(err).__name__, '')} ({type(err).__name__})".replace("  ", " ")
    if isinstance(err, httpx.ConnectError):
        return f"cannot connect ({err})"
    if isinstance(err, httpx.HTTPError):
        return f"{type(err).__name__}: {err}"
    return f"{type(err).__name__}: {err}"


def _headers(response) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in response.headers.multi_items():
        out.setdefault(name, []).append(value)
    return out


def _status(response) -> str:
    return f"HTTP {response.status_code} {response.reason_phrase}".rstrip()


def file_name(response, uri: str) -> str:
    """Content-Disposition's filename, else the URL path's last segment, else `download`."""
    match = _FILENAME.search(response.headers.get("content-disposition", ""))
    if match:
        name = unquote(match.group(1)).replace("\\", "/").rsplit("/", 1)[-1]
    else:
        name = unquote(urlsplit(uri).path).rstrip("/").rsplit("/", 1)[-1]
    return name if name not in ("", ".", "..") else "download"


class Download(_Http):
    """Downloads a URL into internal storage; outputs `uri`, `code`, `length`, `headers`."""

    failOnEmptyResponse: bool = Field(True, description="Fail when the response has no body (else WARNING).")

    def run(self, ctx: RunContext) -> dict[str, Any]:
        import httpx

        ctx.log.info(f"downloading {self.uri}")
        try:
            with self._client() as client, client.stream(self.method.upper(), self.uri, **self._request_args(ctx)) as response:
                if response.status_code >= 400:
                    raise TaskFailure(f"{self.method.upper()} {self.uri} failed: {_status(response)}")
                uri = ctx.output_uri(file_name(response, self.uri))
                length = 0
                with ctx.storage.writer(uri) as out:
                    for chunk in response.iter_bytes(CHUNK):
                        out.write(chunk)
                        length += len(chunk)
                    if length == 0 and self.failOnEmptyResponse:
                        raise TaskFailure(f"{self.method.upper()} {self.uri}: empty response ({_status(response)}); set failOnEmptyResponse: false to accept it")
                code, headers = response.status_code, _headers(response)
        except httpx.HTTPError as err:
            raise self._fail(err) from None
        if length == 0:
            ctx.warning(f"{self.uri}: empty response")
        ctx.log.info(f"downloaded {length} bytes from {self.uri} to {uri}")
        return {"uri": uri, "code": code, "length": length, "headers": headers}


class Request(_Http):
    """Sends one HTTP request; outputs `uri`, `code`, `headers`, `body` (text)."""

    allowFailed: bool = Field(False, description="Succeed even on a 4xx/5xx status (also options.allowFailed).")

    def run(self, ctx: RunContext) -> dict[str, Any]:
        import httpx

        allow_failed = self.allowFailed or bool(self.options and self.options.allowFailed)
        try:
            with self._client() as client, client.stream(self.method.upper(), self.uri, **self._request_args(ctx)) as response:
                if response.status_code >= 400 and not allow_failed:
                    raise TaskFailure(f"{self.method.upper()} {self.uri} failed: {_status(response)}")
                chunks, size = [], 0
                for chunk in response.iter_bytes(CHUNK):
                    size += len(chunk)
                    if size > BODY_LIMIT:
                        raise TaskFailure(
                            f"{self.method.upper()} {self.uri}: the response body exceeds {BODY_LIMIT} bytes; "
                            "use io.kestra.plugin.core.http.Download for large responses"
                        )
                    chunks.append(chunk)
                body = b"".join(chunks).decode(response.encoding or "utf-8", errors="replace")
                code, headers = response.status_code, _headers(response)
        except httpx.HTTPError as err:
            raise self._fail(err) from None
        ctx.log.info(f"{self.method.upper()} {self.uri}: HTTP {code}, {size} bytes")
        return {"uri": self.uri, "code": code, "headers": headers, "body": body}
