"""The script record, its content-hash version, and the errors the package raises."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LANGUAGES: tuple[str, ...] = ("zh-Hans", "zh-Hant", "en")
DEFAULT_LANGUAGE = "zh-Hans"
#: chat = the bot's own words; greeting = care messages (<= 70 chars); report = managers'
#: reports; staff = macros staff send from a ticket topic (`/s`, suggested replies).
CHANNELS: tuple[str, ...] = ("chat", "greeting", "report", "staff")
TIERS: tuple[str, ...] = ("gold", "silver", "regular")
STATUSES: tuple[str, ...] = ("draft", "approved", "retired")


@dataclass(frozen=True)
class LibraryProblem:
    """Something wrong in a script file or the forbidden list, located for an operator."""

    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class LibraryError(Exception):
    """Loading failed; `problems` lists every file:line: message found."""

    def __init__(self, problems: Sequence[LibraryProblem]) -> None:
        self.problems: list[LibraryProblem] = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class ScriptNotServable(LookupError):
    """The script is unknown, a draft, retired, or edited after its approval."""

    def __init__(self, script_id: str, why: str) -> None:
        self.script_id = script_id
        self.why = why
        super().__init__(f"script {script_id!r} cannot be served: {why}")


def content_version(
    templates: Mapping[str, str],
    variables: Sequence[str],
    channel: str,
    tier: str | None,
) -> str:
    """Hash of everything a customer could see change; approval pins this value.

    Purpose, notes and approval metadata are left out on purpose: re-filing a script or
    recording who approved it must not invalidate the approval itself.
    """
    payload = json.dumps(
        {
            "templates": {lang: templates[lang] for lang in sorted(templates)},
            "variables": sorted(variables),
            "channel": channel,
            "tier": tier,
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Script:
    """One script as written in its file, plus where each part sits (for file:line reports)."""

    id: str
    purpose: str
    channel: str
    tier: str | None
    variables: tuple[str, ...]
    templates: Mapping[str, str]
    status: str
    approved_by: str | None
    approved_at: str | None
    approved_version: str | None
    file: Path
    line: int
    notes: str | None = None
    # key ("id", "text.en", ...) -> 1-based line in `file`
    lines: Mapping[str, int] = field(default_factory=dict)
    approval_signature: str | None = None
    #: Set by the library: the approval carries a valid signature or is in the bundled
    #: manifest (scripts/_signing.py), i.e. it was not written by hand.
    approval_verified: bool = False
    #: Example customer messages this script answers (staff macros): what the suggestion
    #: ranker matches against. Not part of the version: they never reach a customer, so
    #: adding an example does not take the approved text out of service.
    when: tuple[str, ...] = ()

    @property
    def version(self) -> str:
        return content_version(self.templates, self.variables, self.channel, self.tier)

    @property
    def servable(self) -> bool:
        """Approved (provably, not by hand) and unchanged since: the only state in which a
        customer may see it."""
        return (
            self.status == "approved"
            and self.approved_version == self.version
            and self.approval_verified
        )

    def unservable_reason(self) -> str | None:
        if self.status == "draft":
            return "it is a draft (approve it first)"
        if self.status == "retired":
            return "it is retired"
        if self.approved_version != self.version:
            return (
                f"it was edited after approval (approved {self.approved_version}, "
                f"now {self.version}); re-approve it"
            )
        if not self.approval_verified:
            return (
                "its approval is not signed by `carebot scripts approve` (was status: "
                "approved written by hand?); approve it with the CLI"
            )
        return None

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)
