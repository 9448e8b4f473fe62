"""A dataset run on Ray Data: the driver plans and builds the label tables once; actors, each
holding the models, caption a batch of paths at a time and write the sidecars (the folder must
be on a filesystem every worker sees); the manifest is written with Ray's own writers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..hooks import Hooks
from ..tables import export_tables, install_tables
from .loader import chunks, decode
from .local import plan
from .manifest import COLUMNS, Row, row_from
from .work import DatasetOptions, ModelRecipe, SidecarWriter, Summary, settings_key


class CaptionActor:
    """Holds the models in a Ray actor; called with one batch of paths at a time."""

    def __init__(self, recipe: ModelRecipe, tables: list, options: DatasetOptions, root: str, key: str) -> None:
        """``tables``: [object ref] of ``export_tables``' output, built once on the driver."""
        import ray

        ci = recipe.build(True)
        if ci.clip is not None:
            install_tables(ci.clip, ray.get(tables[0]))  # the driver's tables: never rebuilt here
        self.writer = SidecarWriter(ci, options, Path(root), key)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        """One chunk of paths in, one manifest row per path out (as columns)."""
        paths = [Path(p) for chunk in batch["paths"] for p in chunk]
        rows = self.writer.write([decode(path) for path in paths])
        return {column: [getattr(row, column) for row in rows] for column in COLUMNS}


def _ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise InputError('--ray needs Ray Data: pip install "ci-prompt-interrogator[ray]".') from exc
    return ray


def manifest_format(manifest: str) -> str:
    """Parquet for a name ending in .parquet, else JSON."""
    return "parquet" if manifest.rstrip("/").endswith(".parquet") else "json"


def done_rows(manifest: str) -> dict[str, Row]:
    """Rows of earlier Ray runs in the manifest folder or URI, latest per image."""
    import pyarrow.dataset as pads

    if "://" not in manifest and not Path(manifest).is_dir():
        return {}
    try:
        table = pads.dataset(manifest, format=manifest_format(manifest)).to_table()
    except FileNotFoundError:
        return {}
    return {record["path"]: row_from(record) for record in table.to_pylist()}


def run_on_ray(
    recipe: ModelRecipe,
    images: Iterable[Path],
    root: Path,
    manifest: str,
    options: DatasetOptions,
    hooks: Hooks,
    address: str | None = None,
    workers: int = 1,
) -> Summary:
    """Captions ``images`` with ``workers`` actors on the Ray at ``address`` (None: start or
    join a local one). The manifest is a folder (or a URI Ray can write, e.g. s3://…) of JSON
    files, or of Parquet files if it ends in .parquet."""
    ray = _ray()
    if not ray.is_initialized():
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    driver = recipe.build(False)  # CLIP only: the tables are built here, once
    driver.prepare(options.mode)
    key = settings_key(driver, options, recipe.caption_model)
    writer = SidecarWriter(driver, options, root, key)
    summary = Summary(manifest=str(manifest))
    pending, failed = plan(images, writer, done_rows(manifest), summary)
    if pending or failed:
        rows = _caption(ray, recipe, driver, pending, root, options, key, workers) if pending else None
        for row in rows.iter_rows() if rows is not None else ():
            summary.count([row_from(row)])
        planned = ray.data.from_items([asdict(row) for row in failed]) if failed else None
        parts = [part for part in (rows, planned) if part is not None]
        _write_manifest(parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0], manifest)
    hooks.progress("Images", len(pending), len(pending))
    return summary


def _caption(ray, recipe, driver, pending, root, options, key, workers):
    tables = [ray.put(export_tables(driver.clip) if driver.clip is not None else {})]  # {}: a tagger alone
    items = [{"paths": [str(p) for p in chunk]} for chunk in chunks(pending, options.batch_size)]
    gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
    return (
        ray.data.from_items(items, override_num_blocks=min(len(items), 8 * workers))  # work for every actor
        .map_batches(
            CaptionActor,
            batch_size=1,  # one chunk per call: the same batches as a run in one process
            concurrency=workers,
            num_gpus=gpus,
            fn_constructor_kwargs={
                "recipe": recipe,
                "tables": tables,
                "options": options,
                "root": str(root),
                "key": key,
            },
        )
        .materialize()
    )


def _write_manifest(rows, manifest: str) -> None:
    if manifest_format(manifest) == "parquet":
        rows.write_parquet(manifest)
    else:
        rows.write_json(manifest)
