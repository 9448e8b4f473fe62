"""The label vocabularies: upstream's lists, this project's lists and the user's own."""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError

UPSTREAM_DIST = "clip-interrogator"
UPSTREAM_LISTS = ("artists", "flavors", "mediums", "movements", "negative")
# Tables ranked together in fast and best mode, in upstream's merge order; each can be
# switched off (``Settings.enabled_tables``). The "negative" table is always on.
MERGED_TABLES = ("artists", "flavors", "mediums", "movements", "trendings")


def project_data_dir() -> Path:
    """This project's own lists: ``data/`` in a checkout (and a ComfyUI custom_nodes clone),
    ``ci_engine/project_data`` in an installed wheel."""
    here = Path(__file__).resolve().parent
    installed = here / "project_data"
    return installed if installed.is_dir() else here.parent / "data"


PROJECT_DATA = project_data_dir()
# Upstream's spelling of one site; compat keeps it so its labels (and caches) match.
COMPAT_SPELLINGS = {"dribbble": "dribble"}


def upstream_data_dir() -> Path:
    """The data folder of the installed clip-interrogator package, found without importing it."""
    try:
        dist = importlib.metadata.distribution(UPSTREAM_DIST)
    except importlib.metadata.PackageNotFoundError as exc:
        raise InputError(
            "The label lists come from the clip-interrogator package, which is not installed: "
            "run `pip install clip-interrogator==0.6.0` (or pass a folder with the lists)."
        ) from exc
    for file in dist.files or ():
        if file.name == "flavors.txt" and file.parent.name == "data":
            return Path(dist.locate_file(file)).parent
    raise InputError(f"The installed {UPSTREAM_DIST} package has no data/flavors.txt; reinstall it.")


def load_list(path: str | os.PathLike) -> list[str]:
    """One label per line, stripped, exactly as upstream reads its lists."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return [line.strip() for line in f.readlines()]
    except OSError as exc:
        raise InputError(f"Cannot read label list '{path}': {exc.strerror}. Check the path.") from exc


def load_user_list(path: str | os.PathLike) -> list[str]:
    """A user's list, one label per line: UTF-8 (a BOM is allowed), never guessed at."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            return [line.strip() for line in f.readlines()]
    except UnicodeDecodeError as exc:
        raise InputError(
            f"Label list '{path}' is not UTF-8 text (bad byte at offset {exc.start}): save it as UTF-8."
        ) from exc
    except OSError as exc:
        raise InputError(f"Cannot read label list '{path}': {exc.strerror}. Check the path.") from exc


def trending_labels(sites: list[str]) -> list[str]:
    """Each site bare, then "trending on", "featured on" and "contest winner" forms."""
    return (
        list(sites)
        + [f"trending on {s}" for s in sites]
        + [f"featured on {s}" for s in sites]
        + [f"{s} contest winner" for s in sites]
    )


def artist_labels(names: list[str]) -> list[str]:
    """ "by X" for every artist, then "inspired by X", in upstream's order."""
    return [f"by {a}" for a in names] + [f"inspired by {a}" for a in names]


def normalized(label: str) -> str:
    """The form CLIP sees: labels equal here tokenize alike."""
    return " ".join(label.split()).lower()


def distinct_indices(labels: Iterable[str]) -> list[int]:
    """Indices of the non-empty labels, keeping the first of any that tokenize alike."""
    seen: set[str] = set()
    out = []
    for i, label in enumerate(labels):
        norm = normalized(label)
        if norm and norm not in seen:
            seen.add(norm)
            out.append(i)
    return out


def distinct_labels(labels: Iterable[str]) -> list[str]:
    """Non-empty labels, keeping the first of any that tokenize alike."""
    labels = list(labels)
    return [labels[i] for i in distinct_indices(labels)]


@dataclass
class Vocabulary:
    """Label lists by table name, in upstream order, with the cache key of each."""

    labels: dict[str, list[str]]
    cache_keys: dict[str, str]
    custom: list[str] = field(default_factory=list)  # user tables, ranked with the merged ones


def build_vocabulary(
    compat: bool = False,
    upstream_dir: str | os.PathLike | None = None,
    extra_lists: tuple[str | os.PathLike, ...] = (),
) -> Vocabulary:
    """Upstream's six tables, plus user lists (each file one table named after it)."""
    src = Path(upstream_dir) if upstream_dir else upstream_data_dir()
    lists = {name: load_list(src / f"{name}.txt") for name in UPSTREAM_LISTS}
    sites = load_list(PROJECT_DATA / "trending_sites.txt")
    if compat:
        sites = [COMPAT_SPELLINGS.get(s, s) for s in sites]
    labels = {
        "artists": artist_labels(lists["artists"]),
        "flavors": lists["flavors"],
        "mediums": lists["mediums"],
        "movements": lists["movements"],
        "trendings": trending_labels(sites),
        "negative": lists["negative"],
    }
    keys = {name: name for name in labels}
    if not compat:  # our spelling gives other labels: keep its cache apart from upstream's
        keys["trendings"] = "trendings-ci"
    vocab = Vocabulary(labels, keys)
    for path in extra_lists:
        add_custom_table(vocab, path)
    return vocab


def add_custom_table(vocab: Vocabulary, path: str | os.PathLike) -> None:
    """Adds a user's ``.txt`` list as a table ranked together with the merged ones."""
    path = Path(path)
    labels = [label for label in load_user_list(path) if label]
    if not labels:
        raise InputError(f"Label list '{path}' has no labels: put one label per line.")
    name = "custom-" + path.stem.replace(".", "_")
    vocab.labels[name] = labels
    vocab.cache_keys[name] = name
    vocab.custom.append(name)


def parse_exclusions(text: str) -> frozenset[str]:
    """Labels to leave out, one per line or comma-separated, matched case-insensitively."""
    parts = (p for line in text.splitlines() for p in line.split(","))
    return frozenset(normalized(p) for p in parts if p.strip())


def is_excluded(label: str, exclusions: frozenset[str]) -> bool:
    """An exclusion matches the label itself, or an artist's "by X" / "inspired by X"."""
    norm = normalized(label)
    for lead in ("", "by ", "inspired by "):
        if norm.startswith(lead) and norm[len(lead) :] in exclusions:
            return True
    return False
