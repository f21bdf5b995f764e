"""Build (once) and cache the pinned binaries the test cluster runs.

Everything lives outside the repository, under ``$KFLOW_CLUSTER_CACHE`` (default
``~/.cache/kflow-cluster``), in one directory per component and version, e.g.
``kubernetes-v1.34.4/bin/kube-apiserver``.  A directory is only considered built when its
``.done`` marker exists, so an interrupted build is simply redone and a complete one is
never rebuilt.  The Go module and build caches are kept under ``<cache>/go`` too.

Kubernetes is built from the ``k8s.io/kubernetes`` module inside a throw-away module whose
go.mod replaces every staging module (``k8s.io/api`` ...) with its published ``v0.X.Y``
(k8s.io/kubernetes' own go.mod points them at local ``./staging`` paths, which a dependency
cannot use).  All Kubernetes commands are compiled by one ``go build`` so the shared
packages are compiled once.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

K8S_VERSION = "v1.34.4"
ETCD_VERSION = "v3.6.16"
HELM_VERSION = "v3.21.4"

K8S_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy",
                "kubectl")

CACHE = Path(os.environ.get("KFLOW_CLUSTER_CACHE", str(Path.home() / ".cache" / "kflow-cluster")))

APT_PACKAGES = (
    "containerd", "runc", "containernetworking-plugins", "buildah", "debootstrap",
    "iptables", "conntrack", "busybox-static", "iproute2", "openssl", "util-linux",
)


def log(msg: str) -> None:
    print(f"[kflow-cluster] {msg}", file=sys.stderr, flush=True)


def component_dir(name: str, version: str) -> Path:
    return CACHE / f"{name}-{version}"


def k8s_bin(cmd: str) -> Path:
    return component_dir("kubernetes", K8S_VERSION) / "bin" / cmd


def etcd_bin() -> Path:
    return component_dir("etcd", ETCD_VERSION) / "bin" / "etcd"


def helm_bin() -> Path:
    return component_dir("helm", HELM_VERSION) / "bin" / "helm"


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    go = CACHE / "go"
    env.update(
        GOMODCACHE=str(go / "mod"),
        GOCACHE=str(go / "build"),
        GOPATH=str(go / "path"),
        GOFLAGS="-mod=mod -buildvcs=false",
        GOTOOLCHAIN="local",
        CGO_ENABLED="0",
    )
    return env


def go_binary() -> str:
    found = shutil.which("go") or next((p for p in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go")
                                        if os.access(p, os.X_OK)), None)
    if not found:
        raise FileNotFoundError("no Go toolchain (go) on PATH or in /usr/local/go/bin")
    return found


def _go(args: list[str], cwd: Path, capture: bool = False) -> str:
    log(f"go {' '.join(args)}")
    res = subprocess.run(
        [go_binary(), *args], cwd=cwd, env=_go_env(), check=True,
        stdout=subprocess.PIPE if capture else None, text=True,
    )
    return res.stdout if capture else ""


def _is_done(d: Path) -> bool:
    return (d / ".done").exists()


def _mark_done(d: Path, started: float) -> None:
    secs = time.monotonic() - started
    (d / ".done").write_text(json.dumps({"seconds": round(secs, 1), "at": time.time()}) + "\n")
    log(f"built {d.name} in {secs:.0f} s")


def _fresh_module(d: Path, name: str) -> Path:
    src = d / "src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    (src / "go.mod").write_text(f"module kflowbuild/{name}\n\ngo 1.24.0\n")
    (d / "bin").mkdir(parents=True, exist_ok=True)
    return src


def build_kubernetes() -> Path:
    d = component_dir("kubernetes", K8S_VERSION)
    missing = [c for c in K8S_COMMANDS if not (d / "bin" / c).exists()]
    if _is_done(d) and not missing:
        return d / "bin"
    if not _is_done(d):
        missing = list(K8S_COMMANDS)
    started = time.monotonic()
    src = _fresh_module(d, "kubernetes")
    info = json.loads(_go(["mod", "download", "-json", f"k8s.io/kubernetes@{K8S_VERSION}"], src, capture=True))
    upstream_gomod = Path(info["GoMod"]).read_text()
    staging = sorted(set(re.findall(r"^\s*(k8s\.io/[\w.\-/]+)\s+=>\s+\./staging/", upstream_gomod, re.M)))
    if not staging:
        raise RuntimeError("found no staging replace lines in k8s.io/kubernetes go.mod")
    staging_version = "v0." + K8S_VERSION.split(".", 1)[1]
    lines = [f"module kflowbuild/kubernetes", "", "go 1.24.0", "",
             f"require k8s.io/kubernetes {K8S_VERSION}", ""]
    lines += [f"replace {m} => {m} {staging_version}" for m in staging]
    (src / "go.mod").write_text("\n".join(lines) + "\n")
    major, minor = K8S_VERSION.lstrip("v").split(".")[:2]
    xs = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        xs += [
            f"-X {pkg}.gitVersion={K8S_VERSION}", f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}", f"-X {pkg}.gitTreeState=clean",
            f"-X {pkg}.gitCommit=0000000000000000000000000000000000000000",
            f"-X {pkg}.buildDate=1970-01-01T00:00:00Z",
        ]
    ldflags = " ".join(["-s", "-w", *xs])
    _go(["build", "-trimpath", f"-ldflags={ldflags}", "-o", str(d / "bin") + "/",
         *[f"k8s.io/kubernetes/cmd/{c}" for c in missing]], src)
    if (d / ".done").exists():  # an added command: keep the first build's figure
        log(f"built {' '.join(missing)} in {time.monotonic() - started:.0f} s")
    else:
        _mark_done(d, started)
    return d / "bin"


def build_etcd() -> Path:
    d = component_dir("etcd", ETCD_VERSION)
    if _is_done(d):
        return d / "bin"
    started = time.monotonic()
    src = _fresh_module(d, "etcd")
    _go(["get", f"go.etcd.io/etcd/server/v3@{ETCD_VERSION}"], src)
    _go(["build", "-trimpath", "-ldflags=-s -w", "-o", str(d / "bin" / "etcd"), "go.etcd.io/etcd/server/v3"], src)
    _mark_done(d, started)
    return d / "bin"


def build_helm() -> Path:
    d = component_dir("helm", HELM_VERSION)
    if _is_done(d):
        return d / "bin"
    started = time.monotonic()
    src = _fresh_module(d, "helm")
    _go(["get", f"helm.sh/helm/v3@{HELM_VERSION}"], src)
    ldflags = f"-s -w -X helm.sh/helm/v3/internal/version.version={HELM_VERSION}"
    _go(["build", "-trimpath", f"-ldflags={ldflags}", "-o", str(d / "bin" / "helm"), "helm.sh/helm/v3/cmd/helm"], src)
    _mark_done(d, started)
    return d / "bin"


def ensure_apt_packages() -> None:
    missing = [p for p in APT_PACKAGES if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True).stdout != "install ok installed"]
    if not missing:
        return
    log(f"apt-get install {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
                   check=True, env=env, stdout=subprocess.DEVNULL)


def build_all() -> None:
    ensure_apt_packages()
    build_kubernetes()
    build_etcd()
    build_helm()


if __name__ == "__main__":
    build_all()
