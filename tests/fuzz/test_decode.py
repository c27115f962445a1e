"""Generated answers through the decoders of every response model.

Valid answers mutated (wrong types, unknown keys and enum values, deep and huge
values), arbitrary bytes and error pages of every status. Invariant: a model (every
field readable) or our typed error, never another exception.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

import clerk_async.models as models_module
from clerk_async import Clerk
from clerk_async._convert import ResponseModel
from clerk_async._http import Requester, requester_of
from clerk_async._transport import RawResponse
from clerk_async.errors import ClerkAPIError, ClerkDecodeError, error_class_for_status

from ..api_samples import value_for, wire_json
from .conftest import CASES

MODELS: list[type[Any]] = sorted(
    (
        m
        for m in (getattr(models_module, name) for name in models_module.__all__)
        if isinstance(m, type) and issubclass(m, ResponseModel)
    ),
    key=lambda m: m.__name__,
)


def _sample(model: type[Any]) -> dict[str, Any]:
    try:
        sample = wire_json(value_for(model, full=True))
    except Exception:  # a model our sampler cannot fill: start from its field names
        sample = {f.metadata.get("json", f.name): None for f in attrs.fields(model)}
    return sample if isinstance(sample, dict) else {}


SAMPLES = {m: _sample(m) for m in MODELS}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**20, max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["user", "organization", "unknown_enum_value", "", "null", "[]"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def deep(draw: st.DrawFn) -> Any:
    """A value nested ``depth`` lists or objects deep (up to past the recursion limit)."""
    depth = draw(st.integers(min_value=1, max_value=3000))
    value: Any = draw(scalars)
    as_dict = draw(st.booleans())
    for _ in range(depth):
        value = {"k": value} if as_dict else [value]
    return value


huge = st.one_of(
    st.integers(min_value=10_000, max_value=200_000).map(lambda n: "x" * n),
    st.integers(min_value=1_000, max_value=20_000).map(lambda n: list(range(n))),
)


@st.composite
def mutated_answer(draw: st.DrawFn) -> tuple[type[Any], Any]:
    model = draw(st.sampled_from(MODELS))
    body: Any = dict(SAMPLES[model])
    keys = sorted(body)
    if keys:
        for key in draw(st.lists(st.sampled_from(keys), max_size=len(keys), unique=True)):
            body[key] = draw(st.one_of(json_values, deep(), huge))
    for _ in range(draw(st.integers(0, 3))):
        body[draw(st.text(max_size=12))] = draw(json_values)
    if draw(st.integers(0, 9)) == 0:  # now and then the whole answer of the wrong shape
        body = draw(st.one_of(json_values, deep(), st.lists(st.just(body), max_size=2)))
    return model, body


def requester() -> Requester:
    return requester_of(Clerk("sk_test_fuzz", api_url="http://127.0.0.1:9"))


HTTP = requester()


def encode(body: Any) -> bytes | None:
    try:
        return json.dumps(body).encode()
    except (ValueError, RecursionError):  # too deep for json.dumps: send it by hand
        return None


def read_everything(value: Any) -> None:
    """Read every field, as a caller would, a few levels down; repr the top."""
    todo = [(value, 0)]
    while todo:
        current, level = todo.pop()
        if isinstance(current, ResponseModel) and level < 6:
            for field in attrs.fields(type(current)):  # type: ignore[arg-type]
                todo.append((getattr(current, field.name), level + 1))
        elif isinstance(current, list) and level < 6:
            todo.extend((v, level + 1) for v in current[:5])
    if isinstance(value, ResponseModel):
        repr(value)


def decode(status: int, raw: bytes, cast_to: Any, content_type: str = "application/json") -> Any:
    response = RawResponse(status, {"Content-Type": content_type}, raw)
    return HTTP._decode_response("GET", "http://127.0.0.1:9/v1/x", response, cast_to)


@given(mutated_answer(), st.booleans())
def test_mutated_answers_decode_or_raise_our_error(case: tuple[type[Any], Any], many: bool) -> None:
    CASES["decode mutated"] += 1
    model, body = case
    raw = encode([body] if many else body)
    if raw is None:
        raw = b"[" * 5000 + b"]" * 5000
    cast_to: Any = list[model] if many else model  # type: ignore[valid-type]
    try:
        result = decode(200, raw, cast_to)
    except ClerkDecodeError:
        return
    if many:
        assert isinstance(result, list) and all(isinstance(x, model) for x in result)
        for item in result:
            read_everything(item)
    else:
        assert isinstance(result, model)
        read_everything(result)


@given(st.sampled_from(MODELS), st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_arbitrary_bytes_decode_or_raise_our_error(model: type[Any], raw: bytes) -> None:
    CASES["decode bytes"] += 1
    try:
        result = decode(200, raw, model)
    except ClerkDecodeError:
        return
    assert result is None or isinstance(result, model)  # None: an empty body... never typed
    if raw.strip():
        assert isinstance(result, model)


@st.composite
def truncated_or_spliced(draw: st.DrawFn) -> tuple[type[Any], bytes]:
    model = draw(st.sampled_from(MODELS))
    raw = json.dumps(SAMPLES[model]).encode()
    cut = draw(st.integers(0, len(raw)))
    insert = draw(
        st.sampled_from([b"", b"[" * 100_000, b'{"a":' * 2000, b"\x00", b"\xff\xfe", b"NaN"])
    )
    return model, raw[:cut] + insert + raw[cut:]


@given(truncated_or_spliced())
def test_broken_json_decodes_or_raises_our_error(case: tuple[type[Any], bytes]) -> None:
    CASES["decode broken"] += 1
    model, raw = case
    try:
        result = decode(200, raw, model)
    except ClerkDecodeError:
        return
    assert isinstance(result, model)
    read_everything(result)


error_bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.just(b"[" * 200_000),
    st.builds(
        lambda errors, trace: json.dumps({"errors": errors, "clerk_trace_id": trace}).encode(),
        st.lists(json_values, max_size=3),
        json_values,
    ),
)


@given(
    st.integers(400, 599),
    error_bodies,
    st.dictionaries(st.sampled_from(["Retry-After", "cf-ray", "X-A"]), st.text(max_size=30)),
)
def test_error_answers_become_the_error_of_their_status(
    status: int, raw: bytes, headers: dict[str, str]
) -> None:
    CASES["error pages"] += 1
    error = ClerkAPIError.from_response(status, headers, raw, method="GET", url="http://h/v1/x")
    assert type(error) is error_class_for_status(status)
    assert error.status == status
    str(error), repr(error), error.code, error.message


@given(mutated_answer())
def test_models_from_the_bytes_equal_models_from_the_json_value(
    case: tuple[type[Any], Any],
) -> None:
    """The two ways into a model (straight from the bytes; JSON value, then structure)
    give the same model, field by field and nested, whatever the answer holds."""
    from clerk_async._convert import model_from_json, parse_json, structure

    CASES["decode both ways"] += 1
    model, body = case
    raw = encode(body)
    if raw is None:
        return
    direct = model_from_json(raw, "application/json", model)
    if direct is None:  # refused: the other way alone decides (the properties above)
        return
    other = structure(parse_json(raw, "application/json"), model)
    read_everything(direct)
    read_everything(other)
    assert repr(direct) == repr(other)


@given(st.lists(mutated_answer(), min_size=1, max_size=3), st.booleans())
def test_list_answers_from_the_bytes_equal_items_from_the_json_value(
    cases: list[tuple[type[Any], Any]], enveloped: bool
) -> None:
    """A page read straight from its bytes (``ItemsOf``) gives the items the JSON value
    gives through ``structure``, whatever the items hold; what it refuses, the JSON
    value alone decides (the paginator's old way)."""
    from clerk_async._convert import ItemsOf, model_from_json, parse_json, structure

    CASES["decode pages both ways"] += 1
    model = cases[0][0]
    bodies = [body for kind, body in cases if kind is model]
    raw = encode({"data": bodies, "total_count": len(bodies)} if enveloped else bodies)
    if raw is None:
        return
    listing = model_from_json(raw, "application/json", ItemsOf[model])  # type: ignore[valid-type]
    if listing is None:
        return
    value = parse_json(raw, "application/json")
    other = structure(value["data"] if enveloped else value, list[model])  # type: ignore[valid-type]
    assert listing.total_count == (len(bodies) if enveloped else None)
    for item in [*listing.items, *other]:
        read_everything(item)
    assert repr(listing.items) == repr(other)
