"""Caches of numpy arrays on disk: written atomically, read back or treated as absent.

The intent heads, the linear model and the catalog vectors each keep a cache file beside
the catalog (or in the data folder).  A cache is an optimisation: an unwritable folder or
a corrupt file only costs recomputing, never an error in service.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt


def save_arrays(path: Path, arrays: Mapping[str, npt.ArrayLike]) -> bool:
    """Write `arrays` to the .npz file `path`; False (and nothing left behind) on failure.

    Written to a temporary file in the same folder, then renamed: a concurrent reader (another
    worker starting up) sees the old file or the new one, never half a file.
    """
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, path)
        return True
    except OSError:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        return False


def load_arrays(path: Path, names: Iterable[str]) -> dict[str, npt.NDArray[np.generic]] | None:
    """The named arrays of the .npz file `path`; None when it is missing, unreadable,
    corrupt or lacks one of them (the caller recomputes and saves again)."""
    try:
        # Our own handle: np.load leaks its file when the zip is torn.
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            return {name: np.asarray(data[name]) for name in names}
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None
