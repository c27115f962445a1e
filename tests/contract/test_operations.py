"""Every operation of the spec, called through the public SDK against Prism.

For each operation we call ``clerk.<group>.<method>(...)`` with the required
arguments built from the spec and check that

* Prism found nothing wrong with the request (no ``sl-violations`` on the request
  side, no 401, no 422);
* the answer is a 2xx whenever the spec defines one (asked for with Prism's
  ``Prefer: code=…`` header when Prism picks another example first);
* every 2xx body decodes into our models: the declared return type, no nested
  object left as a raw ``dict`` where a model was declared, and no key of the answer
  without a field in the model it was decoded into.
"""

from __future__ import annotations

import json
import types
import typing
import warnings
from collections.abc import AsyncIterator, Callable
from functools import cache
from pathlib import Path
from typing import Any, Union

import aiohttp
import attrs
import pytest
import yaml

from clerk_async import OPERATIONS, AsyncPaginator, Clerk, Operation, Page
from clerk_async.errors import ClerkAPIError

from .prism import SPEC
from .report import RESULTS, Outcome
from .samples import build_arguments, success_codes


@cache
def spec_operation_ids(path: Path = SPEC) -> frozenset[str]:
    """The operations of the spec file itself (the SDK adds a few retired ones)."""
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as fh:
        document: dict[str, Any] = yaml.load(fh, Loader=loader)
    return frozenset(
        op["operationId"]
        for item in document["paths"].values()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    )


CONTRACT_OPERATIONS = [op for op in OPERATIONS if op.operation_id in spec_operation_ids()]


@attrs.define
class Exchange:
    """One HTTP exchange as the client saw it."""

    method: str
    url: str
    status: int
    violations: list[dict[str, Any]]
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def request_violations(self) -> list[str]:
        return [
            f"{'.'.join(map(str, v.get('location', [])))}: {v.get('message')}"
            for v in self.violations
            if v.get("location", [None])[0] == "request" and v.get("severity") == "Error"
        ]


def parse_violations(header: str) -> list[dict[str, Any]]:
    """Prism's ``sl-violations`` header: a JSON array, or, when long, a truncated one
    behind ``Too many violations!``; every complete entry is kept."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    start = header.find("{")
    while start != -1:
        try:
            entry, end = decoder.raw_decode(header, start)
        except ValueError:
            break
        if isinstance(entry, dict):
            found.append(entry)
        start = header.find("{", end)
    return found


@attrs.define
class Recorder:
    """Records every response of a session, with Prism's ``sl-violations`` header."""

    exchanges: list[Exchange] = attrs.Factory(list)

    def trace_config(self) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()

        async def on_chunk(
            session: aiohttp.ClientSession,
            context: types.SimpleNamespace,
            params: aiohttp.TraceResponseChunkReceivedParams,
        ) -> None:
            # aiohttp reports the body after the headers (``on_request_end``), and our
            # calls are one at a time, so it belongs to the last exchange.
            self.exchanges[-1].body += params.chunk

        async def on_request_end(
            session: aiohttp.ClientSession,
            context: types.SimpleNamespace,
            params: aiohttp.TraceRequestEndParams,
        ) -> None:
            violations = parse_violations(params.response.headers.get("sl-violations", ""))
            self.exchanges.append(
                Exchange(params.method, str(params.url), params.response.status, violations)
            )

        config.on_response_chunk_received.append(on_chunk)
        config.on_request_end.append(on_request_end)
        return config


@pytest.fixture
async def session_and_recorder(
    prism_url: str,
) -> AsyncIterator[tuple[aiohttp.ClientSession, Recorder]]:
    recorder = Recorder()
    async with aiohttp.ClientSession(trace_configs=[recorder.trace_config()]) as session:
        yield session, recorder


def test_every_spec_operation_is_covered() -> None:
    assert {op.operation_id for op in CONTRACT_OPERATIONS} == spec_operation_ids()
    assert len(CONTRACT_OPERATIONS) == 249
    assert {op_id for op_id, _ in KNOWN_GAPS} <= spec_operation_ids()


# SDK gaps the contract found, as (operation id, variant) -> reason. Each is a strict
# xfail: once the generator is fixed the test passes, fails as XPASS, and the entry
# goes. Variants: "required" (required arguments only) and "every" (all arguments).
KNOWN_GAPS: dict[tuple[str, str], str] = {}


def _cases() -> list[Any]:
    cases = []
    for op in CONTRACT_OPERATIONS:
        for variant in ("required", "every"):
            reason = KNOWN_GAPS.get((op.operation_id, variant))
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            ident = f"{op.group}.{op.name}-{variant}"
            cases.append(pytest.param(op, variant == "every", id=ident, marks=marks))
    return cases


