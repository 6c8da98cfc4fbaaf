"""The staff register as county IT and the centre managers read it, and county IT's change of a
person's posts (工作人员名册).

The register is a reference file (`hall.staff`), read by every service. County IT's page changes it
through identity rather than by hand: the person's posts are replaced in the file's own text
(ruamel.yaml keeps its comments and layout), the whole file with the change is validated by the
same loader every service uses (`hall.staff.load_staff`), and only a file that passes replaces the
old one, atomically. Each problem is answered at its field of the request; nothing is half-written.
Two changes at once are serialised by a PostgreSQL advisory lock (any number of identity replicas
over one register file), each reading the file as the other left it."""
from __future__ import annotations

import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from hall.catalogue import Organisation, OrgChart
from hall.domain import OrgKind
from hall.staff import Holding, Person, PostKind, Staff, StaffRegister, load_staff
from services.access import Caller, Role
from services.errors import Forbidden, InvalidRequest, NotAllowedNow, NotFound, Violations
from services.uow import UnitOfWork
from services.yamlfile import ConfigFileError

MAX_PAGE, DEFAULT_PAGE = 200, 50
MAX_POSTS = 20
WRITE_LOCK = 7_301_001  # the advisory lock key of a register change
# the register's field names and what SetPosts calls them
_FIELDS = {"post": "kind", "at": "organisation", "seat": "seat", "holder": "holder", "agent": "agent"}
_PERSON_POST = re.compile(r"^persons\[(\d+)\]\.posts(?:\[(\d+)\](?:\.(\w+))?)?")


@dataclass(frozen=True)
class SeatView:
    post_id: str
    kind: PostKind
    holders: list[tuple[str, Person]]  # (A or B, the active person), A first


@dataclass(frozen=True)
class CentreView:
    centre: Organisation
    organisations: list[tuple[Organisation, list[SeatView]]]


@dataclass(frozen=True)
class PostChange:
    kind: str
    organisation: str
    seat: int
    holder: str
    agent: str


