"""The comfyui-harness as the browser check uses it: paths, tiny models and inputs, a newer
frontend, an offline Chromium, a server of its own, and one ui_probe.py page load."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PACK = "ci-prompt-interrogator"  # the folder name ComfyUI sees: /extensions/<PACK>/, /api/workflow_templates/<PACK>/
# Chromium without these reaches for Google services the offline machine cannot resolve.
OFFLINE_FLAGS = "--disable-quic --disable-background-networking --disable-component-update --disable-sync"


def harness_paths() -> dict[str, Path]:
    """The harness scripts, its home and venv python, and this check's work folder in that home."""
    harness = Path(os.environ.get("COMFY_HARNESS") or REPO.parent / "shared" / "comfyui-harness").resolve()
    home = Path(os.environ.get("COMFY_HARNESS_HOME") or Path.home() / ".cache" / "comfyui-harness").resolve()
    venv = Path(os.environ.get("COMFY_VENV") or home / "venv")
    python = Path(os.environ.get("COMFY_PYTHON") or venv / "bin" / "python")
    return {"harness": harness, "home": home, "python": python, "work": home / "tmp" / "ci-browser-check"}


def make_models(paths: dict[str, Path]) -> Path:
    """Tiny CLIP and BLIP under work/models (kept between runs: the label tables cache there)."""
    models = paths["work"] / "models"
    if (models / "clip_interrogator" / "clip" / "TinyCLIP.safetensors").exists():
        return models
    code = (
        "import sys; from pathlib import Path; from ci_engine.testing import save_clip, save_blip; "
        "m = Path(sys.argv[1]) / 'clip_interrogator'; save_clip(m / 'clip'); save_blip(m / 'caption' / 'tiny-blip')"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([str(paths["python"]), "-c", code, str(models)], check=True, env=env)
    return models


def make_inputs(paths: dict[str, Path]) -> Path:
    """example.png (the examples' image) and my_dataset/ (Caption Dataset's folder): noise PNGs."""
    inputs = paths["work"] / "input"
    code = (
        "import sys; from pathlib import Path; import numpy as np; from PIL import Image; "
        "d = Path(sys.argv[1]); (d / 'my_dataset').mkdir(parents=True, exist_ok=True); rng = np.random.default_rng(0); "
        "[Image.fromarray((rng.random((256, 256, 3)) * 255).astype('uint8')).save(d / p) "
        "for p in ('example.png', 'my_dataset/a.png', 'my_dataset/b.png')]"
    )
    if not (inputs / "example.png").exists():
        subprocess.run([str(paths["python"]), "-c", code, str(inputs)], check=True)
    return inputs


def newer_frontend(paths: dict[str, Path], version: str) -> Path:
    """The static folder of comfyui-frontend-package==version (pip download once, then reused)."""
    root = paths["home"] / "tmp" / "fe"
    static = root / "unpacked" / "comfyui_frontend_package" / "static"
    marker = root / "unpacked" / f"comfyui_frontend_package-{version}.dist-info"
    if static.is_dir() and marker.is_dir():
        return static
    root.mkdir(parents=True, exist_ok=True)
    pip = [str(paths["python"]), "-m", "pip", "download", "--no-deps", f"comfyui-frontend-package=={version}"]
    subprocess.run([*pip, "-d", str(root)], check=True)
    shutil.rmtree(root / "unpacked", ignore_errors=True)
    wheel = next(root.glob(f"comfyui_frontend_package-{version}-*.whl"))
    zipfile.ZipFile(wheel).extractall(root / "unpacked")
    return static


def offline_chromium(paths: dict[str, Path]) -> Path:
    """A wrapper ui_probe.py runs as $CHROMIUM: the real browser plus OFFLINE_FLAGS."""
    real = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not real:
        sys.exit("check_frontend.py: no chromium (apt-get install -y chromium, or set CHROMIUM)")
    wrapper = paths["work"] / "chromium-offline"
    wrapper.write_text(f'#!/bin/sh\nexec "{real}" {OFFLINE_FLAGS} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return wrapper


class Server:
    """The harness's server.sh with its own state folder, so a developer's running server is left alone."""

    def __init__(self, paths, models, inputs, front_end_root):
        self.script = str(paths["harness"] / "server.sh")
        self.env = {
            **os.environ,
            "COMFY_STATE_DIR": str(paths["work"] / "state"),
            "COMFY_PORT": "auto",
            "COMFY_MODELS_DIR": str(models),
            "COMFY_INPUT_DIR": str(inputs),
            "COMFY_EXTRA_ARGS": f"--front-end-root {front_end_root}" if front_end_root else "",
        }

    def __enter__(self):
        subprocess.run([self.script, "start", f"{PACK}={REPO}"], check=True, env=self.env)
        url = subprocess.run([self.script, "url"], check=True, env=self.env, capture_output=True, text=True)
        self.url = url.stdout.strip()
        return self

    def __exit__(self, *exc):
        subprocess.run([self.script, "stop"], env=self.env)

    def setting(self, name, value):
        req = urllib.request.Request(f"{self.url}/settings/{name}", data=json.dumps(value).encode(), method="POST")
        urllib.request.urlopen(req, timeout=30).close()


def probe(paths, server, chromium, cfg: dict, shot: Path) -> dict:
    """Loads the UI once and evaluates check_workflow.js with cfg; ui_probe.py's JSON answer."""
    run_timeout = cfg["run_timeout_s"]
    cfg = {"pack": PACK, **cfg}
    cmd = [
        str(paths["python"]), str(paths["harness"] / "ui_probe.py"), "--url", server.url,
        "--eval", f"window.CI_CHECK = {json.dumps(cfg)}; true",
        "--eval-file", str(HERE / "check_workflow.js"),
        "--screenshot", str(shot), "--timeout", str(run_timeout + 180),
    ]  # fmt: skip
    out = subprocess.run(cmd, env={**os.environ, "CHROMIUM": str(chromium)}, capture_output=True, text=True)
    try:
        return json.loads(out.stdout)
    except json.JSONDecodeError:
        return {"results": [{"ok": False, "error": (out.stdout + out.stderr)[-2000:]}]}
