"""Installs the pack's missing requirements (ComfyUI-Manager runs this after cloning).

Idempotent and quiet: nothing happens when every requirement is met. torch, torchvision
and torchaudio belong to ComfyUI: they are pinned to their installed versions, so pip can
neither change nor add them, and requirements already met are pinned where they are. pip is
used, else uv; offline, the installer fails fast and we say what to do.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import tempfile
from pathlib import Path
from shutil import which

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


def met_pins(lines: list[str]) -> list[str]:
    """Every requirement already met, at its installed version: installing what is missing
    must never upgrade what the host has."""
    from packaging.requirements import Requirement

    return [f"{Requirement(line).name}=={importlib.metadata.version(Requirement(line).name)}" for line in lines]


def installed(name: str) -> bool:
    """Whether distribution ``name`` is installed here (read from metadata: asking the import
    system about "pip" would switch setuptools' distutils shim off in this process)."""
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def installer() -> list[str] | None:
    """pip of this Python, else uv (environments made by uv have no pip); None if neither."""
    if installed("pip"):
        return [sys.executable, "-m", "pip", "install", "--retries", "0", "--timeout", "15"]
    if installed("uv"):
        return [sys.executable, "-m", "uv", "pip", "install", "--python", sys.executable]
    uv = which("uv")
    return [uv, "pip", "install", "--python", sys.executable] if uv else None


def main(requirements: Path = REQUIREMENTS, run=subprocess.run) -> int:
    """Installs the missing requirements; returns the installer's exit status (0: nothing to do)."""
    lines = requirement_lines(requirements)
    missing = [line for line in lines if not is_met(line)]
    if not missing:
        return 0
    command = installer()
    if command is None:
        print(
            f"[ci-interrogator] this Python has neither pip nor uv: install {', '.join(missing)} into it "
            f"yourself (for example: uv pip install --python {sys.executable} -r {requirements})",
            file=sys.stderr,
        )
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        constraints = Path(tmp) / "host-constraints.txt"
        pins = host_pins() + met_pins([line for line in lines if line not in missing])
        constraints.write_text("\n".join(pins) + "\n", encoding="utf-8")
        result = run([*command, "--quiet", "--constraint", str(constraints), *missing])
    if result.returncode != 0:
        print(
            f"[ci-interrogator] installing {', '.join(missing)} failed (the installer's error is above). "
            f"Install them into ComfyUI's Python with: pip install -r {requirements}",
            file=sys.stderr,
        )
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
