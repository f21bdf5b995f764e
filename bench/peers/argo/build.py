"""Build Argo Workflows' workflow-controller and argoexec from the Go module, for the side by
side benchmark only (a test-only tool on the isolated test cluster, never a kflow dependency).

Run: python bench/peers/argo/build.py   (prints the directory holding both binaries)

`go install ...@v4.0.5` fails: `workflow/executor/osspecific/signal_linux.go` is a symlink
upstream and module zips leave symlinks out. So the module is downloaded through the module
proxy, copied, the symlink restored as a copy of `signal_darwin.go` (its target), and both
commands built with CGO_ENABLED=0. Everything lives under ~/.cache/kflow-peers (about 4 min
cold on 2 idle cores); nothing of Argo's is kept in this repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

MODULE = "github.com/argoproj/argo-workflows/v4"
VERSION = "v4.0.5"
CACHE = Path(os.environ.get("KFLOW_PEERS_CACHE", Path.home() / ".cache" / "kflow-peers"))
HOME = CACHE / f"argo-{VERSION}"
BIN = HOME / "bin"
COMMANDS = ("workflow-controller", "argoexec")


def go_env() -> dict[str, str]:
    return {
        **os.environ,
        "GOMODCACHE": str(CACHE / "go" / "mod"),
        "GOCACHE": str(CACHE / "go" / "build"),
        "GOFLAGS": "-modcacherw",
        "CGO_ENABLED": "0",
    }


def go() -> str:
    return shutil.which("go") or "/usr/local/go/bin/go"


def build() -> Path:
    if all((BIN / name).exists() for name in COMMANDS):
        return BIN
    started = time.monotonic()
    info = json.loads(subprocess.run([go(), "mod", "download", "-json", f"{MODULE}@{VERSION}"], env=go_env(), check=True, capture_output=True, text=True, cwd=CACHE).stdout)
    src = HOME / "src"
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(info["Dir"], src)
    for path in src.rglob("*"):
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)
    osspecific = src / "workflow" / "executor" / "osspecific"
    shutil.copy2(osspecific / "signal_darwin.go", osspecific / "signal_linux.go")
    BIN.mkdir(parents=True, exist_ok=True)
    subprocess.run([go(), "build", "-trimpath", "-ldflags=-s -w", "-o", str(BIN) + "/", *(f"./cmd/{name}" for name in COMMANDS)], env=go_env(), check=True, cwd=src)
    print(f"built {', '.join(COMMANDS)} {VERSION} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return BIN


def crds_dir() -> Path:
    """The module's minimal CRDs (built first: they come with the module's source)."""
    return HOME / "src" / "manifests" / "base" / "crds" / "minimal"


if __name__ == "__main__":
    CACHE.mkdir(parents=True, exist_ok=True)
    print(build())
