"""Every generated operation, called against a recording server on 127.0.0.1."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import typing
import warnings

import attrs
import pytest

from clerk_async import OPERATIONS, AsyncPaginator, Clerk, Operation, Page
from clerk_async import models as m

from .api_samples import REPO, bound_method, build_call, requires_spec, response_sample, spec
from .stub_server import Reply, StubServer


@requires_spec
def test_every_spec_operation_is_generated() -> None:
    in_spec = {
        op["operationId"]
        for item in spec()["paths"].values()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    }
    generated = {op.operation_id: op for op in OPERATIONS}
    assert in_spec <= set(generated)
    # What the current spec lacks are the retired operations, kept for code that calls them.
    assert all(generated[name].deprecated for name in set(generated) - in_spec)


def test_the_registry_describes_every_method() -> None:
    clerk = Clerk(secret_key="sk_test_x")
    for op in OPERATIONS:
        fn = getattr(type(getattr(clerk, op.group)), op.name)
        names = [p for p in inspect.signature(fn).parameters if p != "self"]
        paging = ["max_items", "concurrency"] if op.paginated else []
        assert sorted(names) == sorted([p.name for p in op.params] + paging), op.operation_id
        assert op.paginated is (op.pagination != "none")
        assert [p.key for p in op.params if p.where == "path"] == [
            part[1:-1] for part in op.path.split("/") if part.startswith("{")
        ]


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: f"{op.group}.{op.name}")
async def test_operation_on_the_wire(op: Operation, stub: StubServer, clerk: Clerk) -> None:
    method = bound_method(clerk, op)
    call = build_call(op, method, clerk)
    status, answer = response_sample(op, clerk)
    stub.add(op.method, "/v1" + call.raw_path, Reply(status=status, json=answer))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = method(*call.args, **call.kwargs)
        result = await outcome
    assert any(w.category is DeprecationWarning for w in caught) is op.deprecated

    assert len(stub.requests) == 1
    seen = stub.requests[0]
    assert seen.method == op.method
    assert seen.raw_path == "/v1" + call.raw_path
    assert sorted(seen.query.items()) == sorted(call.query)
    if call.json is not None:
        assert seen.json() == json.loads(json.dumps(call.json))
    elif call.form_fields:
        for name in call.form_fields:
            assert f'name="{name}"'.encode() in seen.body
    else:
        assert seen.body == b""

    if op.paginated:
        assert isinstance(outcome, AsyncPaginator)
        assert isinstance(result, Page) and len(result.data) == 1
        return
    hints = typing.get_type_hints(getattr(type(getattr(clerk, op.group)), op.name))
    expected = hints["return"]
    if expected is type(None):
        assert result is None
    elif isinstance(expected, type) and hasattr(m, expected.__name__):
        assert isinstance(result, expected)


async def test_deprecated_operations_surface_the_server_answer(
    stub: StubServer, clerk: Clerk
) -> None:
    from clerk_async.errors import GoneError

    gone = {"errors": [{"code": "operation_retired", "message": "gone"}]}
    stub.add("POST", "/v1/emails", Reply(status=410, json=gone))
    with pytest.warns(DeprecationWarning, match="emails.create"), pytest.raises(GoneError):
        await clerk.emails.create(
            from_email_name="x", subject="s", body="b", email_address_id="idn_1"
        )
    assert stub.requests[0].json() == {
        "from_email_name": "x",
        "subject": "s",
        "body": "b",
        "email_address_id": "idn_1",
    }


def test_signatures_are_typed_and_keyword_only() -> None:
    clerk = Clerk(secret_key="sk_test_x")
    for op in OPERATIONS:
        fn = getattr(type(getattr(clerk, op.group)), op.name)
        params = list(inspect.signature(fn).parameters.values())[1:]
        for p in params:
            assert p.annotation is not inspect.Parameter.empty
            if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
                assert "{" in op.path  # only path parameters are positional
        assert fn.__doc__ and op.path in fn.__doc__


async def test_path_parameters_checked_before_io(stub: StubServer, clerk: Clerk) -> None:
    for bad in ["", "..", "%2e", "."]:
        with pytest.raises(ValueError):
            await clerk.users.get(bad)
    assert stub.requests == []


@requires_spec
def test_generated_files_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "generate_api.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_real_models_decode_tolerantly() -> None:
    from clerk_async._convert import structure

    user = structure(
        {
            "id": "user_1",
            "object": "user",
            "brand_new_field": {"nested": True},
            "email_addresses": [
                {
                    "id": "idn_1",
                    "object": "email_address",
                    "email_address": "a@example.com",
                    "verification": {"status": "some_future_status", "strategy": "email_code"},
                }
            ],
        },
        m.User,
    )
    assert user.id == "user_1"
    assert user.first_name is None  # missing optional field
    assert user.created_at is None  # missing required field
    assert user.email_addresses is not None
    assert user.email_addresses[0].email_address == "a@example.com"
    session = structure({"id": "sess_1", "status": "brand_new_status"}, m.Session)
    assert session.status == "brand_new_status"
    known = structure({"id": "sess_1", "status": "active"}, m.Session)
    assert known.status == "active"
    assert type(known.status) is not str  # decoded into the enum


def test_decoded_models_own_their_fields() -> None:
    from clerk_async._convert import structure

    data = {"id": "user_1", "object": "user", "future_field": 1, "email_addresses": []}
    user = structure(data, m.User)
    data["id"] = "changed"  # the answer's dict is copied, not shared
    assert user.id == "user_1"
    assert user.username is None  # absent from the answer: the field's default
    # A key the model does not know is not a field: equality, repr and asdict ignore it.
    assert user == m.User(id="user_1", object="user", email_addresses=[])
    assert "future_field" not in repr(user)
    assert "future_field" not in attrs.asdict(user)
    assert set(attrs.asdict(user)) == {f.name for f in attrs.fields(m.User)}


def test_models_load_on_first_lookup() -> None:
    # A fresh interpreter: reaching a resource loads no model module; a model's first
    # lookup (what a call decoding one does) brings in its own module only.
    script = (
        "import sys, clerk_async\n"
        "def loaded(): return sum(n.startswith('clerk_async.models.') for n in sys.modules)\n"
        "clerk = clerk_async.Clerk(secret_key='sk_test_x')\n"
        "clerk.users, clerk.jwks, clerk.organizations\n"
        "before = loaded()\n"
        "clerk_async.models.Jwks\n"
        "print(before, loaded(), len(set(clerk_async.models._HOMES.values())))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO
    )
    before, after, homes = map(int, result.stdout.split())
    assert before == 0
    assert 1 <= after < homes / 4
    assert "User" in dir(m) and m.User.__module__ == "clerk_async.models._users"
    with pytest.raises(AttributeError, match="NoSuchModel"):
        _ = m.NoSuchModel
    namespace: dict[str, object] = {}
    exec("from clerk_async.models import *", namespace)
    assert {name for name in m.__all__ if name not in namespace} == set()
