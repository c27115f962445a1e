"""The one cattrs converter, built once, with every hook the models need.

Decoding is deliberately forgiving, because Clerk adds fields and enum values
without bumping the API version:

* unknown keys in a response are ignored;
* an enum value we do not know stays a plain ``str`` (fields are typed ``Enum | str``);
* primitives are passed through without coercion, so a value of an unexpected
  type is kept as it came rather than failing the whole response;
* a union of several models picks the member named by the object's ``object``
  value, else the member whose fields best match the keys.

Encoding drops every :data:`~clerk_async.UNSET` value and keeps ``None``.
A field whose JSON key is not a Python identifier declares it with
``attrs.field(metadata={"json": "key"})``.
"""

from __future__ import annotations

import enum
import json
import linecache
import marshal
import sys
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._types import UNSET, Unset

__all__ = [
    "ItemsOf",
    "Listing",
    "ResponseModel",
    "converter",
    "model_from_json",
    "parse_json",
    "structure",
    "unstructure",
]

T = TypeVar("T")

JSON_KEY = "json"
_NONE_TYPE: Any = type(None)
_SHAPES_REMEMBERED = 64  # per union; bounded so odd payloads cannot grow memory

converter = cattrs.Converter(detailed_validation=False, prefer_attrib_converters=False)


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _passthrough(value: Any, _: Any) -> Any:
    return value


_PRIMITIVES = (str, int, float, bool, bytes, typing.Any, object)
_ENUM_MEMBERS: dict[type, dict[Any, enum.Enum]] = {}


def _scalar(value: Any, tp: Any) -> Any:
    """Primitives pass through; enum values map to members, unknown ones stay as they are."""
    if tp in _PRIMITIVES:
        return value
    members = _ENUM_MEMBERS.get(tp)
    if members is None:
        members = _ENUM_MEMBERS[tp] = {m.value: m for m in tp}
    try:
        return members.get(value, value)
    except TypeError:  # an unhashable value where an enum was expected
        return value


# cattrs dispatches on these classes (and their subclasses, such as ``str`` enums)
# before any predicate, so the enum handling has to live in the same hook.
for _cls in (str, int, float, bool, bytes, enum.Enum):
    converter.register_structure_hook(_cls, _scalar)


def _is_any(tp: Any) -> bool:
    return tp is typing.Any or tp is object


def _is_literal(tp: Any) -> bool:
    return get_origin(tp) is Literal


def _is_mapping(tp: Any) -> bool:
    return get_origin(tp) in (dict, Mapping)


def _is_list(tp: Any) -> bool:
    return get_origin(tp) is list


class ItemsOf(typing.Generic[T]):
    """What a list operation's answer is decoded as (``cast_to=ItemsOf[Model]``): a
    :class:`Listing` of ``Model`` when :func:`model_from_json` reads the answer's bytes
    (a JSON array of objects, or an object holding them under ``"data"``), else the
    answer's JSON value as it came, for the caller to read as it always has."""


class Listing:
    """A list answer decoded straight from its bytes: its items, models, and its
    ``total_count`` as sent (None for a bare array)."""

    __slots__ = ("items", "total_count")

    def __init__(self, items: list[Any], total_count: object) -> None:
        self.items = items
        self.total_count = total_count


def _is_items_of(tp: Any) -> bool:
    return get_origin(tp) is ItemsOf


converter.register_structure_hook_func(_is_any, _passthrough)
converter.register_unstructure_hook(Unset, lambda value: value)
converter.register_structure_hook_func(_is_literal, _passthrough)
converter.register_structure_hook_func(_is_items_of, _passthrough)


def _json_names(cls: type) -> dict[str, str]:
    return {f.name: f.metadata[JSON_KEY] for f in attrs.fields(cls) if JSON_KEY in f.metadata}


_PLAIN_CONTAINERS = (dict, Mapping, list)


def _is_plain(tp: Any) -> bool:
    """Whether JSON values of ``tp`` are kept exactly as decoded (no hook needed)."""
    if tp in _PRIMITIVES or _is_literal(tp):
        return True
    if _is_union(tp):
        return all(m is _NONE_TYPE or _is_plain(m) for m in get_args(tp))
    if get_origin(tp) in _PLAIN_CONTAINERS:
        args = get_args(tp)
        return not args or _is_plain(args[-1])
    return False


def _strip_none(tp: Any) -> Any:
    """``X | None`` -> ``X``; any other type unchanged."""
    if _is_union(tp):
        members = [m for m in get_args(tp) if m is not _NONE_TYPE]
        if len(members) == 1:
            return members[0]
    return tp


