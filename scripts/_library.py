"""The script library: YAML files in folders, parsed with line numbers, reloaded on request.

Reload rules (the bot must keep talking while an operator edits files):

* a file that does not parse, or holds an invalid script, is reported and the scripts it
  held last time stay in service;
* an approved script edited without re-approval is reported and its last approved version
  stays in service (a fresh process simply cannot serve it until it is re-approved).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from jinja2 import TemplateSyntaxError

from scripts._model import (
    CHANNELS,
    DEFAULT_LANGUAGE,
    LANGUAGES,
    STATUSES,
    TIERS,
    LibraryError,
    LibraryProblem,
    Script,
    ScriptNotServable,
)
from scripts._signing import read_key, read_manifest, verify
from scripts._templates import parse_template

_REQUIRED_KEYS = ("id", "purpose", "channel", "text")
_OPTIONAL_KEYS = (
    "tier",
    "variables",
    "status",
    "approved_by",
    "approved_at",
    "approved_version",
    "approval_signature",
    "notes",
    "when",
)

# libyaml's C parser when installed (PyYAML's wheels bring it): the same nodes and marks,
# ~7x faster than the pure-Python one on the bundled library (0.16 -> 0.02 s of CPU).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _scalar_text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)


def _parse_script(
    path: Path, node: yaml.MappingNode, data: Any, problems: list[LibraryProblem]
) -> Script | None:
    line = node.start_mark.line + 1
    if not isinstance(data, dict):
        problems.append(LibraryProblem(path, line, "each list item must be a mapping (id: ...)"))
        return None
    lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        lines[str(key_node.value)] = key_node.start_mark.line + 1
        if key_node.value == "text" and isinstance(value_node, yaml.MappingNode):
            for lang_node, template_node in value_node.value:
                # Block scalars start on the line after the key; report the key's own line.
                lines[f"text.{lang_node.value}"] = lang_node.start_mark.line + 1
                block = template_node.style in ("|", ">")  # text starts below the indicator
                lines[f"text.{lang_node.value}.body"] = template_node.start_mark.line + 1 + block
    before = len(problems)

    def bad(key: str, message: str) -> None:
        problems.append(LibraryProblem(path, lines.get(key, line), message))

    for key in _REQUIRED_KEYS:
        if key not in data:
            bad(key, f"missing required key {key!r}")
    for key in data:
        if key not in _REQUIRED_KEYS and key not in _OPTIONAL_KEYS:
            bad(
                str(key),
                f"unknown key {key!r} (allowed: {', '.join(_REQUIRED_KEYS + _OPTIONAL_KEYS)})",
            )
    if len(problems) > before:
        return None

    script_id = data["id"]
    if not isinstance(script_id, str) or not script_id.strip():
        bad("id", "id must be a non-empty string")
        return None
    channel = data["channel"]
    if channel not in CHANNELS:
        bad("channel", f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
    tier = data.get("tier")
    if tier is not None and tier not in TIERS:
        bad("tier", f"tier must be one of {', '.join(TIERS)} or empty, not {tier!r}")
    status = data.get("status", "draft")
    if status not in STATUSES:
        bad("status", f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    variables = data.get("variables") or []
    if not isinstance(variables, list) or not all(isinstance(v, str) for v in variables):
        bad("variables", "variables must be a list of names")
        variables = []
    elif len(set(variables)) != len(variables):
        bad("variables", "variables lists a name twice")
    when = data.get("when") or []
    if not isinstance(when, list) or not all(isinstance(w, str) and w.strip() for w in when):
        bad("when", "when must be a list of example customer messages (non-empty texts)")
        when = []
    text = data["text"]
    templates: dict[str, str] = {}
    if not isinstance(text, dict) or not text:
        bad("text", "text must map a language (zh-Hans, zh-Hant, en) to a template")
    else:
        for lang, template in text.items():
            key = f"text.{lang}"
            if lang not in LANGUAGES:
                bad(key, f"unknown language {lang!r} (use {', '.join(LANGUAGES)})")
                continue
            if not isinstance(template, str) or not template.strip():
                bad(key, f"the {lang} template must be non-empty text")
                continue
            try:
                parse_template(template)
            except TemplateSyntaxError as exc:
                body = lines.get(f"{key}.body", lines.get(key, line))
                problems.append(
                    LibraryProblem(
                        path, body + (exc.lineno or 1) - 1, f"{lang} template: {exc.message}"
                    )
                )
                continue
            except RecursionError:
                problems.append(
                    LibraryProblem(
                        path,
                        lines.get(f"{key}.body", lines.get(key, line)),
                        f"{lang} template nests too deeply",
                    )
                )
                continue
            templates[lang] = template
    if len(problems) > before:
        return None
    return Script(
        id=script_id,
        purpose=str(data["purpose"]),
        channel=channel,
        tier=tier,
        variables=tuple(variables),
        templates=templates,
        status=status,
        approved_by=_scalar_text(data.get("approved_by")),
        approved_at=_scalar_text(data.get("approved_at")),
        approved_version=_scalar_text(data.get("approved_version")),
        file=path,
        line=line,
        notes=_scalar_text(data.get("notes")),
        lines=lines,
        approval_signature=_scalar_text(data.get("approval_signature")),
        when=tuple(w.strip() for w in when),
    )


def parse_file(path: Path) -> tuple[list[Script], list[LibraryProblem]]:
    """Every script in one YAML file (a list of mappings), or the problems found."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [LibraryProblem(path, 1, f"cannot read file: {exc}")]
    return parse_source(path, source)


