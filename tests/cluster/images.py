"""Container images of the test cluster, built without any registry.

* ``PAUSE_IMAGE``: a static Go program (waits for SIGTERM, reaps children) in a scratch
  image; containerd's CRI plugin is configured with it as ``sandbox_image``.
* ``TEST_IMAGE``: busybox-static (Debian's ``busybox-static``) in a scratch image, with the
  applets linked in /bin (``sh``, ``echo``, ``sleep``, ``dd``, ...).
* ``BASE_IMAGE``: Debian bookworm minbase + python3, python3-venv, ca-certificates made with
  debootstrap, turned into an image with ``buildah from scratch`` / mount / copy / commit.
* ``PROJECT_IMAGE``: the repository's ``Dockerfile`` built with ``buildah bud --layers`` on
  ``BASE_IMAGE``; the dependency layer is cached, so a rebuild after a code change takes
  seconds.

buildah keeps its own storage under ``<cache>/buildah`` (overlay driver).  Images reach
containerd's ``k8s.io`` namespace as ``buildah push IMG oci-archive:FILE:IMG`` +
``ctr -n k8s.io images import FILE``.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from . import build
from .build import CACHE, log

PAUSE_IMAGE = "localhost/kflow-pause:1"
TEST_IMAGE = "localhost/kflow-test:busybox"
BASE_IMAGE = "localhost/kflow-base:bookworm-py3"
# KFLOW_TEST_IMAGE lets several checkouts share one test cluster without clobbering each
# other's image (each builds and loads its own tag).
PROJECT_IMAGE = os.environ.get("KFLOW_TEST_IMAGE", "localhost/kflow:dev")

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILDAH_DIR = CACHE / "buildah"
ARCHIVES = CACHE / "images"
HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

PAUSE_SRC = """package main

import (
	"os"
	"os/signal"
	"syscall"
)

