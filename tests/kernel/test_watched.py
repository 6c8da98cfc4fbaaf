"""A watched file: read at start, re-read when its content changes, the last good value kept
through a missing or bad file, each trouble logged once; callers never wait for a re-read."""
from __future__ import annotations

import logging
import threading

import pytest

from services.watched import WatchedFile

LOGGER = "services.watched"


def numbers(path):
    """A loader that refuses anything but a line of integers (as a bad reference file is refused)."""
    numbers.calls += 1
    return [int(word) for word in path.read_text().split()]


@pytest.fixture
def path(tmp_path):
    numbers.calls = 0
    path = tmp_path / "numbers.txt"
    path.write_text("1 2 3")
    return path


def test_the_file_is_read_at_start_and_not_again_while_unchanged(path):
    watched = WatchedFile(path, numbers, recheck_seconds=0)
    assert watched.current == [1, 2, 3] and watched.current == [1, 2, 3]
    assert numbers.calls == 1


def test_a_bad_or_missing_file_at_start_refuses_to_start(tmp_path, path):
    path.write_text("1 two 3")
    with pytest.raises(ValueError):
        WatchedFile(path, numbers)
    with pytest.raises(FileNotFoundError):
        WatchedFile(tmp_path / "nope.txt", numbers)


def test_an_edit_is_seen_without_a_restart_and_logged(path, caplog):
    watched = WatchedFile(path, numbers, recheck_seconds=0)
    path.write_text("4 5")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert watched.current == [4, 5]
    assert [r.levelno for r in caplog.records] == [logging.INFO] and "re-read" in caplog.text


def test_a_bad_edit_is_logged_once_and_the_last_good_value_stays(path, caplog):
    watched = WatchedFile(path, numbers, recheck_seconds=0)
    path.write_text("1 two 3")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert watched.current == [1, 2, 3] and watched.current == [1, 2, 3]
    assert [r.levelno for r in caplog.records] == [logging.ERROR]
    assert "invalid literal" in caplog.text and "stays in force" in caplog.text
    assert numbers.calls == 2  # the bad file was read once, not at every look
    path.write_text("7")
    assert watched.current == [7]


def test_a_file_gone_missing_is_logged_once_and_the_last_good_value_stays(path, caplog):
    watched = WatchedFile(path, numbers, recheck_seconds=0)
    path.unlink()
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        assert watched.current == [1, 2, 3] and watched.current == [1, 2, 3]
    assert len(caplog.records) == 1 and "is gone" in caplog.text
    path.write_text("1 2 3")  # back as it was: read again, since what is in force may be older
    assert watched.current == [1, 2, 3] and numbers.calls == 2


def test_the_file_is_looked_at_no_more_often_than_asked(path):
    watched = WatchedFile(path, numbers, recheck_seconds=3600)
    path.write_text("4 5")
    assert watched.current == [1, 2, 3] and numbers.calls == 1


def test_a_rewrite_with_the_same_content_is_not_a_change(path):
    watched = WatchedFile(path, numbers, recheck_seconds=0)
    path.write_text("1 2 3")
    assert watched.current == [1, 2, 3] and numbers.calls == 1


def test_callers_get_the_value_in_force_while_another_re_reads(path):
    """One caller re-reads; the others neither wait for it nor read the file themselves."""
    started, release = threading.Event(), threading.Event()

    def slow(p):
        if hasattr(slow, "armed"):
            started.set()
            release.wait(10)
        return p.read_text()

    watched = WatchedFile(path, slow, recheck_seconds=0)
    slow.armed = True
    path.write_text("new")
    reader = threading.Thread(target=lambda: watched.current)
    reader.start()
    assert started.wait(10)
    seen = [watched.current for _ in range(100)]  # meanwhile, at once
    release.set()
    reader.join(10)
    assert set(seen) == {"1 2 3"} and watched.current == "new"


def test_many_threads_see_one_re_read_per_change(path):
    watched = WatchedFile(path, numbers, recheck_seconds=0)
    path.write_text("9")
    barrier = threading.Barrier(8)
    seen = []

    def look():
        barrier.wait()
        for _ in range(50):
            seen.append(watched.current)

    threads = [threading.Thread(target=look) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert watched.current == [9] and numbers.calls == 2
    assert all(value in ([1, 2, 3], [9]) for value in seen)
