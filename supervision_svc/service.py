"""Bus side of electronic supervision (电子监察): publishes its outbox; clocks arrive with supervision."""
from services.bus import Kernel


class SupervisionService:
    name = "supervision"
    kernel = Kernel()
