"""The approval bus process: opens routed cases' stages, resumes tasks, closes withdrawn cases."""
import functools

from services.bus import Kernel, on_event
from services.config import Settings
from services.reference import load_reference

from .handling import Handling


@functools.cache
def _handling() -> Handling:
    return Handling(load_reference(Settings()))


class ApprovalService:
    name = "approval"
    kernel = Kernel(warm=_handling)

    @on_event("routing", "CaseRouted")
    def open_case(self, uow, envelope):
        _handling().open_case(uow, envelope)

    @on_event("intake", "MaterialsSupplied")
    def resume_supplied(self, uow, envelope):
        _handling().materials_supplied(uow, envelope)

    @on_event("intake", "ApplicationWithdrawn")
    def close_withdrawn(self, uow, envelope):
        _handling().withdraw(uow, envelope)
