"""Dataset captioning on Ray Data (a local Ray with 2 CPUs): the same sidecars, byte for byte,
as a run in one process, with the manifest written by Ray's writers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.dataset as pads
import pytest

from ci_engine import cli
from ci_engine.testing import make_dataset

ray = pytest.importorskip("ray")  # the [ray] extra; the dev requirements install it


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def sidecars(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.txt"))}


@pytest.mark.slow  # a local Ray and its actors start in about a minute on 2 cores: the slow suite runs it
def test_ray_writes_the_same_sidecars_as_one_process(local_ray, tmp_path, model_dir, full_tables_cache, capsys):
    workers = 2  # two actors share the work (bench/ measures 1 and 2)
    make_dataset(tmp_path / "here", 20, bad=2)
    shutil.copytree(tmp_path / "here", tmp_path / "ray")
    checkpoint = str(model_dir / "clip" / "TinyCLIP.safetensors")
    common = ["--clip", "TinyCLIP", "--clip-checkpoint", checkpoint, "--cache-dir", str(full_tables_cache)]
    # fast mode: best mode's chains over the whole vocabulary cost ~1 s an image here, in each run
    common += ["--caption-model", str(model_dir / "blip"), "--mode", "fast", "--max-flavors", "4", "--prefix", "ohwx"]
    common += ["--images-per-batch", "4"]  # five batches, so both actors get some
    assert cli.main(["dataset", str(tmp_path / "here"), *common]) == 0
    manifest = tmp_path / "manifest"
    extra = ["--ray", "--workers", str(workers), "--manifest", str(manifest)]
    assert cli.main(["dataset", str(tmp_path / "ray"), *common, *extra]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("18 written, 0 skipped, 2 failed")
    assert sidecars(tmp_path / "ray") == sidecars(tmp_path / "here") and len(sidecars(tmp_path / "ray")) == 18
    rows = pads.dataset(str(manifest), format="json").to_table().to_pylist()
    assert len(rows) == 20 and sum(bool(r["error"]) for r in rows) == 2
    assert cli.main(["dataset", str(tmp_path / "ray"), *common, *extra, "--on-existing", "overwrite"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("0 written, 18 skipped, 2 failed")  # resumed


@pytest.mark.slow
def test_ray_writes_the_same_tag_sidecars_as_one_process(local_ray, tmp_path, capsys):
    from ci_engine.testing.taggers import save_tagger

    make_dataset(tmp_path / "here", 12, bad=1)
    shutil.copytree(tmp_path / "here", tmp_path / "ray")
    tagger = save_tagger(tmp_path / "tagger", "swinv2")
    common = ["--caption-model", str(tagger), "--prefix", "ohwx", "--images-per-batch", "4", "--rating", "tag"]
    assert cli.main(["dataset", str(tmp_path / "here"), *common]) == 0
    extra = ["--ray", "--workers", "2", "--manifest", str(tmp_path / "manifest")]
    assert cli.main(["dataset", str(tmp_path / "ray"), *common, *extra]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("11 written, 0 skipped, 1 failed")
    assert sidecars(tmp_path / "ray") == sidecars(tmp_path / "here") and len(sidecars(tmp_path / "ray")) == 11
    assert all(text.startswith(b"ohwx, ") for text in sidecars(tmp_path / "ray").values())
