"""The data lifecycle: a customer's access request and erasure, retention, backups.

* `care.privacy.access` - everything held about one customer, as one document.
* `care.privacy.erasure` - forgetting a customer (CLI, or `/forget` approved by staff).
* `care.privacy.retention` - the leader's daily pass over old data, in short batches.
* `care.privacy.backups` - `carebot db backup / restore` and the scheduled, rotated backup.
* `care.privacy.config` - the `[retention]` and `[backup]` settings.

The submodules are imported by name (this package's `__init__` stays free of them, because
`care.runtime.settings` imports `care.privacy.config` and the use cases import the settings).
"""

from __future__ import annotations

from care.privacy.config import BackupSettings, RetentionSettings

__all__ = ["BackupSettings", "RetentionSettings"]
