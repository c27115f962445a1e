"""clerk_sync mirrors clerk_async: the one place their parity is checked, by introspection."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import clerk_async
import clerk_sync
from clerk_async import OPERATIONS
from clerk_async._pagination import AsyncPaginator, Page
from clerk_async._resource import AsyncResource
from clerk_async._sync_support import PortalRunner, SyncPage, SyncPaginator

from ..conftest import SECRET

REPO = Path(__file__).resolve().parents[2]
RENAMES = {"aclose": "close", "__aenter__": "__enter__", "__aexit__": "__exit__"}


@pytest.fixture
def clients() -> Iterator[tuple[clerk_async.Clerk, clerk_sync.Clerk]]:
    sync_client = clerk_sync.Clerk(secret_key=SECRET, timeout=12, retries=5)
    try:
        yield sync_client.async_client, sync_client
    finally:
        sync_client.close()


# Async-only names in annotations, and what stands in their place on the sync side.
TWIN_NAMES = {
    "AsyncPaginator": "SyncPaginator",
    "Page": "SyncPage",
    "AsyncIterator": "Iterator",
}


def _sync_text(annotation: object, twins: dict[str, str] = TWIN_NAMES) -> str:
    tree = ast.parse(str(annotation), mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            node.id = twins.get(node.id, node.id)
    return ast.unparse(tree)


def _assert_same_signature(where: str, async_fn: Callable[..., Any], sync_fn: Any) -> None:
    """Same parameters (names, kinds, defaults, annotations) and result, minus async."""
    assert callable(sync_fn), where
    assert not inspect.iscoroutinefunction(sync_fn), where
    a, s = inspect.signature(async_fn), inspect.signature(sync_fn)
    assert list(a.parameters) == list(s.parameters), where
    for name, param in a.parameters.items():
        twin = s.parameters[name]
        assert (param.kind, param.default) == (twin.kind, twin.default), (where, name)
        assert str(param.annotation) == str(twin.annotation), (where, name)
    if a.return_annotation != "Any":
        assert _sync_text(a.return_annotation) == _sync_text(s.return_annotation, {}), where


def test_every_client_member_and_resource_method_has_a_twin(
    clients: tuple[clerk_async.Clerk, clerk_sync.Clerk],
) -> None:
    async_client, sync_client = clients
    checked = 0
    for name in dir(clerk_async.Clerk):
        if name.startswith("_") and name not in RENAMES:
            continue
        twin_name = RENAMES.get(name, name)
        assert hasattr(clerk_sync.Clerk, twin_name), name
        member = inspect.getattr_static(clerk_async.Clerk, name)
        if inspect.isfunction(member):
            _assert_same_signature(name, member, getattr(clerk_sync.Clerk, twin_name))
        resource = getattr(async_client, name)
        if not isinstance(resource, AsyncResource):
            continue
        sync_resource = getattr(sync_client, name)
        for method_name in dir(type(resource)):
            if method_name.startswith("_"):
                continue
            method = getattr(resource, method_name)
            sync_method = getattr(sync_resource, method_name)
            _assert_same_signature(f"{name}.{method_name}", method, sync_method)
            assert method.__doc__ == sync_method.__doc__
            checked += 1
    assert checked == len(OPERATIONS)
    init = inspect.signature(clerk_async.Clerk.__init__)
    assert str(init) == str(inspect.signature(clerk_sync.Clerk.__init__))


def test_with_options_has_the_same_signature_and_keeps_the_portal(
    clients: tuple[clerk_async.Clerk, clerk_sync.Clerk],
) -> None:
    _, sync_client = clients
    a = inspect.signature(clerk_async.Clerk.with_options)
    s = inspect.signature(clerk_sync.Clerk.with_options)
    assert str(a) == str(s)
    copy = sync_client.with_options(timeout=3, retries=0, api_version="2025-01-01")
    assert isinstance(copy, clerk_sync.Clerk) and copy.runner is sync_client.runner
    assert (copy.timeout, copy.retries.max_retries, copy.api_version) == (3, 0, "2025-01-01")


def test_attributes_set_by_the_async_client_are_reachable(
    clients: tuple[clerk_async.Clerk, clerk_sync.Clerk],
) -> None:
    async_client, sync_client = clients
    for name in ("options", "api_url", "api_version", "timeout", "retries"):
        assert getattr(sync_client, name) == getattr(async_client, name), name
    assert sync_client.is_closed is False


def test_page_and_sync_page_match() -> None:
    def face(cls: type) -> set[str]:
        return {n for n in dir(cls) if not n.startswith("_") or n in ("__iter__", "__len__")}

    assert face(Page) <= face(SyncPage)
    assert {"data", "offset", "total_count"} <= face(SyncPage)
    for name in ("has_next_page", "next_page"):
        _assert_same_signature(name, getattr(Page, name), getattr(SyncPage, name))

    class Paginator:
        def _has_more(self, page: object) -> bool:
            return False

    page: Page[int] = Page([1, 2], 40, offset=30, paginator=Paginator())  # type: ignore[arg-type]
    sync_page = SyncPage(PortalRunner(), page)
    assert (sync_page.data, sync_page.total_count, sync_page.offset) == ([1, 2], 40, 30)
    assert list(sync_page) == [1, 2] and len(sync_page) == 2


def test_paginator_twins_match() -> None:
    _assert_same_signature("pages", AsyncPaginator.pages, SyncPaginator.pages)
    _assert_same_signature("__iter__", AsyncPaginator.__aiter__, SyncPaginator.__iter__)
    awaited = inspect.signature(AsyncPaginator.__await__).return_annotation
    assert awaited == "Generator[Any, None, Page[T]]"
    assert inspect.signature(SyncPaginator.first_page).return_annotation == "SyncPage[T]"


def test_no_coroutine_is_reexported_unchanged() -> None:
    # Whatever clerk_sync re-exports from clerk_async must be usable without a loop.
    for module in [clerk_sync, clerk_sync.auth, clerk_sync.errors, clerk_sync.webhooks]:
        for name in module.__all__:
            obj = getattr(module, name)
            if getattr(obj, "__module__", "").startswith("clerk_sync"):
                continue
            members = [getattr(obj, m, None) for m in dir(obj)] if isinstance(obj, type) else [obj]
            assert not any(map(inspect.iscoroutinefunction, members)), f"{module.__name__}.{name}"


@pytest.mark.parametrize("module", ["auth", "webhooks"])
def test_module_functions_have_twins_with_the_same_signature(module: str) -> None:
    async_mod = importlib.import_module(f"clerk_async.{module}")
    sync_mod = importlib.import_module(f"clerk_sync.{module}")
    assert sync_mod.__all__ == async_mod.__all__
    for name in async_mod.__all__:
        obj, twin = getattr(async_mod, name), getattr(sync_mod, name)
        if not inspect.iscoroutinefunction(obj):
            assert twin is obj, name  # classes, constants and sync functions are shared
            continue
        _assert_same_signature(f"{module}.{name}", obj, twin)
        assert "await " in (obj.__doc__ or "") or twin.__doc__ == obj.__doc__
        assert "await " not in (twin.__doc__ or ""), name  # examples rewritten for sync code


def test_top_level_names_match() -> None:
    # Everything clerk_async exports is in clerk_sync, the same object, except the
    # async-only classes of this explicit list, which have sync twins instead.
    excluded = {"AsyncPaginator", "Page"}
    assert {"SyncPaginator", "SyncPage"} <= set(clerk_sync.__all__)
    for name in clerk_async.__all__:
        if name in excluded:
            continue
        assert name in clerk_sync.__all__, name
        value, twin = getattr(clerk_async, name), getattr(clerk_sync, name)
        if name == "Clerk":
            assert twin is clerk_sync._client.Clerk
        elif isinstance(value, ModuleType):
            assert twin.__name__ == f"clerk_sync.{name}"
        else:
            assert twin is value, name
    for name in clerk_sync.__all__:
        assert getattr(clerk_sync, name) is not None


def test_errors_include_pagination_error() -> None:
    assert clerk_sync.errors.PaginationError is clerk_async.PaginationError
    assert clerk_sync.PaginationError is clerk_async.PaginationError
    assert "PaginationError" in clerk_sync.errors.__all__
    for name in clerk_async.errors.__all__:
        assert getattr(clerk_sync.errors, name) is getattr(clerk_async.errors, name)
    every_error = {
        name
        for name in clerk_async.__all__
        if isinstance(getattr(clerk_async, name), type)
        and issubclass(getattr(clerk_async, name), clerk_async.ClerkError)
    }
    assert every_error <= set(clerk_sync.errors.__all__)


def test_lazy_names_load_when_first_asked_for() -> None:
    script = textwrap.dedent(
        """
        import sys
        import clerk_sync
        assert "clerk_async._operations" not in sys.modules
        assert "clerk_sync.models" not in sys.modules
        assert clerk_sync.models.User is clerk_sync.models.User
        assert len(clerk_sync.OPERATIONS) > 200
        assert clerk_sync.Operation.__name__ == "Operation"
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# -- the generator on a copy of the package ------------------------------------------------

