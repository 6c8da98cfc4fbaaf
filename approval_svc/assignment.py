"""Who holds a new task (A岗/B岗): the rule of where new work goes. Pure.

A department's new task goes to the handler post of the window or office that decides it, to the
post's A holder (A岗). While A has an away notice (去向留言) or is marked absent, A's new work goes
to the B holder (B岗); when A is back, to A again (tasks B took stay with B unless the centre
manager moves them). With A and B both away the task waits in the organisation's pool, and the
centre manager is warned. An organisation with several handler seats gives new work to the first
seat whose A holder is present, else to the first whose B holder is. A village room has no handler
post: its village committee's matters go to its cadres, the holders of its acceptance-clerk posts.
"""
from __future__ import annotations

from dataclasses import dataclass

from hall.staff import PostKind, StaffRegister


@dataclass(frozen=True)
class Assignment:
    holder: str | None  # the staff number the task goes to; None: the organisation's pool
    post: str  # the handler post it went to ('' when the organisation has none)
    cover: bool = False  # the B holder standing in for an absent A

    @property
    def pooled(self) -> bool:
        return self.holder is None


def deciding_posts(register: StaffRegister, organisation: str) -> list[str]:
    """The posts that decide the organisation's tasks: its handlers'; at a village room, which has none,
    its cadres' (acceptance clerks, who settle the village committee's matters on the spot)."""
    return register.posts(organisation, PostKind.HANDLER) or register.posts(organisation, PostKind.ACCEPTANCE_CLERK)


def candidates(register: StaffRegister, organisation: str) -> list[str]:
    """Everyone who could receive the organisation's new work (whose away notices matter)."""
    return [person.staff_number for post in deciding_posts(register, organisation)
            for person in register.holders(post).values()]


def assign(register: StaffRegister, organisation: str, away: set[str]) -> Assignment:
    posts = deciding_posts(register, organisation)
    for mark in ("A", "B"):
        for post in posts:
            person = register.holders(post).get(mark)
            if person is not None and person.staff_number not in away:
                return Assignment(person.staff_number, post, cover=mark == "B")
    return Assignment(None, posts[0] if posts else "")