class Register:
    def __init__(self, staff: Staff, org: OrgChart, path: Path | str):
        self.staff, self.org, self.path = staff, org, Path(path)

    # --- reading --------------------------------------------------------------------------------

    def search(self, query: str, after: int, limit: int) -> list[tuple[int, Person]]:
        """(position in the register, person) of the persons matching `query`, from `after` on."""
        q = query.strip().lower()[:64]
        found = []
        for i, person in enumerate(self.staff.register.persons):
            if i < after:
                continue
            if not q or self._matches(person, q):
                found.append((i, person))
                if len(found) >= limit:
                    break
        return found

    def _matches(self, person: Person, q: str) -> bool:
        if q in person.staff_number.lower() or q in person.name.lower():
            return True
        for holding in person.posts:
            place = self.org.organisation(holding.at)
            if q in holding.at.lower() or (place is not None and q in place.name.lower()):
                return True
        return False

    def centre(self, caller: Caller, code: str) -> CentreView:
        code = code or caller.organisation
        centre = self.org.organisation(code) if code else None
        if centre is None or centre.kind != OrgKind.CENTRE:
            raise InvalidRequest([("centre", f"not a centre of the org chart: {code[:64]!r}")])
        if caller.role == Role.MANAGER and caller.organisation != centre.code:
            raise Forbidden(f"a centre's manager sees their own centre only, not {centre.code}")
        register = self.staff.register
        places = [centre] + [o for o in self.org.organisations if o.parent == centre.code and o.kind != OrgKind.CENTRE]
        return CentreView(centre, [(place, self._seats(register, place)) for place in places])

    @staticmethod
    def _seats(register: StaffRegister, place: Organisation) -> list[SeatView]:
        seats = []
        for kind in PostKind:
            for post_id in register.posts(place.code, kind):
                holders = register.holders(post_id)
                seats.append(SeatView(post_id, kind, [(mark, holders[mark]) for mark in ("A", "B") if mark in holders]))
        return seats

    # --- county IT's change of a person's posts ---------------------------------------------

    def set_posts(self, uow: UnitOfWork, caller: Caller, staff_number: str, posts: list[PostChange]) -> Person:
        """Replace the person's posts in the register file, or change nothing and say why (every
        problem at once: each post's own shape first, then the whole register with the well-formed ones).
        County IT does not change its own posts (as it does not revoke its own account)."""
        if caller.person and caller.person == staff_number:
            raise NotAllowedNow("county IT does not change its own posts: another administrator does")
        problems = Violations()
        if not posts:
            problems.add("posts", "at least one post (a person who leaves is marked inactive in the register)")
        elif len(posts) > MAX_POSTS:
            problems.add("posts", f"at most {MAX_POSTS} posts")
        problems.check()
        well_formed = []  # (index in the request, post)
        for j, change in enumerate(posts):
            try:
                Holding.model_validate(_holding(change))
            except ValidationError as exc:
                for error in exc.errors():
                    name = _FIELDS.get(str(error["loc"][0]) if error["loc"] else "", "")
                    problems.add(f"posts[{j}]" + (f".{name}" if name else ""), error["msg"].removeprefix("Value error, "))
            else:
                well_formed.append((j, change))
        uow.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
        yaml = _yaml()
        data = yaml.load(self._read())
        persons = data.get("persons") if isinstance(data, dict) else None
        index = next((i for i, p in enumerate(persons or [])
                      if isinstance(p, dict) and p.get("staff_number") == staff_number), None)
        if index is None:
            raise NotFound(f"no person {staff_number!r} in the staff register")
        data["persons"][index]["posts"] = _posts_yaml([change for _, change in well_formed])
        out = io.StringIO()
        yaml.dump(data, out)
        register = self._write_checked(out.getvalue(), index, [j for j, _ in well_formed], problems)
        return register.person(staff_number)

    def _read(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise NotAllowedNow(f"the staff register cannot be read here: {exc.strerror or exc}") from None

    def _write_checked(self, text: str, index: int, positions: list[int], problems: Violations) -> StaffRegister:
        """Validate `text` as the register (the loader every service uses), then put it in place if
        neither it nor the request (`problems`) has anything wrong. `positions`: each written post's
        index in the request."""
        try:
            handle, name = tempfile.mkstemp(prefix=".staff-", suffix=".yaml", dir=self.path.parent)
        except OSError as exc:
            raise NotAllowedNow(f"the staff register is read-only here ({exc.strerror or exc}): "
                                "change it where it is kept") from None
        temporary = Path(name)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            try:
                register = load_staff(temporary, self.org)
            except ConfigFileError as error:
                for field, reason in _violations(error, index, positions):
                    problems.add(field, reason)
            problems.check()
            os.chmod(temporary, self.path.stat().st_mode & 0o777)
            os.replace(temporary, self.path)
        finally:
            temporary.unlink(missing_ok=True)
        return register


def _yaml() -> YAML:
    yaml = YAML()  # round trip: comments, flow style and order kept, as the register's editors wrote it
    yaml.width = 4096
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _holding(change: PostChange) -> dict:
    """A post as the register writes it."""
    post = {"post": change.kind, "at": change.organisation, "seat": change.seat or 1, "holder": change.holder or "A"}
    if change.agent:
        post["agent"] = change.agent
    return post


def _posts_yaml(posts: list[PostChange]) -> CommentedSeq:
    seq = CommentedSeq()
    seq.fa.set_flow_style()
    for change in posts:
        post = CommentedMap(_holding(change))
        post.fa.set_flow_style()
        seq.append(post)
    return seq


def _violations(error: ConfigFileError, index: int, positions: list[int]) -> list[tuple[str, str]]:
    """The loader's problems as the request's fields: this person's posts at their field, a clash
    seen at another person's line at `posts`."""
    found = []
    for _, path, reason in error.problems:
        match = _PERSON_POST.match(path or "")
        if match and int(match.group(1)) == index and match.group(2) is not None:
            name = _FIELDS.get(match.group(3) or "", "")
            at = positions[int(match.group(2))] if int(match.group(2)) < len(positions) else match.group(2)
            found.append((f"posts[{at}]" + (f".{name}" if name else ""), reason))
        else:
            found.append(("posts", reason))
    return found