def parse_source(path: Path, source: str) -> tuple[list[Script], list[LibraryProblem]]:
    """Like `parse_file` for text that is (or is about to be) the content of `path`."""
    try:
        try:
            loader = _LOADER(source)
        except UnicodeEncodeError:
            # libyaml takes UTF-8, which a lone surrogate cannot be: the pure-Python parser
            # reads such text and reports it as a problem like any other.
            loader = yaml.SafeLoader(source)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        return [], [LibraryProblem(path, line, f"YAML error: {exc.problem or exc}")]
    except yaml.YAMLError as exc:
        return [], [LibraryProblem(path, 1, f"YAML error: {exc}")]
    except RecursionError:
        return [], [LibraryProblem(path, 1, "YAML error: the file nests too deeply")]
    if data is None:
        return [], []
    if not isinstance(node, yaml.SequenceNode) or not isinstance(data, list):
        return [], [LibraryProblem(path, 1, "a script file is a list of scripts (- id: ...)")]
    problems: list[LibraryProblem] = []
    scripts: list[Script] = []
    seen: dict[str, int] = {}
    for item_node, item in zip(node.value, data, strict=True):
        if not isinstance(item_node, yaml.MappingNode):
            problems.append(
                LibraryProblem(path, item_node.start_mark.line + 1, "each item must be a mapping")
            )
            continue
        script = _parse_script(path, item_node, item, problems)
        if script is None:
            continue
        if script.id in seen:
            problems.append(
                LibraryProblem(
                    path, script.line, f"id {script.id!r} already defined on line {seen[script.id]}"
                )
            )
            continue
        seen[script.id] = script.line
        scripts.append(script)
    return (scripts, []) if not problems else ([], problems)


def _verified(script: Script, key: bytes | None, manifest: Mapping[str, str]) -> Script:
    if script.status != "approved" or script.approved_version != script.version:
        return script
    ok = manifest.get(script.id) == script.version or verify(
        key,
        script.approval_signature,
        script.id,
        script.version,
        script.approved_by,
        script.approved_at,
    )
    return dataclasses.replace(script, approval_verified=ok) if ok else script


