"""requirements.lock pins what pyproject.toml allows: the operator image installs exactly it.

No cluster: this reads the two files. When it fails after a dependency was added or a range
changed, run `tests/lock` (it keeps the other pins) and commit requirements.lock.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# The environments the lock is for: the image's Python (Debian bookworm's 3.11 on Linux) and a
# newer one, as `--universal` promises.
ENVIRONMENTS = [
    {**default_environment(), "python_version": "3.11", "python_full_version": "3.11.2", "sys_platform": "linux",
     "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64", "implementation_name": "cpython",
     "platform_python_implementation": "CPython"},
    {**default_environment(), "python_version": "3.13", "python_full_version": "3.13.1", "sys_platform": "linux",
     "platform_system": "Linux", "os_name": "posix", "platform_machine": "aarch64", "implementation_name": "cpython",
     "platform_python_implementation": "CPython"},
]


def lock_entries(text: str) -> list[tuple[Requirement, list[str]]]:
    """Each pinned requirement of a pip requirements file with its --hash values."""
    entries = []
    for logical in re.sub(r"\\\n", " ", text).splitlines():
        line = logical.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        spec, *options = re.split(r"\s+(?=--)", line)
        hashes = [o.split("=", 1)[1] for o in options if o.startswith("--hash=")]
        entries.append((Requirement(spec), hashes))
    return entries


def pins_for(environment: dict[str, str]) -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for req, _ in lock_entries(LOCK.read_text()):
        if req.marker is None or req.marker.evaluate(environment):
            (spec,) = req.specifier
            assert canonicalize_name(req.name) not in pins, f"{req.name} pinned twice for {environment['python_version']}"
            pins[canonicalize_name(req.name)] = Version(spec.version)
    return pins


def declared() -> list[Requirement]:
    return [Requirement(r) for r in PYPROJECT["project"]["dependencies"] + PYPROJECT["build-system"]["requires"]]


def test_every_line_is_an_exact_pin_with_hashes():
    entries = lock_entries(LOCK.read_text())
    assert len(entries) > 10
    for req, hashes in entries:
        (spec,) = req.specifier
        assert spec.operator == "==" and "*" not in spec.version, f"{req}: not an exact pin"
        assert hashes and all(h.startswith("sha256:") for h in hashes), f"{req}: no sha256 hash"


@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=lambda e: f"py{e['python_version']}-{e['platform_machine']}")
def test_lock_satisfies_pyproject(environment):
    pins = pins_for(environment)
    problems = []
    for req in declared():
        if req.marker is not None and not req.marker.evaluate(environment):
            continue
        pinned = pins.get(canonicalize_name(req.name))
        if pinned is None:
            problems.append(f"{req} is not in requirements.lock")
        elif not req.specifier.contains(pinned, prereleases=True):
            problems.append(f"{req} but requirements.lock pins {req.name}=={pinned}")
    assert not problems, "requirements.lock is stale; run tests/lock:\n" + "\n".join(problems)


def test_a_stale_lock_fails_the_check(monkeypatch, tmp_path):
    """The check above fails on a lock that misses a dependency or pins outside its range."""
    stale = tmp_path / "requirements.lock"
    text = LOCK.read_text()
    text = re.sub(r"^pydantic==\S+", "pydantic==1.10.0", text, flags=re.M)
    text = re.sub(r"^rich==.*?(?=^\S)", "", text, flags=re.M | re.S)
    stale.write_text(text)
    monkeypatch.setitem(globals(), "LOCK", stale)
    with pytest.raises(AssertionError) as err:
        test_lock_satisfies_pyproject(ENVIRONMENTS[0])
    assert "pydantic" in str(err.value) and "rich" in str(err.value) and "pins pydantic==1.10.0" in str(err.value)


def test_the_image_installs_the_lock_by_hash():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --require-hashes --no-deps -r /src/requirements.lock" in dockerfile
    assert "COPY requirements.lock" in dockerfile
    # kflow itself goes in without resolving anything else.
    assert "pip install --no-deps --no-build-isolation /src" in dockerfile