// A pod sandbox's first process: holds the namespaces, reaps orphans, exits on SIGTERM/SIGINT.
func main() {
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sigs {
		if s == syscall.SIGCHLD {
			for {
				var ws syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
"""


def buildah(*args: str, capture: bool = True, check: bool = True) -> subprocess.CompletedProcess:
    cmd = ["buildah", "--root", str(BUILDAH_DIR / "storage"), "--runroot", str(BUILDAH_DIR / "runroot"),
           "--storage-driver", "overlay", *args]
    return subprocess.run(cmd, check=check, text=True, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.PIPE if capture else None)


def buildah_image_id(name: str) -> str | None:
    res = buildah("inspect", "--type", "image", "--format", "{{.FromImageID}}", name, check=False)
    return res.stdout.strip() or None if res.returncode == 0 else None


def image_from_tree(tree: Path, name: str, config: list[str]) -> None:
    """Commit the directory ``tree`` as image ``name`` (buildah from scratch/mount/copy/commit)."""
    ctr = buildah("from", "scratch").stdout.strip()
    try:
        mnt = buildah("mount", ctr).stdout.strip()
        subprocess.run(["cp", "-a", f"{tree}/.", mnt], check=True)
        buildah("umount", ctr)
        if config:
            buildah("config", *config, ctr)
        buildah("commit", "--rm", ctr, name)
    except BaseException:
        buildah("rm", ctr, check=False)
        raise


def _pause_binary() -> Path:
    d = build.component_dir("pause", "1")
    out = d / "pause"
    if out.exists():
        return out
    src = d / "src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "go.mod").write_text("module kflowbuild/pause\n\ngo 1.22\n")
    (src / "main.go").write_text(PAUSE_SRC)
    subprocess.run([build.go_binary(), "build", "-trimpath", "-ldflags=-s -w", "-o", str(out), "."],
                   cwd=src, env=build._go_env(), check=True)
    return out


def ensure_pause_image() -> None:
    if buildah_image_id(PAUSE_IMAGE):
        return
    log("building the pause image")
    binary = _pause_binary()
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy2(binary, Path(tmp) / "pause")
        image_from_tree(Path(tmp), PAUSE_IMAGE, ["--entrypoint", '["/pause"]', "--user", "65535:65535"])


def ensure_test_image() -> None:
    if buildah_image_id(TEST_IMAGE):
        return
    log("building the busybox test image")
    busybox = Path("/bin/busybox")
    applets = subprocess.run([str(busybox), "--list"], check=True, capture_output=True, text=True).stdout.split()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "bin").mkdir()
        (root / "tmp").mkdir(mode=0o1777)
        (root / "tmp").chmod(0o1777)
        (root / "etc").mkdir()
        (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n")
        (root / "etc" / "group").write_text("root:x:0:\nnobody:x:65534:\n")
        shutil.copy2(busybox, root / "bin" / "busybox")
        for a in applets:
            if a != "busybox" and not (root / "bin" / a).exists():
                os.symlink("busybox", root / "bin" / a)
        image_from_tree(root, TEST_IMAGE, ["--cmd", '["/bin/sh"]', "--env", "PATH=/bin"])


def ensure_base_image() -> None:
    if buildah_image_id(BASE_IMAGE):
        return
    log("building the Debian bookworm + python3 base image with debootstrap (about a minute)")
    work = CACHE / "base-bookworm-py3"
    if work.exists():
        shutil.rmtree(work)
    rootfs = work / "rootfs"
    rootfs.mkdir(parents=True)
    t = time.monotonic()
    subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
                    "bookworm", str(rootfs), "http://deb.debian.org/debian"],
                   check=True, stdout=subprocess.DEVNULL)
    for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for p in (rootfs / junk).glob("*"):
            if p.is_file():
                p.unlink()
    image_from_tree(rootfs, BASE_IMAGE, [
        "--cmd", '["python3"]',
        "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--env", "LANG=C.UTF-8"])
    shutil.rmtree(work)
    log(f"base image built in {time.monotonic() - t:.0f} s")


def _build_context() -> Path:
    """A clean build context: Dockerfile, requirements.lock, pyproject.toml, README.md and kflow/ (no caches)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    ctx = Path(tempfile.mkdtemp(prefix="context-", dir=CACHE))
    for f in ("Dockerfile", "requirements.lock", "pyproject.toml", "README.md"):
        if (REPO_ROOT / f).exists():
            shutil.copy2(REPO_ROOT / f, ctx / f)
    shutil.copytree(REPO_ROOT / "kflow", ctx / "kflow",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    return ctx


def build_project_image() -> str:
    """``buildah bud`` the repository's Dockerfile; returns the image id."""
    ensure_base_image()
    ctx = _build_context()
    t = time.monotonic()
    try:
        res = buildah("bud", "--layers", "--isolation", "chroot", "--pull=false",
                      "--build-arg", f"BASE_IMAGE={BASE_IMAGE}",
                      "--volume", f"{HOST_CA_BUNDLE}:{HOST_CA_BUNDLE}:ro",
                      "-f", str(ctx / "Dockerfile"), "-t", PROJECT_IMAGE, str(ctx), check=False)
    finally:
        shutil.rmtree(ctx, ignore_errors=True)
    if res.returncode != 0:
        raise RuntimeError(f"buildah bud failed:\n{res.stdout[-4000:]}\n{res.stderr[-4000:]}")
    log(f"project image {PROJECT_IMAGE} built in {time.monotonic() - t:.1f} s")
    return buildah_image_id(PROJECT_IMAGE) or ""


# --- containerd side -------------------------------------------------------------------

def ctr(address: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ctr", "--address", str(address), "-n", "k8s.io", *args],
                          check=check, text=True, capture_output=True, stdin=subprocess.DEVNULL)


def containerd_images(address: Path) -> set[str]:
    return set(ctr(address, "images", "ls", "-q").stdout.split())


def import_image(address: Path, name: str, stamp_dir: Path) -> None:
    """Import buildah's ``name`` into containerd unless that exact image id is already there."""
    image_id = buildah_image_id(name)
    if not image_id:
        raise RuntimeError(f"no buildah image {name}")
    stamp = stamp_dir / (hashlib.sha256(name.encode()).hexdigest()[:16] + ".json")
    if name in containerd_images(address) and stamp.exists() and json.loads(stamp.read_text()).get("id") == image_id:
        return
    t = time.monotonic()
    ARCHIVES.mkdir(parents=True, exist_ok=True)
    archive = ARCHIVES / (name.replace("/", "_").replace(":", "_") + ".tar")
    archive.unlink(missing_ok=True)
    res = buildah("push", "--disable-compression", name, f"oci-archive:{archive}:{name}", check=False)
    if res.returncode != 0:
        raise RuntimeError(f"buildah push {name} failed: {res.stderr}")
    res = ctr(address, "images", "import", "--snapshotter", "overlayfs", str(archive), check=False)
    if res.returncode != 0:
        raise RuntimeError(f"ctr import {name} failed: {res.stderr}")
    archive.unlink(missing_ok=True)
    if name not in containerd_images(address):
        raise RuntimeError(f"{name} not in containerd after import: {containerd_images(address)}")
    stamp_dir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps({"id": image_id}))
    log(f"imported {name} into containerd in {time.monotonic() - t:.1f} s")