@pytest.mark.parametrize(("op", "every"), _cases())
async def test_operation(
    op: Operation,
    every: bool,
    prism_url: str,
    session_and_recorder: tuple[aiohttp.ClientSession, Recorder],
) -> None:
    """``required``: the required arguments only; ``every``: every optional query
    parameter and body field too, to check how the SDK encodes them."""
    session, recorder = session_and_recorder
    codes = success_codes(op)
    outcome = Outcome(op.operation_id)
    if not every:
        RESULTS[op.operation_id] = outcome

    result = await call(op, prism_url, session, every=every)
    if isinstance(result, ClerkAPIError) and codes and result.status != 401:
        # Prism answered with another example first; ask for the success one.
        outcome.preferred = codes[0]
        result = await call(op, prism_url, session, every=every, prefer=codes[0])

    outcome.statuses = [e.status for e in recorder.exchanges]
    outcome.response_violations = sum(
        v.get("location", [None])[0] == "response" for e in recorder.exchanges for v in e.violations
    )
    problems = [p for e in recorder.exchanges for p in e.request_violations()]
    assert not problems, "Prism rejected the request:\n" + "\n".join(problems)
    assert recorder.exchanges, "no request was sent"
    assert all(e.status != 401 for e in recorder.exchanges), "Prism did not see the credentials"

    if isinstance(result, ClerkAPIError):
        assert not codes, f"no {codes} answer: {result!r}"
        assert result.status != 422, f"422 without a request violation: {result!r}"
        return
    assert codes, f"a 2xx answer for an operation whose spec defines none: {result!r}"

    expected = return_type(op)
    raw = recorder.exchanges[-1].json()
    if op.paginated:
        assert isinstance(result, Page)
        (item_type,) = typing.get_args(expected)
        expected, decoded = list[item_type], result.data  # type: ignore[valid-type]
        if isinstance(raw, dict):
            raw = raw.get("data")
    else:
        decoded = result
    problems = undecoded(decoded, expected, "body")
    assert not problems, "the answer did not decode into our models:\n" + "\n".join(problems)
    unknown = unmodelled(raw, decoded, "body")
    assert not unknown, "fields of the answer our models do not have:\n" + "\n".join(unknown)


async def call(
    op: Operation,
    url: str,
    session: aiohttp.ClientSession,
    *,
    every: bool = False,
    prefer: int | None = None,
) -> Any:
    """Call ``op`` through the public SDK; an API error is returned, not raised."""
    headers = {"Prefer": f"code={prefer}"} if prefer is not None else {}
    clerk = Clerk(
        secret_key="sk_test_contract", api_url=url, retries=0, session=session,
        default_headers=headers,
    )  # fmt: skip
    method: Callable[..., Any] = getattr(getattr(clerk, op.group), op.name)
    arguments = build_arguments(op, method, every=every)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # deprecated operations warn
        try:
            outcome = method(*arguments.args, **arguments.kwargs)
            if op.paginated:
                assert isinstance(outcome, AsyncPaginator)
            return await outcome
        except ClerkAPIError as exc:
            return exc


def return_type(op: Operation) -> Any:
    resource = type(getattr(Clerk(secret_key="sk_test_contract"), op.group))
    return typing.get_type_hints(getattr(resource, op.name))["return"]


# -- did the answer decode into models? ---------------------------------------------


@cache
def field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in attrs.fields(cls)}


def undecoded(value: Any, tp: Any, where: str) -> list[str]:
    """Places where ``value`` is not what ``tp`` declares.

    The converter is forgiving on purpose (it keeps what it cannot structure), so a
    decoding gap shows as a raw ``dict`` where a model was declared, or a value of
    another JSON type than the declared one.
    """
    origin = typing.get_origin(tp)
    if tp is Any or tp is object:
        return []
    if origin in (Union, types.UnionType):
        members = typing.get_args(tp)
        if value is None:
            return [] if type(None) in members else [f"{where}: null, declared {tp}"]
        fitting = [m for m in members if m is not type(None) and _shape_fits(value, m)]
        if not fitting:
            return [f"{where}: {_json_type(value)}, declared {_name(tp)}"]
        return undecoded(value, fitting[0], where)
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {_json_type(value)}, declared a list"]
        (item,) = typing.get_args(tp) or (Any,)
        return [p for i, v in enumerate(value) for p in undecoded(v, item, f"{where}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: {_json_type(value)}, declared an object"]
        _, item = typing.get_args(tp) or (str, Any)
        return [p for k, v in value.items() for p in undecoded(v, item, f"{where}.{k}")]
    if tp is type(None):
        return [] if value is None else [f"{where}: {_json_type(value)}, declared null"]
    if attrs.has(tp):
        if not isinstance(value, tp):
            return [f"{where}: {_json_type(value)}, declared {_name(tp)}"]
        return [
            p
            for name, field_tp in field_types(tp).items()
            for p in undecoded(getattr(value, name), field_tp, f"{where}.{name}")
        ]
    if value is None:
        return [f"{where}: null, declared {_name(tp)}"]
    return [] if _shape_fits(value, tp) else [f"{where}: {_json_type(value)}, declared {_name(tp)}"]


def unmodelled(raw: Any, value: Any, where: str) -> list[str]:
    """Keys of the JSON answer that the model they were decoded into has no field for."""
    if isinstance(raw, list) and isinstance(value, list):
        return [
            p
            for i, (r, v) in enumerate(zip(raw, value, strict=False))
            for p in unmodelled(r, v, f"{where}[{i}]")
        ]
    if not isinstance(raw, dict):
        return []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in unmodelled(raw.get(k), v, f"{where}.{k}")]
    if not attrs.has(type(value)):
        return []
    keys = {f.metadata.get("json", f.name): f.name for f in attrs.fields(type(value))}
    problems = [f"{where}.{k} ({type(value).__name__})" for k in raw if k not in keys]
    for key, name in keys.items():
        if key in raw:
            problems += unmodelled(raw[key], getattr(value, name), f"{where}.{key}")
    return problems


def _shape_fits(value: Any, tp: Any) -> bool:
    origin = typing.get_origin(tp) or tp
    if tp is Any or tp is object:
        return True
    if attrs.has(tp):
        return isinstance(value, tp)
    if origin is list:
        return isinstance(value, list)
    if origin is dict:
        return isinstance(value, dict)
    if isinstance(origin, type) and issubclass(origin, str):  # str and str enums
        return isinstance(value, str)
    if origin is bool:
        return isinstance(value, bool)
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(origin, type) and isinstance(value, origin)


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return f"a raw object with keys {sorted(value)[:6]}"
    return f"{type(value).__name__} {value!r:.60}"


def _name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("clerk_async.models.", "")
