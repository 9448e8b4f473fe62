#!/usr/bin/env python3
"""Browser check of the pack's frontend in a real ComfyUI (the comfyui-harness), for developers.

For each frontend (the harness's pinned one, and a newer comfyui-frontend-package) and each
mode (classic LiteGraph, Nodes 2.0 where the frontend has it) it opens every example workflow
in headless Chromium, measures the drawn node boxes, runs the workflow's pack nodes with tiny
random-weight models, and checks: no overlapping nodes (as opened, after the run, after a tab
switch), no console errors from the pack's JS, the prompt boxes filled with the server's text
(also when restored through onNodeOutputsUpdated), the Analyze node under 500 px with top_k 7,
and Copy falling back when the clipboard is refused. Prints a table; exits 1 on a failure.

Not part of pytest (needs the harness, Chromium and minutes of CPU); see README.md here.
Standard library only; the harness's venv python makes the tiny models.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from comfy_harness import REPO, Server, harness_paths, make_inputs, make_models, newer_frontend, offline_chromium, probe
from verdict import judge, print_table, say

PINNED = "pinned"
NEWER = "1.58.1"

# The real models the examples name are not available offline: the tiny ones stand in.
TINY = {"CI_LoadCLIP": {"clip_name": "TinyCLIP.safetensors"}, "CI_LoadCaptionModel": {"model_name": "tiny-blip"}}
# What runs of each example: LoadImage and the pack's nodes (the rest is muted: no core models).
RUNS = {
    "analyze_image": {"set": {**TINY, "CI_Analyze": {"top_k": 7}}},
    "positive_and_negative": {"set": TINY},
    "interrogate_remix": {"set": TINY},
    "caption_dataset": {"set": TINY},
    # BLIP writes no 'detailed' captions: Interrogate takes the caption model straight.
    "detailed_caption_to_flux": {"set": TINY, "bypass": ["CI_CaptionStyle"]},
}


def arguments() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frontends", default=f"{PINNED},{NEWER}", help=f"'{PINNED}' and/or frontend package versions")
    p.add_argument("--modes", default="classic,nodes2", help="classic and/or nodes2 (Nodes 2.0)")
    p.add_argument("--workflows", default="", help="comma-separated example names (default: all)")
    p.add_argument("--shots", default="", help="screenshot folder (default: <harness home>/tmp/ci-browser-check/shots)")
    p.add_argument("--json", default="", help="also write every probe's raw report to this file")
    p.add_argument("--run-timeout", type=int, default=900, help="seconds per run (the first builds label tables)")
    return p.parse_args()


def check_frontend(paths, a, frontend: str, names: list[str], shots: Path) -> list[tuple[dict, dict]]:
    """Every mode x workflow on one frontend: (row, raw report) pairs."""
    models, inputs, chromium = make_models(paths), make_inputs(paths), offline_chromium(paths)
    root = None if frontend == PINNED else newer_frontend(paths, frontend)
    out = []
    with Server(paths, models, inputs, root) as server:
        server.setting("Comfy.Workflow.ShowMissingModelsWarning", False)  # no dialog over the screenshots
        server.setting("Comfy.Minimap.Visible", False)
        for mode in a.modes.split(","):
            server.setting("Comfy.VueNodes.Enabled", mode == "nodes2")
            for name in names:
                shot = shots / f"{frontend}-{mode}-{name}.png"
                cfg = {"workflow": name, "mode": mode, "run": RUNS.get(name), "run_timeout_s": a.run_timeout}
                raw = probe(paths, server, chromium, cfg, shot)
                row = judge(raw, mode, name in RUNS)
                row.update(frontend=row["frontend"] or frontend, mode=mode, workflow=name)
                out.append((row, {"frontend": frontend, "mode": mode, "workflow": name, "probe": raw}))
                say(f"{frontend} {mode} {name}: {row['status']} ({shot.name})")
                if row["status"] == "n/a":
                    break  # this frontend has no Nodes 2.0: not for any workflow
    return out


def main() -> int:
    a = arguments()
    paths = harness_paths()
    if not (paths["harness"] / "server.sh").exists():
        sys.exit(f"check_frontend.py: no comfyui-harness at {paths['harness']} (set COMFY_HARNESS)")
    paths["work"].mkdir(parents=True, exist_ok=True)
    shots = Path(a.shots) if a.shots else paths["work"] / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    examples = sorted(f.stem for f in (REPO / "example_workflows").glob("*.json"))
    names = a.workflows.split(",") if a.workflows else examples
    results = [pair for frontend in a.frontends.split(",") for pair in check_frontend(paths, a, frontend, names, shots)]
    rows = [row for row, _ in results]
    print_table(rows)
    if a.json:
        Path(a.json).write_text(json.dumps([raw for _, raw in results], indent=1))
    return 1 if any(r["fails"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