class ResponseModel:
    """Base of the generated response models: dict-backed, and decoded by adoption.

    A subclass (an ``@attrs.define(kw_only=True, slots=False)`` class) must keep these
    invariants, checked when the class is defined (``TypeError`` otherwise):

    * every field defaults to ``None``, with no factory, validator or converter, so that
      an answer lacking a field still decodes, and decoding runs no code per field;
    * no ``__slots__``: the instance's ``__dict__`` is where the fields live.

    The class then gets a class attribute ``None`` per field, at definition (so
    ``hasattr(Model, "field")`` never changes later). Decoding a JSON object copies it
    onto the model's field names (every instance shares those key strings; a field the
    answer lacks holds ``None``), converts in place the scalars that need it (enums, renamed keys such as
    ``x5t#S256``) and adopts the copy as the instance's ``__dict__``. Fields holding
    nested models keep their JSON value until first read, when it is converted and kept
    (the class attribute of such a field becomes a :class:`_LazyField` when the class is
    first decoded, still reading ``None`` on the class). Held by the hundred thousand,
    answers keep their nested values packed and share what they can: a nested value
    not read yet (a list of email addresses, metadata) is held as one compact
    :mod:`marshal` string rather than as parsed JSON, an empty nested list or mapping
    (``[]``, metadata's ``{}``) is one marker until read, and the ``object`` value
    naming the model's kind is the model's own ``OBJECT`` string. A model the requester
    decodes straight from the answer's bytes (:func:`model_from_json`) keeps each such
    value as the answer's own JSON text instead, never parsed until read: a view of the
    answer for a model answer, a copy of its own text for an item of a list answer (so a
    held item does not keep its page alive; empty values as the markers above);
    everything else about it is the same, and both ways give equal models. Pickling
    unpacks what is still packed (a pickle holds JSON values only, readable by any Python
    version). A field the answer lacks reads
    ``None``; keys the model does not know ride along unused (decoded from the bytes, they
    are skipped): they are not fields, so ``==``, ``repr``, pickling and ``attrs.asdict``
    ignore them.
    """

    __slots__ = ()

    @classmethod
    def __attrs_init_subclass__(cls) -> None:
        if "__slots__" in vars(cls):
            raise TypeError(f"{cls.__name__}: a response model must not have __slots__")
        for field in attrs.fields(typing.cast(Any, cls)):
            if field.default is not None or field.validator or field.converter:
                raise TypeError(
                    f"{cls.__name__}.{field.name}: a response model field defaults to None "
                    "and has no factory, validator or converter"
                )
            setattr(cls, field.name, None)  # what a field absent from the answer reads

    def __getstate__(self) -> dict[str, Any]:
        # A pickle carries JSON values, not marshal's format (private to one Python
        # version): what is still packed travels unpacked, still not converted.
        state: dict[str, Any] = self.__dict__
        if any(v.__class__ in _PACKED for v in state.values()):
            state = {
                k: _Pending(_unpack(v)) if v.__class__ in _PACKED else v for k, v in state.items()
            }
        return state


def _json_value(text: Any) -> Any:
    """The value of a nested field a model decoded straight from the answer's bytes
    (:func:`model_from_json`) holds until first read: a ``msgspec.Raw``, the field's own
    JSON text within the answer (registered in :data:`_PACKED` with msgspec's import)."""
    try:
        return parse_json(bytes(text), None)
    except (ValueError, RecursionError) as exc:
        # Only what the answer's decoding could not see without parsing it all: an
        # integer of thousands of digits (Python's own limit) in a field not read then.
        from .errors import ClerkDecodeError

        raise ClerkDecodeError(f"could not decode a nested value of the answer: {exc}") from None


class _JsonText(bytes):
    """The JSON text of a nested value of one item of a list answer decoded from its
    bytes, copied out of the answer (so that a held item does not keep the whole page
    alive) and parsed when first read (registered in :data:`_PACKED`)."""

    __slots__ = ()


# The packed forms of a nested value not read yet, and how each unpacks.
_PACKED: dict[type, Callable[[Any], Any]] = {bytes: marshal.loads, _JsonText: _json_value}


def _unpack(value: Any) -> Any:
    return _PACKED[value.__class__](value)


class _Pending:
    """A nested value not converted yet that could not be packed (it is not plain JSON,
    or it came from a pickle): what a lazy field holds until first read."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"<not decoded yet: {type(self.value).__name__}>"


class _EmptyList:
    """What a lazy list field holds for ``[]`` until first read: one shared marker, not a
    list per object (an empty list is 56 bytes; a user answer carries seven)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<empty list, not decoded yet>"

    def __reduce__(self) -> str:
        return "_EMPTY_LIST"  # pickles as the one module-level marker


_EMPTY_LIST = _EmptyList()


