"""Run a README.md ```sh block as written (each line, its comment cut), for the tests that promise it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def readme_commands(heading: str) -> list[str]:
    block = (ROOT / "README.md").read_text().split(heading, 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]


def run_readme_commands(heading: str, data_home: Path, *extra: str) -> list[subprocess.CompletedProcess]:
    """Each command with `kflow` on PATH and the KV store under `data_home` (XDG_DATA_HOME)."""
    env = {k: v for k, v in os.environ.items() if k != "KFLOW_KV_DIR"}
    env.update(XDG_DATA_HOME=str(data_home), PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    return [subprocess.run(["bash", "-c", " ".join([command, *extra])], capture_output=True, text=True, timeout=180, cwd=ROOT, env=env)
            for command in readme_commands(heading)]
