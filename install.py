"""Installs the pack's missing requirements (ComfyUI-Manager runs this after cloning).

Idempotent and quiet: nothing happens when every requirement is met. torch, torchvision
and torchaudio belong to ComfyUI: they are pinned to their installed versions, so pip can
neither change nor add them. Offline, pip fails fast and we say what to do.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import tempfile
from pathlib import Path

HOST_PACKAGES = ("torch", "torchvision", "torchaudio")
REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"


def requirement_lines(path: Path = REQUIREMENTS) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def is_met(line: str) -> bool:
    from packaging.requirements import Requirement

    requirement = Requirement(line)
    try:
        installed = importlib.metadata.version(requirement.name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return requirement.specifier.contains(installed, prereleases=True)


def host_pins() -> list[str]:
    """The host's torch packages at their installed versions (absent ones cannot be added)."""
    pins = []
    for name in HOST_PACKAGES:
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pins.append(f"{name}<0")  # no version satisfies this: pip may not install it
    return pins


def pip_command(missing: list[str], constraints: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--retries",
        "0",
        "--timeout",
        "15",
        "--constraint",
        str(constraints),
        *missing,
    ]


def main(requirements: Path = REQUIREMENTS, run=subprocess.run) -> int:
    missing = [line for line in requirement_lines(requirements) if not is_met(line)]
    if not missing:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        constraints = Path(tmp) / "host-constraints.txt"
        constraints.write_text("\n".join(host_pins()) + "\n", encoding="utf-8")
        result = run(pip_command(missing, constraints))
    if result.returncode != 0:
        print(
            f"[ci-interrogator] could not install {', '.join(missing)} (offline?). "
            f"Install them into ComfyUI's Python with: pip install -r {requirements}",
            file=sys.stderr,
        )
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
