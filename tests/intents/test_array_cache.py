"""The one atomic .npz cache helper the heads and the linear model share."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from intents.array_cache import load_arrays, save_arrays


def test_round_trip_and_no_temporary_file_left(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "head.npz"
    weights = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert save_arrays(path, {"w": weights, "vocab": np.asarray(["退款", "refund"])})
    data = load_arrays(path, ("w", "vocab"))
    assert data is not None
    np.testing.assert_array_equal(data["w"], weights)
    assert [str(v) for v in data["vocab"]] == ["退款", "refund"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["head.npz"]


def test_missing_corrupt_or_incomplete_files_read_as_absent(tmp_path: Path) -> None:
    assert load_arrays(tmp_path / "none.npz", ("w",)) is None
    torn = tmp_path / "torn.npz"
    torn.write_bytes(b"PK\x03\x04 half a zip")
    assert load_arrays(torn, ("w",)) is None
    partial = tmp_path / "partial.npz"
    assert save_arrays(partial, {"w": np.zeros(2)})
    assert load_arrays(partial, ("w", "b")) is None


def test_a_path_under_a_file_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert save_arrays(blocker / "x.npz", {"w": np.zeros(2)}) is False
