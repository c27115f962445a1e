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
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

from ._types import UNSET, Unset

__all__ = ["converter", "parse_json", "structure", "unstructure"]

T = TypeVar("T")

JSON_KEY = "json"
_NONE_TYPE: Any = type(None)
_MISSING: Any = object()
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


converter.register_structure_hook_func(_is_any, _passthrough)
converter.register_unstructure_hook(Unset, lambda value: value)
converter.register_structure_hook_func(_is_literal, _passthrough)


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


class _Lazy:
    """Resolves a field's hook on first use, so models may refer to themselves."""

    __slots__ = ("name", "namespace", "tp")

    def __init__(self, namespace: dict[str, Any], name: str, tp: Any) -> None:
        self.namespace, self.name, self.tp = namespace, name, tp

    def __call__(self, value: Any, tp: Any) -> Any:
        hook = self.namespace[self.name] = _hook(self.tp)
        return hook(value, tp)


def _plain_construction(cls: type, fields: tuple[attrs.Attribute[Any], ...]) -> bool:
    """Whether setting every field on a bare instance equals calling ``__init__``."""
    if getattr(cls, "__setattr__", None) is not object.__setattr__:
        return False  # frozen, or validators/converters run on assignment
    if hasattr(cls, "__attrs_pre_init__") or hasattr(cls, "__attrs_post_init__"):
        return False
    return all(
        f.init and f.validator is None and f.converter is None and f.name.isidentifier()
        for f in fields
    )


def _structure_attrs_factory(cls: type) -> Callable[[Any, Any], Any]:
    """Compile one function that builds ``cls`` from a decoded JSON object.

    Decoding is the hot path of every call, so the function is specialised per
    model: fields whose JSON values need no conversion (strings, numbers,
    booleans, free-form objects, lists of those) are read straight from the dict;
    only nested models, enums and unions go through a hook, and only when the
    value is not ``null``. Keys the model does not know are never looked at; a
    missing required key raises ``KeyError``.

    How the instance is made depends on the model:

    * a response model (no slots, every field defaulting to ``None``, JSON keys equal
      to field names) takes a copy of the JSON object as its ``__dict__``, with the
      nested values converted in place. A field the answer lacks reads its default
      from the class; keys the model does not know ride along unused (they are not
      fields: ``==``, ``repr`` and ``attrs.asdict`` ignore them). This does the
      least work per field, because nothing is done for a plain one;
    * other models with nothing to run on construction (no validators, converters,
      ``__attrs_post_init__`` or guarded ``__setattr__``) are filled field by field
      on a bare instance, a third of the cost of ``__init__`` with dozens of
      keyword arguments;
    * the rest go through ``__init__``.
    """
    attrs.resolve_types(cls)
    fields = attrs.fields(cls)
    direct = _plain_construction(cls, fields)
    take_over = (
        direct
        and "__slots__" not in vars(cls)
        and all(f.default is None and JSON_KEY not in f.metadata for f in fields)
    )
    namespace: dict[str, Any] = {"cls": cls, "MISSING": _MISSING, "new": object.__new__}
    prelude: list[str] = []
    build: list[str] = []  # per field: ``inst.name = value`` or ``name=value``
    in_place: list[str] = []  # per converted field, when the JSON object is taken over
    for i, field in enumerate(fields):
        key = field.metadata.get(JSON_KEY, field.name)
        required = field.default is attrs.NOTHING
        default = None if required else field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            raise TypeError(f"{cls.__name__}.{field.name}: factory defaults are not supported")
        if _is_plain(field.type):
            if required:
                value = f"o[{key!r}]"
            elif default is None:
                value = f"get({key!r})"
            else:
                namespace[f"d{i}"] = default
                value = f"get({key!r}, d{i})"
        else:
            inner = _strip_none(field.type)
            if _is_list(inner) and get_args(inner):
                # Lists of models are decoded inline: one call per item, none per list.
                item = get_args(inner)[0]
                namespace[f"t{i}"] = item
                namespace[f"h{i}"] = _Lazy(namespace, f"h{i}", item)
                convert = f"([h{i}(x, t{i}) for x in v{i}] if v{i}.__class__ is list else v{i})"
                in_place += [
                    f"v{i} = get({key!r})",
                    f"if v{i}.__class__ is list and v{i}:",
                    f"    d[{key!r}] = [h{i}(x, t{i}) for x in v{i}]",
                ]
            else:
                namespace[f"t{i}"] = inner
                namespace[f"h{i}"] = _Lazy(namespace, f"h{i}", inner)
                convert = f"h{i}(v{i}, t{i})"
                in_place += [
                    f"v{i} = get({key!r})",
                    f"if v{i} is not None:",
                    f"    d[{key!r}] = h{i}(v{i}, t{i})",
                ]
            if required:
                prelude.append(f"v{i} = o[{key!r}]")
                value = f"None if v{i} is None else {convert}"
            else:
                namespace[f"d{i}"] = default
                prelude.append(f"v{i} = get({key!r}, MISSING)")
                value = f"d{i} if v{i} is MISSING else None if v{i} is None else {convert}"
        if direct:
            build.append(f"inst.{field.name} = {value}")
        else:
            init_name = field.alias if field.alias is not None else field.name
            build.append(f"{init_name}={value}")
    lines = [
        "if not isinstance(o, dict):",
        "    return o  # a value of the wrong shape is kept rather than fail the response",
    ]
    if take_over:
        for field in fields:
            setattr(cls, field.name, None)  # what a field absent from the answer reads
        lines += ["d = o.copy()", "get = d.get", *in_place]
        lines += ["inst = new(cls)", "inst.__dict__ = d", "return inst"]
    elif direct:
        lines += ["get = o.get", *prelude, "inst = new(cls)", *build, "return inst"]
    else:
        lines += ["get = o.get", *prelude, f"return cls({', '.join(build)})"]
    body = "\n    ".join(lines)
    source = f"def structure_{cls.__name__}(o, _):\n    {body}\n"
    exec(compile(source, f"<clerk_async structure {cls.__qualname__}>", "exec"), namespace)
    function: Callable[[Any, Any], Any] = namespace[f"structure_{cls.__name__}"]
    return function


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


