"""install.py: quiet when satisfied, never lets pip touch the host's torch."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ci_engine.testing import synthetic_images

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("ci_install", ROOT / "install.py")
install = importlib.util.module_from_spec(spec)
spec.loader.exec_module(install)


def test_requirements_never_name_torch():
    names = {line.split("=")[0].split("<")[0].split(">")[0].strip().lower() for line in install.requirement_lines()}
    assert not names & {"torch", "torchvision", "torchaudio"}
    assert "clip-interrogator" in names


def test_satisfied_environment_runs_nothing_and_prints_nothing():
    result = subprocess.run([sys.executable, str(ROOT / "install.py")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""


def test_missing_requirements_are_installed_with_torch_pinned(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pytest>=1\nsurely-not-installed-pkg>=1.0  # comment\n")
    calls = []

    def fake_run(command):
        calls.append((command, Path(command[command.index("--constraint") + 1]).read_text()))
        return subprocess.CompletedProcess(command, 0)

    assert install.main(requirements, run=fake_run) == 0
    ((command, constraints),) = calls
    assert command[-1] == "surely-not-installed-pkg>=1.0" and "pytest>=1" not in command
    assert f"torch=={importlib.metadata.version('torch')}" in constraints
    assert "torchaudio<0" in constraints  # absent here: pinned so that pip cannot add it
    assert f"pytest=={importlib.metadata.version('pytest')}" in constraints  # met: never upgraded


def test_without_pip_uv_is_used_or_the_message_says_how(capsys, tmp_path, monkeypatch):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("surely-not-installed-pkg>=1.0\n")
    calls = []
    found = {"pip": None, "uv": object()}
    monkeypatch.setattr(install, "installed", lambda name: found.get(name) is not None)
    assert install.main(requirements, run=lambda c: calls.append(c) or subprocess.CompletedProcess(c, 0)) == 0
    assert calls[0][:5] == [sys.executable, "-m", "uv", "pip", "install"]
    found["uv"] = None
    monkeypatch.setattr(install, "which", lambda name: None)
    assert install.main(requirements, run=lambda c: calls.append(c)) == 1 and len(calls) == 1
    assert "neither pip nor uv" in capsys.readouterr().err


def test_offline_failure_says_what_to_do(capsys, tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("surely-not-installed-pkg>=1.0\n")
    assert install.main(requirements, run=lambda command: subprocess.CompletedProcess(command, 1)) == 1
    err = capsys.readouterr().err
    assert f"pip install -r {requirements}" in err and "offline?" not in err


def test_version_is_written_once_in_pyproject():
    import re

    import ci_engine

    written = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE).group(1)
    assert ci_engine.__version__ == written
    assert not re.search(r'__version__\s*=\s*"', (ROOT / "ci_engine" / "__init__.py").read_text())


def test_pyproject_dependencies_equal_requirements_txt():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    listed = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line and line[0] != "#"]
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"] == listed


def test_wheel_ships_the_data_and_its_command_line_runs(tmp_path, model_dir, full_tables_cache):
    pytest.importorskip("setuptools", minversion="64")  # built here, without reaching an index
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    source = tmp_path / "source"  # setuptools writes build/ and egg-info beside the sources: not in the checkout
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__", "venv"))
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", wheels, source], check=True)
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", site, *wheels.glob("*.whl")], check=True)
    env = {**os.environ, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1"}
    image = tmp_path / "img.png"
    synthetic_images(1)[0].save(image)
    clip = model_dir / "clip" / "TinyCLIP.safetensors"
    command = [sys.executable, "-m", "ci_engine", image, "--clip-checkpoint", clip, "--caption", "a barn", "--json"]
    args = [*command, "--mode", "fast", "--cache-dir", full_tables_cache]
    done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["prompt"].startswith("a barn, ")
    where = [sys.executable, "-c", "import ci_engine.vocab as v; print(v.__file__, v.PROJECT_DATA)"]
    located = subprocess.run(where, capture_output=True, text=True, env=env, cwd=tmp_path, check=True).stdout
    assert located.startswith(str(site)) and (site / "ci_engine" / "project_data" / "trending_sites.txt").is_file()


def test_readme_clones_the_registry_folder_from_the_repository_url():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    clone = f"git clone {project['urls']['Repository']} {project['name']}"
    assert clone in (ROOT / "README.md").read_text()
