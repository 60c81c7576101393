"""Install modreport, pinned by constraints.txt, into the Python that runs this script (the README's setup).

    python3 -m venv .venv && .venv/bin/python scripts/install.py          # modreport
    python3 -m venv .venv && .venv/bin/python scripts/install.py test     # and what the tests need

On Linux, PyPI's torch is the CUDA build: it pulls in about 19 CUDA packages, gigabytes that a CPU does
not use. PyTorch's CPU build comes from its own index, so torch is installed from there first, alone;
the rest then comes from PyPI and keeps that torch. Where that index cannot be reached, pip would not
fail but warn and retry it for every package (about 8 s each, far longer where a firewall drops the
packets), so it is asked once, with a short timeout, and torch comes from PyPI when it does not answer.
MODREPORT_TORCH_INDEX names another index (a mirror of the CPU one).
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
ANSWER_SECONDS = 10  # how long the CPU index may take to answer at all


def answers(index: str, seconds: float) -> bool:
    """Whether ``index`` answers (with any HTTP status) within ``seconds``."""
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{index}/torch/", method="HEAD"), timeout=seconds):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def pip_install(*arguments: str) -> int:
    return subprocess.call([sys.executable, "-m", "pip", "install", "-c", "constraints.txt", *arguments], cwd=ROOT)


def installed_torch() -> str:
    """Which torch pip installed, read back from its metadata: the version, and how many CUDA packages it needs."""
    code = (
        "from importlib.metadata import requires, version\n"
        "print(version('torch'), sum(r.startswith('nvidia') for r in requires('torch') or []))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if result.returncode != 0:
        return "torch is not installed."
    found, cuda = result.stdout.split()
    return f"torch {found} installed, " + (f"with {cuda} CUDA packages." if int(cuda) else "without CUDA packages.")


def main(extras: list[str]) -> int:
    index = os.environ.get("MODREPORT_TORCH_INDEX", CPU_INDEX).rstrip("/")
    if sys.platform == "linux":  # elsewhere PyPI's torch is already the build without CUDA
        if not answers(index, ANSWER_SECONDS):
            print(f"{index} did not answer; torch comes from pip's other indexes instead.", file=sys.stderr)
        elif pip_install("--no-deps", "--index-url", index, "torch") != 0:
            print(f"torch could not be installed from {index}; it comes from pip's other indexes.", file=sys.stderr)
    code = pip_install("-e", f".[{','.join(extras)}]" if extras else ".")
    print(installed_torch(), file=sys.stderr)  # what pip chose, not what this script meant it to choose
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
