"""Every operation of the spec, called through our SDK against the emulator.

None answers 501 or 5xx, and every 2xx body validates against the operation's response
schema. The schemas are the generated, checked-in ``_schemas.json`` (kept equal to the
spec by ``nox -s generate -- --check``), so the sweep needs no spec beside the clone.
Objects created on the way are reused: a ``POST`` to a collection gives the ID that
the ``…/{id}`` operations of that collection are then called with.
"""

from __future__ import annotations

import re
import types
import warnings
from collections.abc import Callable
from functools import cache
from typing import Any

import aiohttp
import jsonschema
import pytest

from clerk_async import OPERATIONS, AsyncPaginator, Operation
from clerk_async.emulator import Emulator
from clerk_async.emulator._generic import Schemas, routes_by_shape, shape
from clerk_async.emulator._routes import ROUTES, schemas
from clerk_async.errors import ClerkAPIError

from ..api_samples import bound_method, build_call

SPEC_IDS = {r.operation_id for r in ROUTES}


def to_json_schema(node: Any) -> Any:
    """Our compact OpenAPI 3.0 schemas -> JSON Schema (draft 7)."""
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return {"$ref": f"#/definitions/{node['$ref']}"}
    out = {k: to_json_schema(v) for k, v in node.items() if k not in ("nullable", "properties")}
    if "properties" in node:
        out["properties"] = {k: to_json_schema(v) for k, v in node["properties"].items()}
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


ROUTE_SCHEMA_SUFFIXES = (".body", ".query", ".answer")


@cache
def answer_validator(name: str) -> jsonschema.Draft7Validator:
    table = schemas()
    definitions = {
        k: to_json_schema(v) for k, v in table.items() if not k.endswith(ROUTE_SCHEMA_SUFFIXES)
    }
    return jsonschema.Draft7Validator({**to_json_schema(table[name]), "definitions": definitions})


def order(op: Operation) -> tuple[int, int, str]:
    """Creations first (they give IDs), then reads and changes, deletions last."""
    rank = {"POST": 0, "PUT": 1, "GET": 2, "PATCH": 3, "DELETE": 5}[op.method]
    if op.method == "POST" and not op.path.endswith("}") and "/{" in op.path:
        rank = 1  # creations inside a created object come after it
    return rank, op.path.count("/"), op.path


class Recorder:
    """The raw body of the last answer, beside what the SDK decoded."""

    def __init__(self) -> None:
        self.body = b""
        self.status = 0

    def trace_config(self) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()

        async def on_start(
            session: aiohttp.ClientSession, ctx: types.SimpleNamespace, params: Any
        ) -> None:
            self.body, self.status = b"", 0

        async def on_chunk(
            session: aiohttp.ClientSession, ctx: types.SimpleNamespace, params: Any
        ) -> None:
            self.body += params.chunk

        async def on_end(
            session: aiohttp.ClientSession, ctx: types.SimpleNamespace, params: Any
        ) -> None:
            self.status = params.response.status

        config.on_request_start.append(on_start)
        config.on_response_chunk_received.append(on_chunk)
        config.on_request_end.append(on_end)
        return config


async def test_every_operation_is_answered_and_validates() -> None:
    recorder = Recorder()
    table = Schemas()
    by_shape = routes_by_shape()
    async with (
        Emulator(seed_users=3) as emu,
        aiohttp.ClientSession(trace_configs=[recorder.trace_config()]) as session,
        emu.client(retries=0, session=session) as clerk,
    ):
        user = await clerk.users.create(
            email_address=["sweep@example.com"], password="a-long-secret-1"
        )
        org = await clerk.organizations.create(name="Sweep", created_by=user.id)
        assert user.id is not None and org.id is not None
        sess = await clerk.sessions.create(user_id=user.id)
        known = {
            "user_id": user.id,
            "organization_id": org.id,
            "session_id": sess.id,
            "client_id": sess.client_id,
        }
        outcomes: dict[str, int] = {}
        problems: list[str] = []
        for op in sorted((o for o in OPERATIONS if o.operation_id in SPEC_IDS), key=order):
            route = by_shape[(op.method, shape(op.path))]
            method: Callable[..., Any] = bound_method(clerk, op)
            call = build_call(op, method, clerk)
            # The SDK's paginator reads bare arrays; ``paginated=true`` is swept elsewhere.
            call.kwargs.pop("paginated", None)
            names = re.findall(r"\{([^}]*)\}", op.path)
            args = [known.get(name, "missing_id") for name in names]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                try:
                    result = method(*args, **call.kwargs)
                    if isinstance(result, AsyncPaginator):
                        await result
                    else:
                        await result
                except ClerkAPIError:
                    pass
            status = recorder.status
            outcomes[op.operation_id] = status
            if status == 501 or status >= 500:
                problems.append(f"{op.operation_id}: {status} {recorder.body[:200]!r}")
                continue
            if 200 <= status < 300 and route.answer_schema and recorder.body:
                import json

                body = json.loads(recorder.body)
                errors = sorted(answer_validator(route.answer_schema).iter_errors(body), key=str)
                if errors:
                    problems.append(f"{op.operation_id}: {errors[0].message[:300]}")
                if isinstance(body, dict) and isinstance(body.get("id"), str):
                    # The ID a later ``…/{id}`` operation of this collection is called with.
                    for other in ROUTES:
                        if shape(other.path) == shape(op.path) + "/{}":
                            known.setdefault(other.path.rsplit("{", 1)[-1].rstrip("}"), body["id"])
        assert not problems, "\n".join(problems)
        answered = sum(200 <= s < 300 for s in outcomes.values())
        print(f"{answered} of {len(outcomes)} operations answered 2xx")
        # Each operation reached a handler: no catch-all answer.
        assert all(s != 0 for s in outcomes.values())
        assert table is not None
    assert len(outcomes) == len(SPEC_IDS)


@pytest.mark.parametrize("ctype", ["application/json"])
async def test_answers_are_exactly_application_json(ctype: str) -> None:
    async with Emulator(seed_users=1) as emu, aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {emu.secret_key}"}
        for path in ("/v1/users", "/v1/domains", "/v1/users/user_missing", "/v1/nowhere"):
            async with session.get(emu.url + path, headers=headers) as resp:
                assert resp.headers["Content-Type"] == ctype, path
