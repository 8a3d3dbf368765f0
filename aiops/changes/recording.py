"""Recording a change by hand or from a pipeline: validated, then stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from aiops.changes.models import Change, ChangeKind, ChangeSource
from aiops.telemetry.scrubbing import clean_name

# A change may be recorded a little ahead of the clock (a pipeline's clock), and
# as far back as anyone would backfill one.
MAX_AHEAD = timedelta(minutes=5)
MAX_BEHIND = timedelta(days=30)


class ChangeError(ValueError):
    """A change that cannot be recorded; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ChangeInput:
    service: str
    kind: str = ChangeKind.DEPLOY
    version: str = ""
    previous_version: str = ""
    note: str = ""
    at: datetime | None = None


def _name(field: str, value: str, limit: int, *, required: bool = False) -> str:
    cleaned = clean_name(value or "")
    if required and not cleaned:
        raise ChangeError(field, "must not be empty")
    if len(cleaned) > limit:
        raise ChangeError(field, f"must be at most {limit} characters")
    return cleaned


def record_change(
    change: ChangeInput, *, source: str, by: str, now: datetime
) -> Change:
    """Validate and store one change; raises ChangeError naming the field."""
    if source not in ChangeSource.values:
        raise ChangeError("source", f"must be one of {', '.join(ChangeSource.values)}")
    service = _name("service", change.service, 100, required=True)
    if change.kind not in ChangeKind.values:
        raise ChangeError("kind", f"must be one of {', '.join(ChangeKind.values)}")
    version = _name("version", change.version, 64)
    if change.kind == ChangeKind.DEPLOY and not version:
        raise ChangeError("version", "a deployment needs the version it deployed")
    previous = _name("previous_version", change.previous_version, 64)
    note = clean_name(change.note or "")
    if len(note) > 500:
        raise ChangeError("note", "must be at most 500 characters")
    at = change.at or now
    if at.tzinfo is None:
        raise ChangeError("at", "must carry a UTC offset")
    if at > now + MAX_AHEAD:
        raise ChangeError("at", "is in the future")
    if at < now - MAX_BEHIND:
        raise ChangeError("at", "is more than 30 days ago")
    return Change.objects.create(
        service=service,
        kind=change.kind,
        version=version,
        previous_version=previous,
        note=note,
        at=at,
        source=source,
        recorded_by=by[:150],
    )
