"""Only the job reference earlier versions persisted: `care.scheduler:fire_job` stays loadable.

APScheduler stores each job's function as a ``module:name`` reference and drops a job whose
reference no longer imports. Jobs stored before the move to `care.outreach.scheduler` name
this module; new jobs name the new one. Nothing else should import from here.
"""

from __future__ import annotations

from care.outreach.scheduler import fire_job

__all__ = ["fire_job"]
