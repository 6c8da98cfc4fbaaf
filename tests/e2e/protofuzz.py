"""Hypothesis strategies for any protobuf message, built from its descriptor, to fuzz the APIs.

A field is drawn from the values the caller knows for its name (`known`: real case numbers, codes,
dates, ...), so that requests get past the first checks and reach the use cases, or from anything of
its type: text in any script with NUL and control characters, odd strings (whitespace, numbers out
of range, malformed dates, injection attempts), long strings up to megabytes, integers at and
within their bounds, enum numbers nobody defined, lists and maps from empty to thousands of
entries, nested messages. Any field may be left unset.
"""
from __future__ import annotations

import operator

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

F = FieldDescriptor
ODD = ["", " ", "\t\n", "0", "-1", "1e9", "99999999999999999999999", "٣", "１２３", "NaN", "null", "' OR '1'='1",
       "%s%s%n", "{0}{1}", "../../etc/passwd", "\u202e", "\ufeff", "😀", "2026-02-30", "2026-13", "0000-01-01",
       "9999-12-31", "2026-W01", "+002026-01-01", "20260101", "\x00"]
# Lengths of long strings; repeats weigh the draw, so a string of megabytes is rare.
LONG = [300, 300, 300, 5_000, 5_000, 20_000, 1_000_000]
_SIGNED = {F.TYPE_INT32: 32, F.TYPE_SINT32: 32, F.TYPE_SFIXED32: 32,
           F.TYPE_INT64: 64, F.TYPE_SINT64: 64, F.TYPE_SFIXED64: 64}
_UNSIGNED = {F.TYPE_UINT32: 32, F.TYPE_FIXED32: 32, F.TYPE_UINT64: 64, F.TYPE_FIXED64: 64}
BULK_BYTES = 4_000_000  # a list or map of many copies stays about the size of the largest message sent
_MAX_DEPTH = 4  # the APIs' messages are not recursive; this only guards against one that is


def text() -> st.SearchStrategy[str]:
    return st.one_of(st.text(max_size=40), st.sampled_from(ODD),
                     st.builds(operator.mul, st.characters(codec="utf-8"), st.sampled_from(LONG)))


def integers(bits: int, signed: bool = True) -> st.SearchStrategy[int]:
    low, high = (-2 ** (bits - 1), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)
    return st.one_of(st.sampled_from([0, 1, 2, low, high] + ([-1] if signed else [])), st.integers(low, high))


def _scalar(field: FieldDescriptor) -> st.SearchStrategy:
    kind = field.type
    if kind == F.TYPE_STRING:
        return text()
    if kind == F.TYPE_BYTES:
        return st.binary(max_size=64)
    if kind == F.TYPE_BOOL:
        return st.booleans()
    if kind in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return st.floats(width=64 if kind == F.TYPE_DOUBLE else 32)
    if kind == F.TYPE_ENUM:  # proto3 enums are open: a number nobody defined arrives as it is
        return st.one_of(st.sampled_from([v.number for v in field.enum_type.values]), integers(32))
    if kind in _SIGNED:
        return integers(_SIGNED[kind])
    return integers(_UNSIGNED[kind], signed=False)


def _known(field: FieldDescriptor, known: dict) -> list:
    """The known values of the field's name that fit its type: one name may be text in one message
    and a number in another (supervision's `level`: a warning's organisation's, a rating's)."""
    return [v for v in known.get(field.name, ()) if isinstance(v, str) == (field.type == F.TYPE_STRING)]


def _single(field: FieldDescriptor, known: dict, depth: int) -> st.SearchStrategy:
    """One value of the field (one element, if it is repeated)."""
    if field.type == F.TYPE_MESSAGE:
        return messages(field.message_type, known, depth + 1)
    values = _known(field, known)
    return st.one_of(st.sampled_from(values), _scalar(field)) if values else _scalar(field)


def _size(value) -> int:
    return value.ByteSize() if isinstance(value, Message) else len(value.encode()) if isinstance(value, str) else 8


