"""Entry point of a bus process: `python -m services.busrun intake_svc.service:IntakeService`.

Sets up what must precede every other import: psycopg's wait function and eventlet's monkey
patching. psycopg's C implementation is kept (it parses results in C, several times cheaper than
the pure-Python one), but its C wait function would block the eventlet hub: `wait_select` waits
through the patched, green `select`. Stops within seconds of SIGTERM: consumers stop taking
messages, handlers in flight finish (what they had not acked goes back to the queue), the outbox
relay ends after its current batch; whatever is still running after STOP_GRACE_SECONDS is killed,
and its unacked messages return to the queue as well.
"""
import os
import warnings

os.environ["PSYCOPG_WAIT_FUNC"] = "wait_select"
# Known and accepted (docs/architecture.md): eventlet is in bugfix mode; nameko 2 needs it.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import importlib  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from services import logs  # noqa: E402
from services.bus import QUEUE_TYPE_CONFIG_KEY  # noqa: E402
from services.config import ConfigError, load_settings  # noqa: E402
from services.health import process_health  # noqa: E402

STOP_GRACE_SECONDS = 8


def load(spec: str):
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def dump_green_threads(_signum, _frame) -> None:
    """SIGUSR1: every green thread's stack to stderr (the process's log), written directly, past
    the logging module, so that it shows where a process that went quiet is waiting."""
    import gc
    import traceback

    import greenlet

    lines = []
    for thread in gc.get_objects():
        if isinstance(thread, greenlet.greenlet) and thread.gr_frame is not None:
            lines.append(f"--- green thread {thread!r}\n" + "".join(traceback.format_stack(thread.gr_frame)))
    os.write(2, ("".join(lines) + "--- end of green threads\n").encode(errors="replace"))


def main(argv: list[str]) -> int:
    logs.configure()
    log = logging.getLogger("busrun")
    (spec,) = argv
    service = load(spec)
    try:  # every setting of the service checked here, before anything starts
        settings = load_settings(service.kernel.settings_class)
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    logs.configure_from(settings)
    runner = ServiceRunner({"AMQP_URI": settings.amqp_url, "max_workers": 20, "PARENT_CALLS_TRACKED": 10,
                            "SERIALIZER": "json", QUEUE_TYPE_CONFIG_KEY: settings.queue_type})
    runner.add_service(service)
    health = process_health(settings, [service.__module__.partition(".")[0]], broker=True)
    if settings.metrics_port:
        log.info("/metrics, /livez, /readyz on port %d", health.serve(settings.metrics_port))

    def stop(signum, _frame):
        # Stop in a green thread: the signal handler must return for the hub to go on.
        log.info("signal %d: stopping", signum)
        health.stopping = True
        eventlet.spawn_n(runner.stop)
        eventlet.spawn_after(STOP_GRACE_SECONDS, runner.kill)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGUSR1, dump_green_threads)
    runner.start()  # returns once every consumer is consuming
    health.started = True
    runner.wait()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
