"""Fuzzing the org chart, catalogue and calendar loaders: every input loads into a consistent
model or is answered with a `ConfigFileError` naming the file and a line; nothing else escapes.

Structured fuzz starts from the sample files in deploy/, parsed, and breaks them the ways a
hand-edited file breaks (a key deleted, a value of the wrong type, an entry copied, a code reused,
a referenced department dropped, an impossible date); text fuzz feeds arbitrary text and bytes,
alias bombs and deep nesting. The runs are derandomized and keep no example database, so they
take the same time on every run and leave the repository clean.
"""
from __future__ import annotations

import copy
import datetime as dt
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hall.calendar import CalendarFile, WorkingCalendar
from hall.catalogue import load_catalogue, load_org
from hall.domain import Level, MaterialKind, OrgKind
from services.yamlfile import MAX_DEPTH, ConfigFileError, Document
from tooling.cli import main as cli

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SAMPLE = {name: yaml.safe_load((DEPLOY / f"{name}.yaml").read_text(encoding="utf-8"))
          for name in ("org", "catalogue", "calendar")}
ORG = load_org(DEPLOY / "org.yaml")


def fuzz(examples: int) -> settings:
    """Derandomized: every run tries the same examples, so more of them buys little on each run
    (the counts were cut from 1500-2000 to keep `./onewindow test` within its 12 minutes)."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    # One directory for the module: hypothesis runs every example inside one test call, and a
    # function-scoped tmp_path would be shared by all of them anyway.
    return tmp_path_factory.mktemp("fuzz")


# --- the property ---------------------------------------------------------------------------


def load(kind: str, path: Path, org=ORG):
    if kind == "org":
        return load_org(path)
    if kind == "catalogue":
        return load_catalogue(path, org)
    return WorkingCalendar.from_file(path)


def answers_clearly(kind: str, path: Path, org=ORG):
    """Load `path`; a refusal must name the file and a line of it, and a success must hang together."""
    try:
        loaded = load(kind, path, org)
    except ConfigFileError as exc:
        assert_clear(exc, path)
        event(f"{kind}: refused")  # the shares show with --hypothesis-show-statistics
        return None
    CONSISTENT[kind](loaded, path, org)
    event(f"{kind}: loaded")
    return loaded


def assert_clear(exc: ConfigFileError, path: Path) -> None:
    lines = len(re.split(rb"\r\n|\r|\n", path.read_bytes()))  # the line breaks a text-mode read sees
    assert exc.path == str(path) and exc.problems
    for (line, _, reason), shown in zip(exc.problems, exc.lines(), strict=True):
        assert line is not None and 1 <= line <= lines, shown
        assert shown.startswith(f"{path}:{line}: ") and reason.strip(), shown


def org_is_consistent(chart, _path, _org) -> None:
    for section in (chart.departments, chart.organisations, chart.agents):
        assert len({x.code for x in section}) == len(section)
    county = [o for o in chart.organisations if o.parent is None]
    assert len(county) == 1 and (county[0].kind, county[0].level) == (OrgKind.CENTRE, Level.COUNTY)
    centres = [o for o in chart.organisations if o.kind == OrgKind.CENTRE]
    for org in chart.organisations:
        if org.department is not None:
            assert chart.department(org.department) is not None
        up, hops = org, 0
        while up.parent is not None:  # every chain of parents ends at the county centre
            up, hops = chart.organisation(up.parent), hops + 1
            assert up is not None and up.kind == OrgKind.CENTRE and hops <= 3
        assert up is county[0]
        assert chart.centre_of(org).kind in (OrgKind.CENTRE, OrgKind.VILLAGE_ROOM)
    for agent in chart.agents:
        org = chart.organisation(agent.organisation)
        assert org is not None and org.kind in (OrgKind.CENTRE, OrgKind.VILLAGE_ROOM) and org.level != Level.COUNTY
    for department in chart.departments:
        for centre in centres:
            try:
                assert chart.office_for(department.code, centre.code).department == department.code
            except LookupError:
                pass  # the department has no office up to the county: a documented answer


def catalogue_is_consistent(catalogue, _path, org) -> None:
    assert len({i.code for i in catalogue.items}) == len(catalogue.items)
    for item in catalogue.items:
        assert catalogue.item(item.code) is item
        referenced = [item.department, *item.co_departments, *(d for s in item.stages for d in (s.lead, *s.departments))]
        assert all(org.department(code) is not None for code in referenced)
        assert all(s.lead in s.departments for s in item.stages)
        assert len({m.code for m in item.materials}) == len(item.materials)
        assert sum(s.limit_days for s in item.stages) <= item.promised_limit_days <= item.legal_limit_days
        assert item.consult_only or any(m.kind == MaterialKind.ESSENTIAL for m in item.materials)


def calendar_is_consistent(calendar, path, _org) -> None:
    spec = Document(path).validate(CalendarFile)
    assert calendar.local_years == sorted(spec.years)
    for year, days in spec.years.items():
        for day in days.holidays:
            assert not calendar.is_working_day(day)
        for day in days.workdays:
            assert calendar.is_working_day(day)
        if calendar.covers(year):  # a covered year answers for any of its days (a week shows it)
            assert sum(calendar.is_working_day(dt.date(year, 6, d)) for d in range(1, 8)) <= 7


CONSISTENT = {"org": org_is_consistent, "catalogue": catalogue_is_consistent, "calendar": calendar_is_consistent}


# --- structured fuzz ------------------------------------------------------------------------

# Scalars that go into the YAML text as they are, since no Python value dumps to them: dates
# that do not exist, explicit tags on the wrong text, the other spellings of ints, aliases.
RAW = ["2027-02-30", "2027-13-01", "0000-01-01", "2027-01-01 25:00:00", "2027-01-01 10:00:00 +99:00",
       "!!int abc", "!!float x", "!!bool maybe", "!!timestamp x", "!!binary '!'", "!!null x", "!!str [a]",
       "!!map x", "!!set [a]", "!!omap x", "!!python/object/apply:os.system [true]", "!local x",
       "*undefined", "0x7EB", "0o17", "0b101", "1:30", "1_000", ".nan", "-.inf", "~", "''", "'unterminated",
       "[", "{a: 1, a: 2}", "&a x", "\t1", "2027-01-01T00:00:00Z"]
PLACEHOLDER = "RAWVALUE{}END"

WORDS = ["", " ", "county", "civil_affairs", "county-centre", "zhangqiao-centre", "MZ-001", "window", "centre",
         "village", "township", "essential", "joint", "general", "week", "month", "null", "yes", "NO", "1e309",
         "\x00", "\t", "\u202e", "🙂", "示范县", "a" * 300, "x" * 70_000]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-2, 1001), st.floats(),
    st.text(max_size=12), st.sampled_from(WORDS), st.dates(), st.datetimes(), st.binary(max_size=8),
    st.sampled_from(range(len(RAW))).map(PLACEHOLDER.format),
)
values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=3)
                      | st.dictionaries(st.text(max_size=6) | st.integers(0, 3000), kids, max_size=3), max_leaves=6)


def locations(node, here=()):
    """The path of every value under `node` (not the top)."""
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield here + (key,)
        yield from locations(child, here + (key,))


def at(doc, path):
    for key in path:
        doc = doc[key]
    return doc


@st.composite
def mutated(draw, base: dict) -> dict:
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["drop", "delete", "replace", "replace", "copy", "borrow", "nudge", "wrap"]))
        paths = list(locations(doc))
        entries = [p for p in paths if len(p) == 2]  # a department, an organisation, an item, a year
        if not paths:
            break
        path = draw(st.sampled_from(entries if op == "drop" and entries else paths))
        parent, key = at(doc, path[:-1]), path[-1]
        value = parent[key]
        if op in ("drop", "delete"):
            del parent[key]
        elif op == "replace":
            parent[key] = draw(values)
        elif op == "copy" and isinstance(parent, list):  # an entry twice
            parent.insert(draw(st.integers(0, len(parent))), copy.deepcopy(value))
        elif op == "copy":  # a key the model does not know, or a year more
            parent[draw(st.text(max_size=8) | st.integers(1990, 2110))] = copy.deepcopy(value)
        elif op == "borrow":  # a code reused, a reference pointed at another entry's code
            same = [p for p in paths if p[-1] == key and p != path] or paths
            parent[key] = copy.deepcopy(at(doc, draw(st.sampled_from(same))))
        elif op == "nudge" and isinstance(value, dt.date):
            parent[key] = value + dt.timedelta(days=draw(st.integers(-800, 800)))
        elif op == "nudge" and isinstance(value, int) and not isinstance(value, bool):
            parent[key] = value + draw(st.sampled_from([-1, 1, -value - 1, 10**6, -(10**9), 10**30]))
        else:
            parent[key] = draw(st.sampled_from([[value], {"value": value}, str(value)]))
    return doc


def write(path: Path, doc) -> Path:
    text = yaml.dump(doc, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False, width=120)
    for i, raw in enumerate(RAW):
        text = text.replace(PLACEHOLDER.format(i), raw)
    path.write_text(text, encoding="utf-8")
    return path


@st.composite
def small_org(draw) -> dict:
    """The sample org chart cut down to keep examples fast: every department, the county centre
    and at most one township centre, and a few of their desks, windows, offices and rooms."""
    sample = SAMPLE["org"]
    centres = [o for o in sample["organisations"] if o["kind"] == "centre"]
    kept = {"county-centre", *draw(st.lists(st.sampled_from([c["code"] for c in centres[1:]]), max_size=1))}
    others = [o for o in sample["organisations"] if o["kind"] != "centre" and o["parent"] in kept]
    chosen = draw(st.lists(st.sampled_from(others), max_size=8, unique_by=lambda o: o["code"])) if others else []
    orgs = [c for c in centres if c["code"] in kept] + chosen
    codes = {o["code"] for o in orgs}
    return {**sample, "organisations": orgs, "agents": [a for a in sample["agents"] if a["organisation"] in codes]}


@st.composite
def small_catalogue(draw) -> dict:
    """A few items of the sample catalogue, the staged investment item among the likely ones."""
    items = SAMPLE["catalogue"]["items"]
    staged = [i for i, item in enumerate(items) if item.get("stages")]
    chosen = draw(st.lists(st.sampled_from(staged) | st.integers(0, len(items) - 1), min_size=1, max_size=4, unique=True))
    return {"items": [items[i] for i in chosen]}


def calendar_base() -> dict:
    # The sample holds one complete year; a partial year exercises the national data as well.
    return {"years": {**SAMPLE["calendar"]["years"], 2026: {"complete": False, "holidays": [dt.date(2026, 3, 2)]}}}


@fuzz(1000)
@given(doc=small_org().flatmap(mutated))
def test_a_broken_org_chart_is_refused_clearly_or_loads_consistent(workdir, doc):
    answers_clearly("org", write(workdir / "org.yaml", doc))


@fuzz(1200)
@given(doc=small_catalogue().flatmap(mutated))
def test_a_broken_catalogue_is_refused_clearly_or_loads_consistent(workdir, doc):
    answers_clearly("catalogue", write(workdir / "catalogue.yaml", doc))


@fuzz(1200)
@given(doc=mutated(calendar_base()))
def test_a_broken_calendar_is_refused_clearly_or_loads_consistent(workdir, doc):
    answers_clearly("calendar", write(workdir / "calendar.yaml", doc))


@fuzz(50)
@given(dropped=st.sets(st.sampled_from([d["code"] for d in SAMPLE["org"]["departments"]]), min_size=1, max_size=6))
def test_departments_dropped_from_the_org_chart_are_named_by_the_catalogue(workdir, dropped):
    # Across files: the org chart loses departments (with their windows and offices) and stays
    # valid; the sample catalogue must then name every item that still refers to one of them.
    sample = SAMPLE["org"]
    orgs = [o for o in sample["organisations"] if o.get("department") not in dropped]
    doc = {**sample, "departments": [d for d in sample["departments"] if d["code"] not in dropped], "organisations": orgs}
    org = answers_clearly("org", write(workdir / "org.yaml", doc))
    assert org is not None
    items = SAMPLE["catalogue"]["items"]
    used = dropped & {code for i in items for code in (i["department"], *i.get("co_departments", []),
                                                        *(d for s in i.get("stages", []) for d in s["departments"]))}
    try:
        load_catalogue(DEPLOY / "catalogue.yaml", org)
    except ConfigFileError as exc:
        assert_clear(exc, DEPLOY / "catalogue.yaml")
        assert all(f"unknown department {code!r} (not in the org chart)" in str(exc) for code in used)
    else:
        assert not used


# --- text fuzz ------------------------------------------------------------------------------

FRAGMENTS = ["\n", "\n  ", "\n    ", "\t", " ", ": ", "- ", ", ", "[", "]", "{", "}", "'", '"', "#", "? ", "|\n", ">-\n",
             "---\n", "...\n", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "&a ", "*a", "<<: ", "!!int ", "!!str ", "!!binary ",
             "!x ", "years:", "2027:", "holidays:", "workdays:", "complete:", "2027-01-01", "2027-02-30", "items:",
             "code:", "departments:", "organisations:", "agents:", "county:", "\x00", "\x85", "\u2028", "\ufeff", "\\", "~"]
texts = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=4), max_size=40).map("".join),
)


def bomb(width: int, levels: int) -> str:
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + f"\ncounty: *l{levels}\nyears: *l{levels}\nitems: *l{levels}\n"


def nested(kind: str, depth: int) -> str:
    if kind == "flow":
        return "years: " + "[" * depth + "]" * depth + "\n"
    if kind == "mapping":
        return "".join(f"{'  ' * i}k{i}:\n" for i in range(depth)) + "  " * depth + "x\n"
    return "".join(f"{'  ' * i}-\n" for i in range(depth)) + "  " * depth + "x\n"


hostile = st.one_of(
    st.builds(bomb, st.integers(8, 12), st.integers(7, 9)),  # 8**7 values and more: always over the bound
    st.builds(nested, st.just("flow"), st.integers(MAX_DEPTH - 3, 5000)),
    st.builds(nested, st.sampled_from(["mapping", "sequence"]), st.integers(MAX_DEPTH - 3, 400)),  # indented: n² long
    st.sampled_from(["years: &a [*a]\n", "a: &a {b: *a}\n", "a: &a {<<: *a}\n", "items: &a\n  - *a\n"]),
)


def answers_all(workdir: Path, data: str | bytes) -> None:
    path = workdir / "any.yaml"
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    for kind in CONSISTENT:
        answers_clearly(kind, path)


@fuzz(2000)
@given(data=texts | st.binary(max_size=200))
def test_any_text_or_bytes_is_refused_clearly_or_loads_consistent(workdir, data):
    answers_all(workdir, data)


@fuzz(200)
@given(text=hostile)
def test_alias_bombs_recursion_and_deep_nesting_are_refused_quickly(workdir, text):
    answers_all(workdir, text)


def damaged(text: str):
    """The sample text with a few characters, lines or spans changed, the way an editor slips."""
    @st.composite
    def build(draw):
        out = text
        for _ in range(draw(st.integers(1, 3))):
            at_ = draw(st.integers(0, len(out)))
            op = draw(st.sampled_from(["insert", "delete", "line"]))
            if op == "insert":
                out = out[:at_] + draw(st.sampled_from(FRAGMENTS) | st.text(max_size=3)) + out[at_:]
            elif op == "delete":
                out = out[:at_] + out[at_ + draw(st.integers(1, 40)):]
            else:  # a line repeated or indented by a tab
                start = out.rfind("\n", 0, at_) + 1
                end = out.find("\n", at_) + 1 or len(out)
                out = out[:start] + draw(st.sampled_from([out[start:end], "\t"])) + out[start:]
        return out
    return build()


@fuzz(600)
@given(text=damaged((DEPLOY / "calendar.yaml").read_text(encoding="utf-8")))
def test_a_damaged_calendar_file(workdir, text):
    path = workdir / "calendar.yaml"
    path.write_text(text, encoding="utf-8")
    answers_clearly("calendar", path)


@fuzz(100)
@given(text=damaged((DEPLOY / "org.yaml").read_text(encoding="utf-8")))
def test_a_damaged_org_file(workdir, text):
    path = workdir / "org.yaml"
    path.write_text(text, encoding="utf-8")
    answers_clearly("org", path)


@fuzz(60)
@given(text=damaged((DEPLOY / "catalogue.yaml").read_text(encoding="utf-8")))
def test_a_damaged_catalogue_file(workdir, text):
    path = workdir / "catalogue.yaml"
    path.write_text(text, encoding="utf-8")
    answers_clearly("catalogue", path)


# --- what probing and the fuzz found, each as its smallest input -----------------------------


@pytest.mark.parametrize("kind, text, expected", [
    # PyYAML's own errors leaked out of the loaders: ValueError, KeyError, AttributeError, IndexError.
    ("calendar", "years:\n  2027:\n    holidays: [2027-02-30]\n", ":3: '2027-02-30' is not a valid timestamp (day is out of range for month)"),
    ("calendar", "years:\n  2027:\n    holidays: [2027-01-01 10:00:00 +99:00]\n", ":3: '2027-01-01 10:00:00 +99:00' is not a valid timestamp"),
    ("calendar", "years:\n  2027:\n    complete: !!int abc\n", ":3: 'abc' is not a valid int"),
    ("calendar", "years:\n  2027:\n    complete: !!bool maybe\n", ":3: 'maybe' is not a valid bool"),
    ("calendar", "years:\n  2027:\n    holidays: [!!timestamp x]\n", ":3: 'x' is not a valid timestamp"),
    ("org", "!!int\n", ":1: '' is not a valid int"),
    # yaml.reader.ReaderError leaked, and it named no line.
    ("calendar", "years:\n  2027: {}\x00\n", ":2: not valid YAML: the character U+0000 is not allowed"),
    # A key YAML reads as an int but Python's int() does not (0x…, 1:30) broke the line lookup;
    # and two spellings of one key silently lost the first.
    ("calendar", "years:\n  0x7EB:\n    holidays: [2027-01-01]\n  2027:\n    holidays: [2027-05-03]\n",
     ":4: duplicate key '2027' (first on line 2)"),
    ("calendar", "years:\n  1:30: {}\n", ":2: years[90][key]: Input should be greater than or equal to 2000"),
    # RecursionError: an alias inside its own anchor, and nesting deeper than Python's stack.
    ("calendar", "years: &a\n  2027: *a\n", ":1: an alias refers to a value that contains it"),
    ("calendar", "years: " + "[" * 1000 + "]" * 1000 + "\n", f":1: nested more than {MAX_DEPTH} levels deep"),
    # PyYAML keeps the second of two equal keys and drops the first: a year's holidays vanished.
    ("calendar", "years:\n  2027:\n    holidays: [2027-01-01]\n    holidays: [2027-05-03]\n",
     ":4: duplicate key 'holidays' (first on line 3)"),
    # Lines beyond the file: YAML also breaks lines at U+0085 and U+2028, and puts the end of an
    # unfinished last line on the line after it.
    ("org", "'\x85", ":1: not valid YAML: found unexpected end of stream"),
    ("org", "[", ":1: not valid YAML"),
    ("org", "a: \u2028b\nyears: [\n", ":2: not valid YAML: could not find expected ':' (while scanning a simple key on line 1)"),
    # A lone `=` or `<<` is YAML 1.1's value or merge tag, which nothing could build.
    ("calendar", "years:\n  2027:\n    holidays: [=]\n", ":3: years[2027].holidays[0]: Input should be a valid date"),
    ("org", "county: <<\n", ":1: departments: Field required"),
    # "not valid YAML: second occurrence" did not say of what.
    ("org", "a: &x 1\nb: &x 2\n", ":2: not valid YAML: second occurrence (found duplicate anchor 'x'; first occurrence on line 1)"),
])
def test_found_by_fuzzing(tmp_path, kind, text, expected):
    path = tmp_path / f"{kind}.yaml"
    path.write_text(text, encoding="utf-8", newline="")
    with pytest.raises(ConfigFileError) as err:
        load(kind, path)
    assert f"{path}{expected}" in str(err.value)
    assert_clear(err.value, path)


def test_a_billion_laughs_is_refused_in_a_moment(tmp_path):
    # Before, ten aliases of ten on seven levels (10**7 values) took a minute; nine levels, forever.
    path = tmp_path / "org.yaml"
    path.write_text(bomb(10, 9), encoding="utf-8")
    with pytest.raises(ConfigFileError, match=r":6: more than 500000 values once its aliases are expanded"):
        load_org(path)


def test_anchors_aliases_and_merge_keys_that_stay_small_still_load(tmp_path):
    path = tmp_path / "calendar.yaml"
    path.write_text("years:\n  2027: &y\n    holidays: [2027-01-01]\n  2028:\n    <<: *y\n"
                    "    holidays: [2028-01-03]\n", encoding="utf-8")
    calendar = WorkingCalendar.from_file(path)
    assert calendar.local_years == [2027, 2028] and not calendar.is_working_day(dt.date(2028, 1, 3))


def test_bytes_that_are_not_utf8_are_placed_on_their_line(tmp_path):
    path = tmp_path / "org.yaml"
    path.write_bytes(b"\xef\xbb\xbfcounty: x\r\ndepartments:\r\n  - \xff\n")
    with pytest.raises(ConfigFileError, match=r"org.yaml:3: not UTF-8 text \(invalid start byte\)"):
        load_org(path)


def test_a_directory_or_an_oversized_file_is_refused_not_read(tmp_path):
    with pytest.raises(ConfigFileError, match=r"cannot be read \(Is a directory\)"):
        load_org(tmp_path)
    huge = tmp_path / "huge.yaml"
    with open(huge, "wb") as file:
        file.truncate(9 * 2**20)  # sparse: nine MiB of NULs without writing them
    with pytest.raises(ConfigFileError, match=r"huge.yaml: larger than 8 MiB"):
        WorkingCalendar.from_file(huge)


# --- the command line: refusals name file and line, and the files are left as they were -----


def check_config(*paths: Path):
    return CliRunner().invoke(cli, ["check-config", *map(str, paths)], catch_exceptions=False)


@pytest.mark.parametrize("name, text, where", [
    ("org.yaml", "county: 示范县\ndepartments: [\n", ":3: not valid YAML"),
    ("org.yaml", "county: 示范县\ndepartments: []\norganisations: []\ncounty: again\n", ":4: duplicate key 'county'"),
    ("catalogue.yaml", "items:\n  - code: X\n    code: Y\n", ":3: duplicate key 'code'"),
    ("calendar.yaml", "years:\n  2027:\n    holidays: [2027-02-30]\n", ":3: '2027-02-30' is not a valid timestamp"),
    ("calendar.yaml", bomb(10, 9), ":6: more than 500000 values"),
    ("calendar.yaml", "years: {}\x00", ":1: not valid YAML: the character U+0000"),
])
def test_check_config_answers_a_bad_file_with_its_line_and_a_failure(tmp_path, name, text, where):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = check_config(DEPLOY / "org.yaml", path)
    assert result.exit_code == 1 and f"{path}{where}" in result.output, result.output
    assert path.read_text(encoding="utf-8") == text and [p.name for p in tmp_path.iterdir()] == [name]


def test_check_config_passes_the_sample_files():
    result = check_config(*(DEPLOY / f"{name}.yaml" for name in ("org", "catalogue", "calendar")))
    assert result.exit_code == 0 and result.output.count(": ok (") == 3, result.output


@fuzz(300)
@given(data=texts | st.binary(max_size=200) | hostile)
def test_check_config_on_any_file_exits_with_ok_or_with_file_and_line(workdir, data):
    path = workdir / "cli" / "any.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    before = path.read_bytes()
    result = check_config(path)  # a catalogue is checked against the configured org chart
    assert result.exit_code in (0, 1), result.output
    assert result.exit_code == 0 or re.search(rf"{re.escape(str(path))}:\d+: ", result.output), result.output
    assert path.read_bytes() == before and list(path.parent.iterdir()) == [path]