_HOOKS: dict[Any, Callable[[Any, Any], Any]] = {}


def _hook(tp: Any) -> Callable[[Any, Any], Any]:
    """The structure hook of ``tp``, looked up on first use (recursive models allowed)."""
    hook = _HOOKS.get(tp)
    if hook is None:
        hook = _HOOKS[tp] = converter.get_structure_hook(tp)
    return hook


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

        def structure_optional(value: Any, _: Any) -> Any:
            return None if value is None else _hook(only)(value, only)

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
                    found = object_hooks[tag] = (_hook(member), member)
                if found is not None:
                    return found[0](value, found[1])
            shape = tuple(value)
            best = chosen.get(shape)
            if best is None:
                present = value.keys()
                best = max(keys, key=lambda pair: len(pair[1] & present))[0]
                if len(chosen) < _SHAPES_REMEMBERED:
                    chosen[shape] = best
            return _hook(best)(value, best)
        for origin, other in containers:
            if isinstance(value, origin):
                return _hook(other)(value, other)
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

    def structure_mapping(value: Any, _: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        hook = _hook(item)
        return {k: hook(v, item) for k, v in value.items()}

    return structure_mapping


def _structure_list_factory(tp: Any) -> Callable[[Any, Any], Any]:
    args = get_args(tp)
    item = args[0] if args else Any
    if item is Any or item is object or item in _PRIMITIVES:

        def structure_plain_list(value: Any, _: Any) -> Any:
            return list(value) if isinstance(value, list) else value

        return structure_plain_list

    def structure_list(value: Any, _: Any) -> Any:
        if not isinstance(value, list):
            return value
        if not value:
            return []
        hook = _hook(item)
        return [hook(v, item) for v in value]

    return structure_list


converter.register_structure_hook_factory(_is_mapping, _structure_mapping_factory)
converter.register_structure_hook_factory(_is_list, _structure_list_factory)


def _strip_unset(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_unset(v) for k, v in value.items() if v is not UNSET}
    if isinstance(value, (list, tuple)):
        return [_strip_unset(v) for v in value if v is not UNSET]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def structure(data: Any, tp: type[T]) -> T:
    """Decode JSON-shaped ``data`` into ``tp`` (a model, ``list[Model]``, ``object``...)."""
    if tp is object or tp is _NONE_TYPE:
        return typing.cast("T", None if tp is _NONE_TYPE else data)
    result: T = _hook(tp)(data, tp)
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
        return _strip_unset(converter.unstructure(obj))
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
_JSON_DECODER = json.JSONDecoder()
_JSON_SPACE = " \t\n\r"


def parse_json(body: bytes, content_type: str | None) -> Any:
    """The JSON value of a response body; :class:`ValueError` if it is not JSON.

    Clerk answers UTF-8 JSON without a byte order mark, which is decoded and then
    scanned directly. ``json.loads`` would first sniff the encoding and match leading
    whitespace with a regular expression: small steps, but they show on every call.
    Anything else (a BOM, UTF-16, another charset) goes through ``json.loads``.
    """
    if content_type in _UTF8_JSON:
        try:
            text = body.decode()
            value, end = _JSON_DECODER.raw_decode(text)
        except ValueError:
            pass  # leading whitespace, a BOM, UTF-16...: json.loads below knows them all
        else:
            if end == len(text) or not text[end:].strip(_JSON_SPACE):
                return value
    return json.loads(_text(body, content_type))


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
