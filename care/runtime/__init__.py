"""The process's plumbing: services, settings, leadership, periodic jobs, the file watch, metrics.

Modules: `services` (the typed context built once at start), `settings` (the one settings
object), `leadership` (leader locks and the campaign loop), `periodic` (background jobs),
`housekeeping` (leader-only upkeep), `watch` (the one content-file watch), `metrics`, `logs`,
`dedup` (webhook update ids in Redis), `flood` (per-customer flood control), `guarding`
(the forbidden-phrase guard with its sentence encoder). This package
re-exports nothing: importing `settings` must not build `services`.
"""

from __future__ import annotations

__all__: list[str] = []
