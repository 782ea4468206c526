"""Approve / retire: rewrite only the status lines of one script, keeping the rest of the file.

The YAML file is edited as text at the positions PyYAML reports, so comments, key order
and block scalars stay exactly as the operator wrote them; missing keys are inserted
right after the script's ``id:`` line.  The file is replaced atomically.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import yaml

from scripts._library import ScriptLibrary, parse_file, parse_source
from scripts._model import LibraryError, Script, ScriptNotServable
from scripts._signing import ensure_key, is_bundled, read_manifest, sign, write_manifest


def _yaml_scalar(name: str, value: str) -> str:
    if name == "status":
        return value
    # A JSON string is a valid YAML double-quoted scalar; quoting keeps timestamps as text.
    return json.dumps(value, ensure_ascii=False)


def _find_mapping(source: str, script_id: str) -> yaml.MappingNode:
    node = yaml.compose(source, Loader=yaml.SafeLoader)
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            if not isinstance(item, yaml.MappingNode):
                continue
            for key, value in item.value:
                if key.value == "id" and value.value == script_id:
                    return item
    raise ScriptNotServable(script_id, "not found in its file any more")


def _set_fields(source: str, script_id: str, fields: Mapping[str, str]) -> str:
    mapping = _find_mapping(source, script_id)
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in source indexes
    present: dict[str, tuple[yaml.Node, yaml.Node]] = {
        str(key.value): (key, value) for key, value in mapping.value
    }
    # New keys go under `status:` (or after the last key) so approval metadata reads as a block.
    anchor_key, anchor_value = present.get("status", mapping.value[-1])
    indent = anchor_key.start_mark.column
    if anchor_value.end_mark.column == 0:  # block values end at the start of the next line
        insert_at = anchor_value.end_mark.index
    else:
        line_end = source.find("\n", anchor_value.end_mark.index)
        insert_at = len(source) if line_end == -1 else line_end + 1
    insertions: list[str] = []
    for name, value in fields.items():
        text = _yaml_scalar(name, value)
        if name in present:
            key, node = present[name]
            if node.start_mark.index == node.end_mark.index:  # `key:` with an empty value
                colon = source.index(":", key.end_mark.index)
                edits.append((colon + 1, colon + 1, " " + text))
            else:
                edits.append((node.start_mark.index, node.end_mark.index, text))
        else:
            insertions.append(" " * indent + f"{name}: {text}\n")
    if insertions:
        prefix = (
            "" if insert_at <= len(source) and source[insert_at - 1 : insert_at] == "\n" else "\n"
        )
        edits.append((insert_at, insert_at, prefix + "".join(insertions)))
    for start, end, replacement in sorted(edits, reverse=True):
        source = source[:start] + replacement + source[end:]
    return source


def _write_atomically(path: Path, text: str) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)  # mkstemp creates 0600; keep the file's own mode
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _rewrite(script: Script, fields: Mapping[str, str]) -> Script:
    source = script.file.read_text(encoding="utf-8")
    updated = _set_fields(source, script.id, fields)
    # Parse the result before replacing the file: a bad edit must never reach the bot.
    scripts, problems = parse_source(script.file, updated)
    if problems:
        raise LibraryError(problems)
    _write_atomically(script.file, updated)
    return next(s for s in scripts if s.id == script.id)


def _on_disk(script: Script) -> Script:
    scripts, problems = parse_file(script.file)
    if problems:
        raise LibraryError(problems)
    for candidate in scripts:
        if candidate.id == script.id:
            return candidate
    raise ScriptNotServable(script.id, "not found in its file any more")


def _script(library: ScriptLibrary, script_id: str) -> Script:
    script = library.get(script_id)
    if script is None:
        raise ScriptNotServable(script_id, "no such script")
    return script


def approve_script(
    library: ScriptLibrary, script_id: str, by: str, *, now: datetime | None = None
) -> Script:
    """Mark the script approved by `by` now (UTC), pinning its current content hash.

    The approval is signed with the library's approval key (created on first use), or, for
    a file of the bundled library, recorded in the shipped manifest (scripts/_signing.py).
    Lint first (the CLI does): this function records the decision, it does not judge.
    """
    # Hash what is on disk now: the library may still be serving the previous approved text.
    script = _on_disk(_script(library, script_id))
    when = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    at = when.isoformat().replace("+00:00", "Z")
    fields = {
        "status": "approved",
        "approved_by": by,
        "approved_at": at,
        "approved_version": script.version,
    }
    bundled = is_bundled(script.file)
    if not bundled:
        if library.key_file is None:
            raise ScriptNotServable(script_id, "no approval key file is configured to sign with")
        key = ensure_key(library.key_file)
        fields["approval_signature"] = sign(key, script.id, script.version, by, at)
    updated = _rewrite(script, fields)
    if bundled:
        write_manifest({**read_manifest(), script.id: script.version})
    library.reload()
    return updated


def retire_script(library: ScriptLibrary, script_id: str) -> Script:
    """Take the script out of service (approval history stays in the file, its signature
    goes: putting `status: approved` back by hand must not revive it)."""
    script = _script(library, script_id)
    fields = {"status": "retired"}
    if script.approval_signature:
        fields["approval_signature"] = ""
    updated = _rewrite(script, fields)
    if is_bundled(script.file):
        manifest = read_manifest()
        if manifest.pop(script.id, None) is not None:
            write_manifest(manifest)
    library.reload()
    return updated