class _EmptyDict:
    """What a lazy mapping field holds for ``{}`` until first read, like
    :data:`_EMPTY_LIST` (an empty dict is 64 bytes; a user answer carries two or three:
    ``private_metadata``, ``unsafe_metadata``...)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<empty mapping, not decoded yet>"

    def __reduce__(self) -> str:
        return "_EMPTY_DICT"


_EMPTY_DICT = _EmptyDict()


class _LazyField:
    """The class attribute of a response-model field that converts on first read.

    Fields holding nested models (alone, in lists, in mappings or in unions) and plain
    mappings keep their JSON value packed by :func:`marshal.dumps` (a ``bytes`` object,
    about a quarter of the parsed value's memory and quick to pack and unpack; ``[]``
    as the shared :data:`_EMPTY_LIST`, a value marshal cannot pack wrapped in
    :class:`_Pending`) until first read; the read unpacks and converts it and stores the
    result in the instance's ``__dict__``, so later reads find it there. A data
    descriptor, so that it sees every read and write: ``__init__``, assignment, ``==``,
    ``repr``, ``attrs.asdict`` and ``pickle`` all go through attribute access or
    :meth:`ResponseModel.__getstate__` (a pickle holds the still unconverted values, and
    the copy converts on its first read). Only the decoder packs: a ``bytes`` value
    assigned to the field is kept as given. Read on the class, it is ``None``, as
    for every other field. Two threads reading one field for the first time at the same
    moment may both convert it: each gets an equal value, the ``__dict__`` keeps one.
    """

    __slots__ = ("hook", "many", "name", "tp")

    def __init__(self, name: str, tp: Any, many: bool) -> None:
        self.name = name
        self.tp = tp
        self.many = many
        self.hook = _Hook(tp)

    def __get__(self, inst: Any, owner: Any = None) -> Any:
        if inst is None:
            return None
        d = inst.__dict__
        value = d.get(self.name)
        cls = value.__class__
        unpack = _PACKED.get(cls)
        if unpack is not None:
            value = d[self.name] = self.convert(unpack(value))
        elif cls is _Pending:
            value = d[self.name] = self.convert(value.value)
        elif value is _EMPTY_LIST:
            value = d[self.name] = []
        elif value is _EMPTY_DICT:
            value = d[self.name] = {}
        return value

    def __set__(self, inst: Any, value: Any) -> None:
        # ``bytes`` in the ``__dict__`` means packed by the decoder: wrap what is assigned.
        inst.__dict__[self.name] = _Pending(value) if value.__class__ in _PACKED else value

    def __delete__(self, inst: Any) -> None:
        del inst.__dict__[self.name]

    def convert(self, value: Any) -> Any:
        if value is None:  # ``null`` kept as JSON text until read
            return None
        hook = self.hook.fn or self.hook.resolve()
        if not self.many:
            return hook(value, self.tp)
        if value.__class__ is not list:
            return value  # a value of the wrong shape is kept rather than fail the read
        tp = self.tp
        return [hook(x, tp) for x in value]


def _structure_response_factory(cls: type) -> Callable[[Any, Any], Any]:
    """Decode into a :class:`ResponseModel` by adopting a converted copy of the object.

    This is the one fast path of decoding, measured: a function compiled per model
    with one straight line per field that needs work. Scalars that need a hook (enums,
    enum-or-string unions, renamed keys) are converted at once: a dictionary lookup,
    and the enum member replaces a string per object. Nested models (alone, in lists,
    mappings or unions) are converted on first read (:class:`_LazyField`): a listing
    that reads ``user.id`` never pays for every user's email addresses. Its source is
    registered with :mod:`linecache`, so tracebacks show it.

    The same plan, compiled a second time, decodes the model straight from an answer's
    bytes (:func:`model_from_json`): only the lines that take the JSON value differ.
    """
    attrs.resolve_types(cls)
    namespace: dict[str, Any] = {
        "cls": cls,
        "new": object.__new__,
        "Pending": _Pending,
        "pack": marshal.dumps,
        "EMPTY": _EMPTY_LIST,
        "EMPTY_DICT": _EMPTY_DICT,
        "OBJECT": getattr(cls, "OBJECT", None),
        "names": (shared := _SharedNames(cls)).state,
        "learn": shared.learn,
    }
    renames: list[str] = []  # the dict path's: JSON keys that are no identifiers
    converts: list[str] = []  # both paths': scalars converted at once
    packs: list[str] = []  # the dict path's: nested values packed (marshal)
    plan = _TypedPlan(namespace)
    for i, field in enumerate(attrs.fields(cls)):
        key = field.metadata.get(JSON_KEY)
        if key is not None:  # a JSON key that is no identifier, such as ``x5t#S256``
            renames += [f"if {key!r} in d:", f"    d[{field.name!r}] = d.pop({key!r})"]
            plan.renames[field.name] = key
        if (
            field.name == "object"
            and _is_plain(field.type)
            and isinstance(namespace["OBJECT"], str)
        ):
            # The kind every object of this model names: one string for them all.
            converts += ["if get('object') == OBJECT:", "    d['object'] = OBJECT"]
            plan.fields.append((field.name, False))
            continue
        if _is_plain(field.type):
            lazy_mapping = get_origin(_strip_none(field.type)) in (dict, Mapping)
            plan.fields.append((field.name, lazy_mapping))
            if lazy_mapping:
                plan.empty[field.name] = b"{}"
                # A plain mapping (metadata): ``{}`` is one shared marker until read.
                setattr(cls, field.name, _LazyField(field.name, field.type, False))
                packs += [
                    f"v = get({field.name!r})",
                    "if v.__class__ is dict:",
                    *_packed(field.name, "EMPTY_DICT if not v else "),
                ]
            continue
        inner = _strip_none(field.type)
        many = _is_list(inner) and bool(get_args(inner))
        tp = get_args(inner)[0] if many else inner
        if _is_scalar(inner):
            plan.fields.append((field.name, False))
            namespace[f"t{i}"] = tp
            # Found on first use, not here: models may refer to themselves.
            namespace[f"h{i}"] = _Hook(tp)
            call = f"(h{i}.fn or h{i}.resolve())"
            if many:
                converts += [
                    f"v = get({field.name!r})",
                    "if v.__class__ is list and v:",
                    f"    h = {call}",
                    f"    d[{field.name!r}] = [h(x, t{i}) for x in v]",
                ]
            else:
                converts += [
                    f"v = get({field.name!r})",
                    "if v is not None:",
                    f"    d[{field.name!r}] = {call}(v, t{i})",
                ]
            continue
        # Replaces the class's None (the same on the class: hasattr never changes).
        setattr(cls, field.name, _LazyField(field.name, tp, many))
        plan.fields.append((field.name, True))
        if many:
            plan.empty[field.name] = b"[]"
        packs += [f"v = get({field.name!r})", "if v is not None:"]
        packs += _packed(field.name, "EMPTY if v.__class__ is list and not v else " if many else "")
    # The bytes path leaves nested values as msgspec gives them (their JSON text).
    plan.lines = ["get = d.get", *converts]
    _TYPED_PLANS[cls] = plan
    lines = [
        "if o.__class__ is not dict:",
        "    return o  # a value of the wrong shape is kept rather than fail the response",
        # Onto a copy of the field names answers have had (_SharedNames), so every
        # instance shares those key strings, values from the answer.
        "d = names[0].copy()",
        "d.update(o)",
        "if len(d) > names[1]:",
        "    d = learn(d)",
        "get = d.get",
        *renames,
        *converts,
        *packs,
        "inst = new(cls)",
        "inst.__dict__ = d",
        "return inst",
    ]
    return _compiled(cls, "structure", "o, _", lines, namespace)


def _compiled(
    cls: type, kind: str, params: str, lines: list[str], namespace: dict[str, Any]
) -> Callable[..., Any]:
    """The function ``def {kind}_{Model}({params})`` of ``lines``, its source in linecache."""
    name = f"{kind}_{cls.__name__}"
    source = f"def {name}({params}):\n    " + "\n    ".join(lines) + "\n"
    filename = f"<clerk_async {kind} {cls.__module__}.{cls.__qualname__}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    function: Callable[..., Any] = namespace[name]
    return function


class _TypedPlan:
    """What decoding a model straight from JSON bytes needs, gathered by
    :func:`_structure_response_factory` and compiled on first use
    (:func:`_from_json_factory`): the fields in order (and whether each stays JSON
    text until read), the renamed keys, the lines after the JSON is read, and the
    empty JSON value the dict path holds as a shared marker, per field that has one
    (``[]`` of a list of models, ``{}`` of a plain mapping)."""

    __slots__ = ("empty", "fields", "lines", "namespace", "renames")

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace
        self.fields: list[tuple[str, bool]] = []
        self.renames: dict[str, str] = {}
        self.lines: list[str] = []
        self.empty: dict[str, bytes] = {}


_TYPED_PLANS: dict[type, _TypedPlan] = {}


class _SharedNames:
    """The field names a model's answers carry, as one dict their decoding copies.

    A JSON decoder makes key strings per answer or keeps a cache it does not promise
    to hit; held by the hundred thousand, a key string per field per answer adds up
    (about 500 bytes a user). Decoding copies ``state[0]`` (names mapped to ``None``)
    and updates it with the answer: a dict keeps the key object it already holds, so
    instances share these. An answer longer than any seen (``state[1]``) teaches its
    field names, so ``state[0]`` grows to the fullest answer's names, a handful of
    times at most; a field an answer lacks holds ``None``, as it reads anyway. Keys that
    are not fields are the answer's own.
    """

    __slots__ = ("fields", "state")

    def __init__(self, cls: type) -> None:
        self.fields = frozenset(f.name for f in attrs.fields(typing.cast(Any, cls)))
        self.state: list[Any] = [{}, 0]

    def learn(self, d: dict[str, Any]) -> dict[str, Any]:
        """Learn the names of ``d`` (a decoded answer); ``d`` on the shared names."""
        self.state[1] = len(d)
        names = [sys.intern(k) for k in d if k in self.fields]
        if len(names) <= len(self.state[0]):
            return d
        self.state[0] = shared = dict.fromkeys(names)
        fresh = shared.copy()
        fresh.update(d)
        return fresh


def _packed(name: str, shortcut: str) -> list[str]:
    """Lines (in a block) storing ``v`` packed for :class:`_LazyField`: ``shortcut``
    (an expression ending in ``else``) first, then marshal's form, then, for what marshal
    cannot pack (not plain JSON: given to :func:`structure` by hand), ``v`` wrapped."""
    return [
        "    try:",
        f"        d[{name!r}] = {shortcut}pack(v)",
        "    except ValueError:",
        f"        d[{name!r}] = Pending(v)",
    ]


def _is_scalar(tp: Any) -> bool:
    """Whether JSON values of ``tp`` are scalars that a hook maps (enums, enum-or-string
    unions, lists of them): converted at once, not on first read."""
    if _is_union(tp):
        return all(m is _NONE_TYPE or _is_scalar(m) for m in get_args(tp))
    if _is_list(tp):
        args = get_args(tp)
        return not args or _is_scalar(args[0])
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return True
    return _is_plain(tp)


def _structure_attrs_factory(cls: Any) -> Callable[[Any, Any], Any]:
    """The structure hook of an attrs class.

    Response models adopt their JSON object (see :class:`ResponseModel`); any other
    attrs class (request objects, rarely decoded) is built by cattrs' own generated
    function, with JSON keys renamed where a field declares one.
    """
    if issubclass(cls, ResponseModel):
        return _structure_response_factory(cls)
    attrs.resolve_types(cls)
    overrides = {
        f.name: override(rename=f.metadata[JSON_KEY])
        for f in attrs.fields(cls)
        if JSON_KEY in f.metadata
    }
    build = make_dict_structure_fn(cls, converter, **overrides)  # type: ignore[arg-type]

    def structure_attrs(o: Any, tp: Any) -> Any:
        if not isinstance(o, dict):
            return o  # a value of the wrong shape is kept, as for response models
        return build(o, tp)

    return structure_attrs


def _unstructure_attrs_factory(cls: type) -> Callable[[Any], Any]:
    attrs.resolve_types(cls)
    overrides = {}
    for f in attrs.fields(cls):
        key = f.metadata.get(JSON_KEY)
        omit = f.default is UNSET
        if key is not None or omit:
            overrides[f.name] = override(rename=key, omit_if_default=omit or None)
    return make_dict_unstructure_fn(cls, converter, **overrides)  # type: ignore[arg-type]


converter.register_structure_hook_factory(attrs.has, _structure_attrs_factory)
converter.register_unstructure_hook_factory(attrs.has, _unstructure_attrs_factory)


def _json_keys(cls: type) -> frozenset[str]:
    names = _json_names(cls)
    return frozenset(names.get(f.name, f.name) for f in attrs.fields(cls))


class _Hook:
    """The structure hook of ``tp``, asked of cattrs on first use and then kept.

    Hooks of nested types are found this late so that models may refer to themselves
    (a hook factory asking for its own type's hook at once would recurse). Call sites
    read ``(h.fn or h.resolve())``: once resolved, no extra call frame."""

    __slots__ = ("fn", "tp")

    def __init__(self, tp: Any) -> None:
        self.tp = tp
        self.fn: Callable[[Any, Any], Any] | None = None

    def resolve(self) -> Callable[[Any, Any], Any]:
        self.fn = converter.get_structure_hook(self.tp)
        return self.fn


def _structure_union_factory(tp: Any) -> Callable[[Any, Any], Any]:
    members = [m for m in get_args(tp) if m is not type(None)]
    models = [m for m in members if attrs.has(m)]
    enums = [m for m in members if isinstance(m, type) and issubclass(m, enum.Enum)]
    others = [m for m in members if m not in models and m not in enums]
    # The common cases get a hook of their own; decoding is the hot path of every call.
    if all(m in _PRIMITIVES for m in members):
        return _passthrough
    if len(members) == 1:
        only = members[0]
        only_hook = _Hook(only)

        def structure_optional(value: Any, _: Any) -> Any:
            if value is None:
                return None
            return (only_hook.fn or only_hook.resolve())(value, only)

        return structure_optional
    if len(enums) == 1 and not models and all(m in _PRIMITIVES for m in others):
        members_by_value = {m.value: m for m in enums[0]}

        def structure_enum_or_str(value: Any, _: Any) -> Any:
            try:
                return members_by_value.get(value, value)
            except TypeError:
                return value

        return structure_enum_or_str
    keys = [(m, _json_keys(m)) for m in models]
    containers = [(get_origin(o) or o, o) for o in others if (get_origin(o) or o) in (list, dict)]

    # Clerk marks most objects with an ``object`` value naming their kind; the
    # generated models record theirs as ``OBJECT``, which settles the member.
    by_object = {
        getattr(m, "OBJECT"): m  # noqa: B009 (only generated models have it)
        for m in models
        if isinstance(getattr(m, "OBJECT", None), str)
    }
    # Otherwise the member whose fields best match the keys wins. Objects from one
    # server come in a handful of shapes (the same keys in the same order), so the
    # member chosen for a shape is remembered.
    chosen: dict[tuple[str, ...], Any] = {}

    member_hooks = {m: _Hook(m) for m in [*models, *(o for _, o in containers)]}
    # The member named by each ``object`` value and its hook, filled on first use.
    object_hooks: dict[str, tuple[Callable[[Any, Any], Any], Any]] = {}

    def structure_union(value: Any, _: Any) -> Any:
        if value is None:
            return None
        for e in enums:
            result = _scalar(value, e)
            if isinstance(result, enum.Enum):
                return result
        if isinstance(value, dict) and keys:
            tag = value.get("object")
            if tag.__class__ is str:
                found = object_hooks.get(tag)
                if found is None and tag in by_object:
                    member = by_object[tag]
                    found = object_hooks[tag] = (member_hooks[member].resolve(), member)
                if found is not None:
                    return found[0](value, found[1])
            shape = tuple(value)
            best = chosen.get(shape)
            if best is None:
                present = value.keys()
                best = max(keys, key=lambda pair: len(pair[1] & present))[0]
                if len(chosen) < _SHAPES_REMEMBERED:
                    chosen[shape] = best
            hook = member_hooks[best]
            return (hook.fn or hook.resolve())(value, best)
        for origin, other in containers:
            if isinstance(value, origin):
                hook = member_hooks[other]
                return (hook.fn or hook.resolve())(value, other)
        return value

    return structure_union


converter.register_structure_hook_factory(_is_union, _structure_union_factory)


def _structure_mapping_factory(tp: Any) -> Callable[[Any, Any], Any]:
    args = get_args(tp)
    if len(args) != 2 or args[1] is Any or args[1] is object:

        def structure_plain_mapping(value: Any, _: Any) -> Any:
            return dict(value) if isinstance(value, Mapping) else value

        return structure_plain_mapping
    item = args[1]
    item_hook = _Hook(item)

    def structure_mapping(value: Any, _: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        hook = item_hook.fn or item_hook.resolve()
        return {k: hook(v, item) for k, v in value.items()}

    return structure_mapping


def _structure_list_factory(tp: Any) -> Callable[[Any, Any], Any]:
    args = get_args(tp)
    item = args[0] if args else Any
    if item is Any or item is object or item in _PRIMITIVES:

        def structure_plain_list(value: Any, _: Any) -> Any:
            return list(value) if isinstance(value, list) else value

        return structure_plain_list

    item_hook = _Hook(item)

    def structure_list(value: Any, _: Any) -> Any:
        if not isinstance(value, list):
            return value
        if not value:
            return []
        hook = item_hook.fn or item_hook.resolve()
        return [hook(v, item) for v in value]

    return structure_list


converter.register_structure_hook_factory(_is_mapping, _structure_mapping_factory)
converter.register_structure_hook_factory(_is_list, _structure_list_factory)


# The measured fast path: cattrs' own lookup walks its dispatch chain (about 300 ns,
# four times a dict lookup), which shows at the top of every answer; nested hooks are
# resolved once per field (_Hook), so only the top level is memoised, here.
_TOP_HOOKS: dict[Any, Callable[[Any, Any], Any]] = {}


def structure(data: Any, tp: type[T]) -> T:
    """Decode JSON-shaped ``data`` into ``tp`` (a model, ``list[Model]``, ``object``...)."""
    if tp is object or tp is _NONE_TYPE:
        return typing.cast("T", None if tp is _NONE_TYPE else data)
    hook = _TOP_HOOKS.get(tp)
    if hook is None:
        hook = _TOP_HOOKS[tp] = converter.get_structure_hook(tp)
    result: T = hook(data, tp)
    return result


def unstructure(obj: Any) -> Any:
    """Encode models, enums and containers to JSON-ready values, dropping ``UNSET``."""
    if isinstance(obj, dict):
        return {k: unstructure(v) for k, v in obj.items() if v is not UNSET}
    if isinstance(obj, (list, tuple)):
        return [unstructure(v) for v in obj if v is not UNSET]
    if isinstance(obj, enum.Enum):
        return obj.value
    if attrs.has(type(obj)):
        # Nested UNSET values (in a dict given for a model field, say) go too.
        return unstructure(converter.unstructure(obj))
    return obj


_UTF_CHARSETS = frozenset({"", "utf-8", "utf8", "utf-16", "utf-32"})
# Content types whose body is UTF-8 JSON for sure: the one-step decoding below applies.
_UTF8_JSON = frozenset(
    [None, "application/json"]
    + [
        f"application/json;{space}charset={utf8}"
        for space in ("", " ")
        for utf8 in ("utf-8", "UTF-8")
    ]
)


def parse_json(body: bytes, content_type: str | None) -> Any:
    """The JSON value of a response body; :class:`ValueError` if it is not JSON.

    Clerk answers UTF-8 JSON, which :mod:`msgspec`'s decoder reads straight from the
    bytes, about twice as fast as ``json.loads`` and with fewer temporary objects.
    It is strict JSON; whatever it refuses (``NaN``, a lone surrogate, an integer of
    thousands of digits, a BOM, not JSON at all) goes to ``json.loads`` as before, so
    the values decoded and the errors raised are exactly the standard library's.
    Other charsets go to ``json.loads`` directly. Imported on the first answer, not
    with the package.
    """
    if content_type in _UTF8_JSON:
        decode, refused = _FAST_JSON or _load_fast_json()
        try:
            return decode(body)
        except refused:
            pass  # json.loads below says what is wrong, or knows what this is
    return json.loads(_text(body, content_type))


_FastJson = tuple[Callable[[bytes], Any], type[Exception]]
_FAST_JSON: _FastJson | None = None


def _load_fast_json() -> _FastJson:
    global _FAST_JSON
    import msgspec

    _FAST_JSON = (msgspec.json.Decoder().decode, msgspec.DecodeError)
    return _FAST_JSON


_UNKNOWN: Any = object()
# Response model -> its function from JSON bytes (None: no such function for it).
_FROM_JSON: dict[Any, Callable[[bytes], Any] | None] = {}


def model_from_json(body: bytes, content_type: str | None, tp: Any) -> Any:
    """``tp``, a response model, decoded straight from an answer's bytes; or ``None`` when
    this way does not apply: ``tp`` is no response model, the content type does not say
    UTF-8 JSON, or :mod:`msgspec` refuses the body (its top level is not an object, it is
    not strict JSON...). The caller then takes :func:`parse_json` and :func:`structure`,
    which decode what msgspec would not or say what is wrong.

    msgspec reads the fields into a struct made for the model: the values of scalar
    fields as they come, the JSON text of fields that stay packed until read (nested
    models, plain mappings) without parsing it, keys the model does not know skipped.
    The model then adopts the fields, converted by the same generated lines as on the
    other way, and holds each nested value as msgspec gives it, a ``msgspec.Raw`` (its
    text within the answer, which the model keeps alive) until read; ``null``, ``[]`` and
    ``{}`` as well, so adopting costs no work per field. Both ways give equal models.
    """
    decode = _FROM_JSON.get(tp, _UNKNOWN)
    if decode is _UNKNOWN:
        decode = _FROM_JSON[tp] = _from_json_factory(tp)
    if decode is None or content_type not in _UTF8_JSON:
        return None
    if not body.isascii():
        # The text kept unparsed is checked here, as parsing all of it would have.
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        return decode(body)
    except ((_FAST_JSON or _load_fast_json())[1], RecursionError):
        return None


def _typed_plan(tp: Any) -> _TypedPlan | None:
    """The plan of a response model (made with its decoding hook), None for other types."""
    if not (isinstance(tp, type) and issubclass(tp, ResponseModel)):
        return None
    converter.get_structure_hook(tp)  # makes the plan (and the lazy fields) if not yet made
    return _TYPED_PLANS.get(tp)


def _json_struct(tp: type, plan: _TypedPlan, suffix: str, **options: Any) -> Any:
    """The msgspec struct ``tp``'s answers are read into (scalar fields as ``object``,
    nested values as ``msgspec.Raw``), or None when msgspec cannot take a field name."""
    import msgspec

    try:
        return msgspec.defstruct(
            f"{tp.__name__}{suffix}",
            [(name, msgspec.Raw if kept else object, None) for name, kept in plan.fields],
            kw_only=True,
            rename=plan.renames or None,
            gc=False,  # short-lived, and never part of a cycle
            **options,
        )
    except (TypeError, ValueError):  # the other way only
        return None


def _from_json_factory(tp: Any) -> Callable[[bytes], Any] | None:
    if _is_items_of(tp):
        args = get_args(tp)
        return _items_from_json_factory(args[0]) if args else None
    plan = _typed_plan(tp)
    struct = None if plan is None else _json_struct(tp, plan, "Json")
    if plan is None or struct is None:
        return None
    import msgspec

    namespace = plan.namespace
    namespace["decode"] = msgspec.json.Decoder(struct).decode
    namespace["asdict"] = msgspec.structs.asdict
    # Nested values stay msgspec's views of the answer's text until read.
    _PACKED[msgspec.Raw] = _json_value
    lines = [
        "d = asdict(decode(b))",
        *plan.lines,
        "inst = new(cls)",
        "inst.__dict__ = d",
        "return inst",
    ]
    return _compiled(tp, "from_json", "b", lines, namespace)


def _items_from_json_factory(tp: Any) -> Callable[[bytes], Listing] | None:
    """``items_from_json_{Model}(b)``: a list answer of ``tp`` models read from its bytes
    into a :class:`Listing`, by the lines that read one model (:func:`_from_json_factory`)
    run per item; each nested value is copied out of the answer as its JSON text
    (:class:`_JsonText`, an empty one as the dict path's marker), so a held item keeps
    its own text only. A page of items costs no parsed nested value and no object the
    garbage collector follows until read. An item's ``__dict__`` holds the fields its
    answer gives a value (``null`` or absent fields read ``None`` from the class), as on
    the dict path: a dict of every field would be twice as large."""
    plan = _typed_plan(tp)
    # omit_defaults: to_builtins leaves out what is None.
    struct = None if plan is None else _json_struct(tp, plan, "JsonItem", omit_defaults=True)
    if plan is None or struct is None:
        return None
    import msgspec

    page = msgspec.defstruct(
        f"{tp.__name__}JsonPage",
        [("data", list[struct]), ("total_count", object, None)],  # type: ignore[valid-type]
        gc=False,
    )
    namespace = plan.namespace
    namespace["decode_items"] = msgspec.json.Decoder(list[struct] | page).decode  # type: ignore[valid-type]
    namespace["asdict"] = msgspec.structs.asdict
    namespace["to_builtins"] = msgspec.to_builtins
    namespace["RAW"] = (msgspec.Raw,)
    namespace["Listing"] = Listing
    namespace["Text"] = _JsonText
    # What the dict path holds for a short JSON text: null is None; the empty value the
    # plan names for a field is its shared marker (see _LazyField).
    markers = {b"[]": "SMALL_LIST", b"{}": "SMALL_DICT"}
    namespace["SMALL"] = {b"null": None}
    namespace["SMALL_LIST"] = {b"null": None, b"[]": _EMPTY_LIST}
    namespace["SMALL_DICT"] = {b"null": None, b"{}": _EMPTY_DICT}
    # to_builtins names the keys as the JSON does: a model with renamed keys takes asdict.
    per_item = ["d = asdict(s)" if plan.renames else "d = to_builtins(s, builtin_types=RAW)"]
    for name, kept in plan.fields:
        if kept:
            small = markers.get(plan.empty.get(name, b""), "SMALL")
            per_item += [
                f"v = d.get({name!r})",
                "if v is not None:",
                "    v = Text(v)",
                f"    d[{name!r}] = {small}.get(v, v) if len(v) < 5 else v",
            ]
    per_item += [*plan.lines, "inst = new(cls)", "inst.__dict__ = d", "append(inst)"]
    lines = [
        "top = decode_items(b)",
        "if top.__class__ is list:",
        "    rows, total = top, None",
        "else:",
        "    rows, total = top.data, top.total_count",
        "items = []",
        "append = items.append",
        "for s in rows:",
        *("    " + line for line in per_item),
        "return Listing(items, total)",
    ]
    return _compiled(tp, "items_from_json", "b", lines, namespace)


def _text(body: bytes, content_type: str | None) -> bytes | str:
    """The body as ``json.loads`` wants it: bytes for UTF encodings (detected by
    ``json`` itself), text decoded with the declared charset otherwise."""
    if not content_type or "charset" not in content_type:
        return body
    charset = content_type.split("charset=", 1)[-1].split(";", 1)[0].strip().strip('"').lower()
    if charset in _UTF_CHARSETS:
        return body
    try:
        return body.decode(charset)
    except LookupError:  # a charset Python does not know: try the JSON default
        return body
