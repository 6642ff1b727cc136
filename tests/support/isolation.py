"""Run Python code in a fresh interpreter where some modules cannot be imported."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable


def run_without(modules: Iterable[str], code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `code` (with `args` in sys.argv[1:]) where importing any of `modules` fails."""
    blocked = "".join(f"sys.modules[{name!r}] = None\n" for name in modules)
    script = f"import sys\n{blocked}{code}"
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True)
