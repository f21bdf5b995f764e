"""versitygw (Apache-2.0), a real S3 server, built from its Go module and run on loopback.

The binary is built once (`go install`, a few minutes on 2 cores) and cached outside the repo
in `~/.cache/kflow-servers/versitygw-<version>/versitygw`; `ensure_binary()` is idempotent and
safe to call from several processes at once (a file lock). Run `python -m tests.servers.versitygw`
to build it ahead of time.

`S3Server` runs it with the posix backend on a temp directory (objects are plain files; metadata
in extended attributes), with one root access key, on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

MODULE = "github.com/versity/versitygw/cmd/versitygw"
VERSION = "v1.8.0"
CACHE = Path(os.environ.get("KFLOW_SERVERS_CACHE", Path.home() / ".cache" / "kflow-servers"))


def binary_path() -> Path:
    return CACHE / f"versitygw-{VERSION}" / "versitygw"


def _go() -> str:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if go is None:
        raise RuntimeError("versitygw must be built from its Go module, and no `go` toolchain is installed")
    return go


def ensure_binary(timeout: float = 1800) -> Path:
    """The versitygw binary, built first if missing."""
    target = binary_path()
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():  # built by another process while we waited
            return target
        gobin = Path(tempfile.mkdtemp(prefix=".gobin-", dir=target.parent))
        try:
            env = {**os.environ, "GOBIN": str(gobin), "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
            proc = subprocess.run([_go(), "install", f"{MODULE}@{VERSION}"], env=env, capture_output=True, text=True, timeout=timeout)
            if proc.returncode != 0:
                raise RuntimeError(f"building versitygw {VERSION} failed:\n{proc.stderr[-4000:]}")
            os.replace(gobin / "versitygw", target)
        finally:
            shutil.rmtree(gobin, ignore_errors=True)
    return target


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class S3Server:
    def __init__(self, access_key: str, secret_key: str, region: str = "us-east-1", host: str = "127.0.0.1") -> None:
        """`host`: loopback by default; the test cluster's bridge address for pods to reach it."""
        self.host = host
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.port = free_port(host)
        self.root = Path(tempfile.mkdtemp(prefix="kflow-s3-"))
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30) -> S3Server:
        binary = ensure_binary()
        (self.root / "data").mkdir()
        self.log = open(self.root / "versitygw.log", "wb")
        self.proc = subprocess.Popen(
            [str(binary), "--port", f"{self.host}:{self.port}", "--region", self.region, "--quiet", "posix", str(self.root / "data")],
            env={**os.environ, "ROOT_ACCESS_KEY_ID": self.access_key, "ROOT_SECRET_ACCESS_KEY": self.secret_key},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"versitygw exited with {self.proc.returncode}: {(self.root / 'versitygw.log').read_text()[-2000:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"versitygw did not listen on port {self.port} within {timeout:g}s")

    def client(self, access_key: str | None = None, secret_key: str | None = None):
        from kflow.storage.s3 import make_client

        return make_client(
            endpoint=self.endpoint,
            region=self.region,
            access_key=access_key or self.access_key,
            secret_key=secret_key or self.secret_key,
        )

    def ensure_bucket(self, name: str) -> None:
        client = self.client()
        try:
            client.head_bucket(Bucket=name)
        except Exception:  # noqa: BLE001 - absent: create it
            client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)


if __name__ == "__main__":
    started = time.monotonic()
    print(ensure_binary(), f"({time.monotonic() - started:.0f}s)")
