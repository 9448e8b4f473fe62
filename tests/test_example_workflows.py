"""The example workflows open cleanly: every link joins two of their nodes, our node types
exist, and no two nodes overlap as the frontend draws them (sizes measured in the real
frontend; the title bar sits above ``pos``)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "example_workflows").glob("*.json"))
TITLE_HEIGHT = 30  # LiteGraph.NODE_TITLE_HEIGHT in ComfyUI's frontend
LOAD_IMAGE_WITH_PREVIEW = 314  # LoadImage's usual height once it shows its image


def boxes(workflow: dict) -> dict[int, tuple[float, float, float, float]]:
    out = {}
    for node in workflow["nodes"]:
        (x, y), (w, h) = node["pos"], node["size"]
        if node["type"] == "LoadImage":
            h = max(h, LOAD_IMAGE_WITH_PREVIEW)
        out[node["id"]] = (x, y - TITLE_HEIGHT, x + w, y + h)
    return out


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_nodes_never_overlap(path):
    found = boxes(json.loads(path.read_text()))
    pairs = [(a, b) for a, b in itertools.combinations(found, 2) if overlap(found[a], found[b])]
    assert pairs == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_links_join_their_nodes_and_our_types_exist(comfy, path):
    workflow = json.loads(path.read_text())
    ids = {node["id"] for node in workflow["nodes"]}
    assert all(link[1] in ids and link[3] in ids for link in workflow["links"])
    ours = {node["type"] for node in workflow["nodes"] if node["type"].startswith("CI_")}
    assert ours and ours <= set(comfy.nodes)
