"""The manifest: one row per image (path, size, mtime, settings hash, caption, prompt, seconds,
error). Rows go to a journal as they are made, one whole line per write, and are merged into
the manifest, in the format its extension names, when the run ends."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..atomic import write_atomic
from ..errors import InputError

FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}


@dataclass
class Row:
    """One image's outcome; ``error`` is empty for a sidecar written or kept."""

    path: str  # relative to the dataset folder, with "/"
    size: int
    mtime: float
    settings: str
    caption: str = ""
    prompt: str = ""
    seconds: float = 0.0
    error: str = ""

    def matches(self, size: int, mtime: float, settings: str) -> bool:
        """Done already: the same file (size and mtime) with the same settings, and no error."""
        return not self.error and (self.size, self.mtime, self.settings) == (size, mtime, settings)


COLUMNS = [f.name for f in fields(Row)]


def settings_hash(payload: dict) -> str:
    """A short, stable hash of everything that shapes a sidecar's text."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Manifest:
    """The manifest at ``path`` and its journal (``path`` + ".journal.jsonl")."""

    def __init__(self, path: Path) -> None:
        """The format comes from the extension: .jsonl (or .json), .csv or .parquet."""
        if path.suffix.lower() not in FORMATS:
            raise InputError(f"Manifest '{path}' must end in {', '.join(FORMATS)}.")
        self.path = path
        self.format = FORMATS[path.suffix.lower()]
        self.journal = path.with_name(path.name + ".journal.jsonl")
        self._fd: int | None = None

    def rows(self) -> dict[str, Row]:
        """Every row on disk, the latest per image: the manifest, then a journal a killed run left."""
        out = {row.path: row for row in self._read_manifest()}
        out.update((row.path, row) for row in _read_jsonl(self.journal))
        return out

    def append(self, rows: Iterable[Row]) -> None:
        """Adds rows to the journal durably; each is one ``write`` of one whole line. No rows, no
        journal: a run that adds nothing leaves the manifest as it was (``finish`` rewrites it only
        when a journal exists)."""
        rows = list(rows)
        if not rows:
            return
        if self._fd is None:
            _drop_partial_line(self.journal)
            self.journal.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        for row in rows:
            os.write(self._fd, (json.dumps(asdict(row), ensure_ascii=False) + "\n").encode())
        os.fsync(self._fd)

    def finish(self) -> None:
        """Merges the journal into the manifest (written whole, then renamed) and removes it."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if not self.journal.exists():
            return
        merged = list(self.rows().values())
        write_atomic(self.path, _encode(merged, self.format))
        self.journal.unlink()

    def _read_manifest(self) -> list[Row]:
        if not self.path.exists():
            return []
        if self.format == "jsonl":
            return _read_jsonl(self.path)
        if self.format == "csv":
            with open(self.path, newline="", encoding="utf-8") as f:
                return [row_from(record) for record in csv.DictReader(f)]
        return [row_from(record) for record in _parquet().read_table(self.path).to_pylist()]


def row_from(record: dict) -> Row:
    """A row from a JSON, CSV or Parquet record (CSV gives every value as text)."""
    return Row(
        **{key: str(record.get(key) or "") for key in ("path", "settings", "caption", "prompt", "error")},
        size=int(record.get("size") or 0),
        mtime=float(record.get("mtime") or 0.0),
        seconds=float(record.get("seconds") or 0.0),
    )


def _read_jsonl(path: Path) -> list[Row]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(row_from(json.loads(line)))
        except (ValueError, TypeError):
            continue  # a line cut by a crash: that image is simply done again
    return out


def _drop_partial_line(path: Path) -> None:
    """Cuts a last line without its newline (a write the machine died in), so appends stay whole."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as f:
            f.truncate(data.rfind(b"\n") + 1)


def _encode(rows: list[Row], fmt: str) -> bytes:
    records = [asdict(row) for row in rows]
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(records)
        return out.getvalue().encode()
    import pyarrow as pa

    sink = io.BytesIO()
    _parquet().write_table(pa.Table.from_pylist(records), sink)
    return sink.getvalue()


def _parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise InputError("A .parquet manifest needs pyarrow: pip install pyarrow, or use .jsonl or .csv.") from exc
    return pq