def _copies(value, n: int) -> int:
    """At most n, and few enough that all the copies stay within a few megabytes."""
    return max(1, min(n, BULK_BYTES // (_size(value) + 2)))


def _many(element: st.SearchStrategy) -> st.SearchStrategy[list]:
    """A few elements, or one element a hundred to a few thousand times."""
    return st.one_of(st.lists(element, max_size=4),
                     st.tuples(element, st.integers(100, 3_000)).map(lambda t: [t[0]] * _copies(t[0], t[1])))


def _map(field: FieldDescriptor, known: dict, depth: int) -> st.SearchStrategy[dict]:
    key, value = (field.message_type.fields_by_name[n] for n in ("key", "value"))
    keys, values = _single(key, known, depth), _single(value, known, depth)
    small = st.dictionaries(keys, values, max_size=4)
    if key.type != F.TYPE_STRING:
        return small
    return st.one_of(small, st.tuples(keys, values, st.integers(100, 3_000)).map(
        lambda t: {f"{t[0]}{i}": t[1] for i in range(_copies(t[0] + str(t[1]), t[2]))}))


def field_values(field: FieldDescriptor, known: dict, depth: int = 0) -> st.SearchStrategy:
    """What may be put in the field: a value, a list of them, or a dict for a map."""
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return _map(field, known, depth)
    element = _single(field, known, depth)
    return _many(element) if field.is_repeated else element


def put(message: Message, field: FieldDescriptor, value) -> None:
    target = getattr(message, field.name) if field.is_repeated or field.type == F.TYPE_MESSAGE else None
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        if field.message_type.fields_by_name["value"].type == F.TYPE_MESSAGE:
            for k, v in value.items():
                target[k].CopyFrom(v)
        else:
            target.update(value)
    elif field.is_repeated:
        target.extend(value)
    elif field.type == F.TYPE_MESSAGE:
        target.CopyFrom(value)
    else:
        setattr(message, field.name, value)


def _build(descriptor: Descriptor, values: dict) -> Message:
    message = GetMessageClass(descriptor)()
    for name, value in values.items():
        put(message, descriptor.fields_by_name[name], value)
    return message


def messages(descriptor: Descriptor, known: dict, depth: int = 0) -> st.SearchStrategy[Message]:
    """Any message of the type, each field set or not."""
    if depth > _MAX_DEPTH:
        return st.builds(GetMessageClass(descriptor))
    fields = {f.name: field_values(f, known, depth) for f in descriptor.fields}
    return st.fixed_dictionaries({}, optional=fields).map(lambda values: _build(descriptor, values))


def plausible(descriptor: Descriptor, known: dict, depth: int = 0) -> st.SearchStrategy[Message]:
    """A message whose fields hold known values wherever there are some, enums a defined value, and
    the rest anything, all set: a request with a fair chance of being valid, for `mutated` to spoil."""
    if depth > _MAX_DEPTH:
        return st.builds(GetMessageClass(descriptor))
    fields = {}
    for f in descriptor.fields:
        if f.type == F.TYPE_MESSAGE and not f.message_type.GetOptions().map_entry:
            element = plausible(f.message_type, known, depth + 1)
            fields[f.name] = st.lists(element, max_size=3) if f.is_repeated else element
        elif _known(f, known) or f.type == F.TYPE_ENUM:
            values = _known(f, known) or [v.number for v in f.enum_type.values]
            element = st.sampled_from(values)
            fields[f.name] = st.lists(element, max_size=3) if f.is_repeated else element
        else:
            fields[f.name] = field_values(f, known, depth)
    return st.fixed_dictionaries(fields).map(lambda values: _build(descriptor, values))


@st.composite
def mutated(draw, templates: st.SearchStrategy[Message], known: dict) -> Message:
    """A valid request with none, one or two of its fields replaced by anything."""
    template = draw(templates)
    message = type(template)()
    message.CopyFrom(template)
    fields = message.DESCRIPTOR.fields
    if not fields:  # a request with no fields (ListAwayRequest): nothing to replace
        return message
    for name in draw(st.lists(st.sampled_from([f.name for f in fields]), max_size=2, unique=True)):
        field = message.DESCRIPTOR.fields_by_name[name]
        message.ClearField(name)
        put(message, field, draw(field_values(field, known)))
    return message
