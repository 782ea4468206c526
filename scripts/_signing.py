"""Proof of approval: an HMAC only `carebot scripts approve` can write, and the bundled manifest.

Writing ``status: approved`` and the shown version into a file by hand must not make a
script servable. So an approval counts only when one of these holds:

* its ``approval_signature`` is the HMAC-SHA256, under the deployment's approval key, of
  the script id, the approved content version, who approved it and when. The key is a
  random secret in the data folder (``APPROVAL_KEY_FILE``, default ``data/approval.key``,
  mode 0600), created by the first approval; a hand edit cannot produce the signature;
* or the script's id and content version are listed in the bundled library's manifest
  (``scripts/approvals.txt``): text the carebot maintainers approved and shipped,
  which therefore stays servable wherever the wheel is installed, and in an operator's
  unmodified copy of it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

BUNDLED_DIR = Path(__file__).resolve().parent / "library"
MANIFEST_FILE = BUNDLED_DIR.parent / "approvals.txt"
_MANIFEST_HEADER = (
    "# Approved versions of the bundled scripts: id<TAB>version, one per line.\n"
    "# Written by `carebot scripts approve` on a bundled file (maintainers only); a bundled\n"
    "# script is served only while its content version matches the one listed here.\n"
)


def sign(key: bytes, script_id: str, version: str, approved_by: str, approved_at: str) -> str:
    """The approval signature of one script version (hex HMAC-SHA256)."""
    message = "\n".join(("carebot-approval-v1", script_id, version, approved_by, approved_at))
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def verify(
    key: bytes | None,
    signature: str | None,
    script_id: str,
    version: str,
    approved_by: str | None,
    approved_at: str | None,
) -> bool:
    if key is None or not signature or approved_by is None or approved_at is None:
        return False
    expected = sign(key, script_id, version, approved_by, approved_at)
    return hmac.compare_digest(expected, signature)


def read_key(path: Path | None) -> bytes | None:
    """The approval key, or None when there is none yet (nothing signed can verify)."""
    if path is None:
        return None
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text.encode("ascii") if text else None


def ensure_key(path: Path) -> bytes:
    """Read the approval key, creating it (random, owner-only) on first use."""
    key = read_key(path)
    if key is not None:
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another approver won the race (or the file is empty)
        key = read_key(path)
        if key is None:
            raise
        return key
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    key = read_key(path)
    assert key is not None
    return key


def read_manifest(path: Path = MANIFEST_FILE) -> dict[str, str]:
    """Bundled script id -> approved content version."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    manifest: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        script_id, _, version = line.partition("\t")
        manifest[script_id.strip()] = version.strip()
    return manifest


def write_manifest(entries: Mapping[str, str], path: Path = MANIFEST_FILE) -> None:
    body = "".join(f"{script_id}\t{entries[script_id]}\n" for script_id in sorted(entries))
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(_MANIFEST_HEADER + body, encoding="utf-8")
    os.replace(tmp, path)


def is_bundled(path: Path) -> bool:
    return path.resolve().parent == BUNDLED_DIR
