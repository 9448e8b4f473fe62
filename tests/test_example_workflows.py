"""The example workflows open cleanly: every link joins two of their nodes, our node types
exist, and no two nodes come near each other at the sizes the frontends draw them.

Drawn sizes were measured in the browser by ``tests/browser/check_frontend.py`` (which also
checks overlaps there): in frontend 1.27 (classic) and 1.58.1 (classic and Nodes 2.0), after a
run. Nodes 2.0 sizes a node to its content, so there nodes are taller (Interrogate 654 px
against 576 px in classic) and narrow ones wider (VAE Decode 225 px against 140 px) than their
saved ``size``; the title bar sits above ``pos`` in both."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "example_workflows").glob("*.json"))
TITLE_HEIGHT = 30  # LiteGraph.NODE_TITLE_HEIGHT: the title bar above a node's pos
# The largest box (width, height; title bar included) a node type was drawn with: LoadImage
# with its 256 px preview, Analyze after a run with top_k 7 (its table scrolls beyond that).
DRAWN = {
    "CI_Analyze": (278, 420),
    "CI_CaptionDataset": (400, 526),
    "CI_ClipFromComfy": (270, 108),
    "CI_CaptionStyle": (400, 296),
    "CI_Interrogate": (400, 654),
    "CI_LoadCLIP": (270, 172),
    "CI_LoadCaptionModel": (311, 144),
    "CI_NegativePrompt": (279, 254),
    "CI_TagStyle": (315, 340),
    "CLIPTextEncode": (400, 230),
    "CLIPVisionLoader": (315, 116),
    "CheckpointLoaderSimple": (270, 156),
    "ConditioningZeroOut": (225, 64),
    "DualCLIPLoader": (270, 172),
    "EmptyLatentImage": (270, 148),
    "EmptySD3LatentImage": (270, 148),
    "FluxGuidance": (270, 92),
    "KSampler": (270, 292),
    "LoadImage": (274, 352),
    "Note": (400, 230),
    "SaveImage": (270, 100),
    "UNETLoader": (270, 144),
    "VAEDecode": (225, 84),
    "VAELoader": (270, 116),
}
# Room between two nodes, beyond their drawn boxes. Vertical: a node may gain a widget or two
# (or lose inputs behind "advanced") in a newer ComfyUI, and Nodes 2.0 sizes shift between
# frontend versions. Horizontal: links need room to be followed.
GAP_Y = 80
GAP_X = 60


def boxes(workflow: dict) -> dict[int, tuple[float, float, float, float]]:
    out = {}
    for node in workflow["nodes"]:
        (x, y), (w, h) = node["pos"], node["size"]
        drawn_w, drawn_h = DRAWN[node["type"]]
        top = y - TITLE_HEIGHT
        out[node["id"]] = (x, top, x + max(w, drawn_w), top + max(h + TITLE_HEIGHT, drawn_h))
    return out


def too_close(a, b) -> bool:
    apart_x = b[0] - a[2] >= GAP_X or a[0] - b[2] >= GAP_X
    apart_y = b[1] - a[3] >= GAP_Y or a[1] - b[3] >= GAP_Y
    return not (apart_x or apart_y)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_node_type_was_measured(path):
    """A new node type in an example needs its drawn size: run tests/browser/check_frontend.py."""
    types = {node["type"] for node in json.loads(path.read_text())["nodes"]}
    assert types - DRAWN.keys() == set()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_nodes_keep_their_distance(path):
    workflow = json.loads(path.read_text())
    if {node["type"] for node in workflow["nodes"]} - DRAWN.keys():
        pytest.skip("a node type without a measured size (see the test above)")
    found = boxes(workflow)
    pairs = [(a, b) for a, b in itertools.combinations(found, 2) if too_close(found[a], found[b])]
    assert pairs == []


def test_the_distance_check_sees_an_overlap():
    """positive_and_negative as it shipped: Negative Prompt under Interrogate's Copy button."""
    interrogate = {"id": 4, "type": "CI_Interrogate", "pos": [380, 0], "size": [400, 478]}
    negative = {"id": 5, "type": "CI_NegativePrompt", "pos": [380, 540], "size": [278.9, 206]}
    assert too_close(*boxes({"nodes": [interrogate, negative]}).values())
    negative["pos"] = [380, 760]
    assert not too_close(*boxes({"nodes": [interrogate, negative]}).values())


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_links_join_their_nodes_and_our_types_exist(comfy, path):
    workflow = json.loads(path.read_text())
    ids = {node["id"] for node in workflow["nodes"]}
    assert all(link[1] in ids and link[3] in ids for link in workflow["links"])
    ours = {node["type"] for node in workflow["nodes"] if node["type"].startswith("CI_")}
    assert ours and ours <= set(comfy.nodes)
