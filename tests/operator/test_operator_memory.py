"""The operator caps glibc's malloc arenas (memory.py) in its own process (real, not mocked)."""

import subprocess
import sys


def test_the_arena_limit_is_taken_by_glibc():
    out = subprocess.run([sys.executable, "-c", "from kflow.operator.memory import limit_malloc_arenas; print(limit_malloc_arenas())"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
