"""The reference data every service reads: org chart, catalogue and working-day calendar."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from services.config import Settings

from .calendar import WorkingCalendar
from .catalogue import Catalogue, OrgChart, load_catalogue, load_org


@dataclass(frozen=True)
class Reference:
    org: OrgChart
    catalogue: Catalogue
    calendar: WorkingCalendar


def load_reference(settings: Settings) -> Reference:
    return _load(str(settings.org), str(settings.catalogue), str(settings.calendar) if settings.calendar else None)


@lru_cache(maxsize=4)
def _load(org_path: str, catalogue_path: str, calendar_path: str | None) -> Reference:
    org = load_org(org_path)
    return Reference(org, load_catalogue(catalogue_path, org), WorkingCalendar.from_file(calendar_path))