def _script_files(dirs: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for folder in dirs:
        if folder.is_dir():
            found = [*folder.glob("*.yaml"), *folder.glob("*.yml")]
            # Dot-files are editor swap/backup files, not scripts.
            files.extend(sorted(p for p in found if not p.name.startswith(".")))
    return files


class ScriptLibrary:
    """Every script from the bundled folder plus operator folders (later folders win per id).

    `key_file` holds the deployment's approval key (scripts/_signing.py): without it only
    the bundled manifest's versions count as approved.
    """

    def __init__(
        self,
        dirs: Sequence[Path],
        *,
        default_language: str = DEFAULT_LANGUAGE,
        key_file: Path | None = None,
    ) -> None:
        self.dirs: tuple[Path, ...] = tuple(Path(d) for d in dirs)
        self.default_language = default_language
        self.key_file = key_file
        self._by_file: dict[Path, list[Script]] = {}
        self._scripts: dict[str, Script] = {}
        self.problems: list[LibraryProblem] = []
        self._broken: list[LibraryProblem] = []  # unreadable/invalid files of the last load

    @classmethod
    def load(
        cls,
        dirs: Sequence[Path],
        *,
        default_language: str = DEFAULT_LANGUAGE,
        key_file: Path | None = None,
    ) -> ScriptLibrary:
        """Load every file; raise `LibraryError` if any file is broken (nothing to fall back on)."""
        library = cls(dirs, default_language=default_language, key_file=key_file)
        library._load(first=True)
        if library._broken:
            raise LibraryError(library._broken)
        return library

    # -- queries -------------------------------------------------------------------------

    @property
    def scripts(self) -> Mapping[str, Script]:
        """Scripts in service, by id (may include drafts and retired ones: check `servable`)."""
        return dict(self._scripts)

    @property
    def file_problems(self) -> list[LibraryProblem]:
        """Unreadable or invalid files found by the last (re)load."""
        return list(self._broken)

    @property
    def files(self) -> list[Path]:
        return list(self._by_file)

    def get(self, script_id: str) -> Script | None:
        return self._scripts.get(script_id)

    def __contains__(self, script_id: object) -> bool:
        return script_id in self._scripts

    def __len__(self) -> int:
        return len(self._scripts)

    def servable(self, script_id: str) -> Script:
        """The approved, unmodified script or `ScriptNotServable` saying why not."""
        script = self._scripts.get(script_id)
        if script is None:
            raise ScriptNotServable(script_id, "no such script")
        why = script.unservable_reason()
        if why is not None:
            raise ScriptNotServable(script_id, why)
        return script

    # -- loading -------------------------------------------------------------------------

    def reload(self) -> list[LibraryProblem]:
        """Re-read every file; keep last good versions where something broke; return problems."""
        return self._load(first=False)

    def source_files(self) -> list[Path]:
        """The script files of every folder (what a file watch should watch)."""
        return _script_files(self.dirs)

    def _load(self, *, first: bool) -> list[LibraryProblem]:
        problems: list[LibraryProblem] = []
        broken: list[LibraryProblem] = []
        by_file: dict[Path, list[Script]] = {}
        for path in _script_files(self.dirs):
            scripts, file_problems = parse_file(path)
            if file_problems:
                broken.extend(file_problems)
                problems.extend(file_problems)
                if path in self._by_file:
                    by_file[path] = self._by_file[path]  # last good version of this file
                continue
            by_file[path] = scripts
        key, manifest = read_key(self.key_file), read_manifest()
        merged: dict[str, Script] = {}
        for scripts in by_file.values():  # insertion order follows dirs order
            for script in scripts:
                merged[script.id] = _verified(script, key, manifest)
        for script_id, script in list(merged.items()):
            if script.status != "approved" or script.servable:
                continue
            previous = self._scripts.get(script_id)
            what = (
                "was edited after approval"
                if script.approved_version != script.version
                else "has an approval not signed by `carebot scripts approve`"
            )
            if not first and previous is not None and previous.servable:
                merged[script_id] = previous
                problems.append(
                    LibraryProblem(
                        script.file,
                        script.line,
                        f"script {script_id!r} {what}; version "
                        f"{previous.version} stays in service until it is re-approved",
                    )
                )
            else:
                problems.append(
                    LibraryProblem(
                        script.file,
                        script.line,
                        f"script {script_id!r} {what} and cannot be served until it is re-approved",
                    )
                )
        self._by_file = by_file
        self._scripts = merged
        self._broken = broken
        self.problems = problems
        return problems