SPEC = REPO.parent / "shared" / "clerk-bapi" / "bapi-2026-05-12.yml"


@pytest.mark.skipif(not SPEC.exists(), reason="the generator needs the Clerk spec beside the repo")
def test_a_new_client_member_gets_a_generated_twin(tmp_path: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("clerk_async", "clerk_sync", "tools"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=ignore)
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    client = tmp_path / "clerk_async/_client.py"
    anchor = "    def with_options(\n"
    added = textwrap.indent(
        textwrap.dedent(
            '''
            async def ping(self, *, loud: bool = False) -> str:
                """Answer ``pong``: ``await clerk.ping()``."""
                return "PONG" if loud else "pong"

            @property
            def label(self) -> str:
                """A name for logs."""
                return "clerk"
            '''
        ),
        "    ",
    )
    client.write_text(client.read_text().replace(anchor, added + "\n" + anchor), encoding="utf-8")

    def generate(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "tools/generate_api.py", str(SPEC), *args]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)

    check = generate("--check")
    assert check.returncode == 1 and "stale: clerk_sync/_client.py" in check.stderr
    assert generate().returncode == 0
    assert generate("--check").returncode == 0
    script = textwrap.dedent(
        """
        import sys
        import clerk_sync
        assert clerk_sync.__file__.startswith(sys.argv[1])
        clerk = clerk_sync.Clerk(secret_key="sk_test_x")
        assert clerk.ping() == "pong" and clerk.ping(loud=True) == "PONG"
        assert clerk.label == "clerk"
        assert clerk_sync.Clerk.ping.__doc__ == "Answer ``pong``: ``clerk.ping()``."
        clerk.close()
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script, str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
