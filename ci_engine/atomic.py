"""Files written whole or not at all: a synced temp file beside the target, then a rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TEMP_MARK = ".ci-tmp-"  # in every temp file's name, so a run can clear what a killed one left


def write_atomic(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` durably; a crash leaves the old file or the new one, never
    a part. The file gets the usual permissions (0666 less the umask), not the temp file's 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TEMP_MARK}", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_temps(folder: Path) -> int:
    """Deletes the temp files a killed run left in ``folder``; returns how many."""
    stale = [p for p in folder.glob(f".*{TEMP_MARK}*") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def _umask() -> int:
    current = os.umask(0)  # the only way to read it; set straight back
    os.umask(current)
    return current
