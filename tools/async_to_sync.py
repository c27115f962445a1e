"""The sync twins of clerk_async's hand-written modules, built by transforming their ASTs.

In the manner of psycopg's ``tools/async_to_sync.py``, but for delegation: each public
member of ``clerk_async.Clerk`` and each public coroutine function of ``clerk_async.auth``
and ``clerk_async.webhooks`` keeps its name (``aclose`` becomes ``close``...), parameters,
defaults, annotations (``AsyncPaginator`` becomes ``SyncPaginator``) and docstring (its
examples rewritten for sync code); its body becomes a call of its async twin on the
client's event loop thread (see ``clerk_async/_sync_support.py``). Everything else is
re-exported. Used by ``tools/generate_api.py``, which formats and checks the output.
"""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import textwrap
from pathlib import Path
from typing import Any

SUPPORT = "clerk_async._sync_support"
RENAMES = {"aclose": "close", "__aenter__": "__enter__", "__aexit__": "__exit__"}
# What the sync twins of the client's lifecycle members do instead of delegating.
LIFECYCLE = {"__aenter__": "return self", "__aexit__": "self.close()", "aclose": "self._close()"}
CLOSE_NOTE = (
    "\n\n        Then the client's event loop thread stops; a closed client stays closed.\n        "
)
SWAPS = {"AsyncPaginator": "SyncPaginator", "Page": "SyncPage", "AsyncIterator": "Iterator"}
DOC_SWAPS = (
    ("an async context manager", "a context manager"),
    ("async with", "with"),
    ("async for", "for"),
    ("await ", ""),
    (":meth:`aclose`", ":meth:`close`"),
    ("asynchronous", "synchronous"),
)
# Names of ``clerk_async.__all__`` whose sync twins clerk_sync exports instead.
NOT_REEXPORTED = {"AsyncPaginator": "SyncPaginator", "Page": "SyncPage", "Clerk": "Clerk"}
Function = ast.FunctionDef | ast.AsyncFunctionDef


def sync_doc(doc: str) -> str:
    """An async docstring made to read right for sync code."""
    for old, new in DOC_SWAPS:
        doc = doc.replace(old, new)
    return doc


class Swap(ast.NodeTransformer):
    """Async-only names in annotations replaced by their sync twins."""

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.Name(SWAPS.get(node.id, node.id), node.ctx)


def node(kind: type[ast.AST], **fields: object) -> Any:
    """An AST node; ``type_params`` (Python 3.12+) left empty."""
    if "type_params" in kind._fields:
        fields["type_params"] = []
    return kind(**fields)


def expr(code: str) -> ast.expr:
    return ast.parse(code, mode="eval").body


def names_in(*nodes: ast.AST | None) -> set[str]:
    """The names ``nodes`` refer to."""
    return {n.id for node in nodes if node for n in ast.walk(node) if isinstance(n, ast.Name)}


def signature_names(fn: Function) -> set[str]:
    a = fn.args
    params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, [a.vararg, a.kwarg])]
    return names_in(*(p.annotation for p in params), *a.defaults, *a.kw_defaults, fn.returns)


def arguments(fn: Function, skip_self: bool) -> tuple[list[ast.expr], list[ast.keyword]]:
    """The arguments that pass every parameter of ``fn`` on to its twin."""
    a = fn.args
    positional: list[ast.expr] = [ast.Name(p.arg) for p in [*a.posonlyargs, *a.args][skip_self:]]
    if a.vararg:
        positional.append(ast.Starred(ast.Name(a.vararg.arg)))
    keywords = [ast.keyword(p.arg, ast.Name(p.arg)) for p in a.kwonlyargs]
    if a.kwarg:
        keywords.append(ast.keyword(None, ast.Name(a.kwarg.arg)))
    return positional, keywords


def twin(fn: Function, target: str, runner: str, wrap: str | None = None) -> ast.FunctionDef:
    """The sync twin of ``fn``, calling ``target`` (its async twin) through ``runner``."""
    is_method = target.startswith("self.")
    args, keywords = arguments(fn, skip_self=is_method)
    returns = Swap().visit(copy.deepcopy(fn.returns)) if fn.returns else ast.Constant(None)
    properties = [d for d in fn.decorator_list if ast.unparse(d).endswith("property")]
    body: list[ast.stmt]
    if fn.name in LIFECYCLE and is_method:
        body = ast.parse(LIFECYCLE[fn.name]).body
    elif properties:
        body = [ast.Return(expr(target))]
    elif isinstance(fn, ast.AsyncFunctionDef):
        body = [ast.Return(ast.Call(expr(runner), [expr(target), *args], keywords))]
    else:
        value: ast.expr = ast.Call(expr(target), args, keywords)
        if "AsyncPaginator" in names_in(fn.returns):
            value = ast.Call(ast.Name("SyncPaginator"), [expr("self._runner"), value], [])
        elif wrap is not None and names_in(fn.returns) == {wrap}:
            value = ast.Call(expr("self._wrap"), [value], [])  # a copy: same loop thread
        body = [ast.Return(value)]
    doc = ast.get_docstring(fn, clean=False)
    if doc is not None:
        doc = sync_doc(doc) + (CLOSE_NOTE if fn.name == "aclose" and is_method else "")
        body.insert(0, ast.Expr(ast.Constant(doc)))
    decorators = [ast.Name("property")] if properties else []
    args_node = Swap().visit(copy.deepcopy(fn.args))
    name = RENAMES.get(fn.name, fn.name) if is_method else fn.name
    made: ast.FunctionDef = node(
        ast.FunctionDef,
        name=name,
        args=args_node,
        body=body,
        decorator_list=decorators,
        returns=returns,
    )
    return made


def module_file(repo: Path, module: str) -> Path:
    rel = repo / Path(*module.split("."))
    return rel / "__init__.py" if (rel / "__init__.py").exists() else rel.with_suffix(".py")


def origins(repo: Path, module: str) -> dict[str, str]:
    """``name -> import line`` for the names ``module`` imports or defines at top level."""
    tree = ast.parse(module_file(repo, module).read_text(encoding="utf-8"))
    package = (
        module if module_file(repo, module).name == "__init__.py" else module.rpartition(".")[0]
    )
    found: dict[str, str] = {}
    for node in [*ast.walk(tree)]:
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - max(node.level - 1, 0)]
            source = ".".join([*base, node.module or ""]).strip(".") if node.level else node.module
            for alias in node.names:
                local = alias.asname or alias.name
                found[local] = f"from {source} import {alias.name}" + (
                    f" as {local}" if alias.asname else ""
                )
        elif isinstance(node, ast.Import):
            found.update({a.asname or a.name: f"import {a.name}" for a in node.names})
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found[node.name] = f"from {module} import {node.name}"
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name):
                    found[target.id] = f"from {module} import {target.id}"
    return found


def imports_for(repo: Path, names: set[str], module: str) -> list[str]:
    table = origins(repo, module)
    return sorted({table[n] for n in names if n in table})


def render_client(repo: Path, header: str) -> str:
    """``clerk_sync.Clerk``: a twin of every public member of ``clerk_async.Clerk``."""
    module = "clerk_async._client"
    tree = ast.parse(module_file(repo, module).read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Clerk")
    members = [
        n
        for n in cls.body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
        and (not n.name.startswith("_") or n.name in RENAMES)
    ]
    init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    for fn in members:
        if any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in ast.walk(fn)):
            raise SystemExit(f"clerk_async.Clerk.{fn.name}: async generators have no twin here")
    twins = [twin(fn, f"self._async.{fn.name}", "self._runner.run", wrap="Clerk") for fn in members]
    args, keywords = arguments(init, skip_self=True)
    make = ast.Call(expr("clerk_async.Clerk"), args, keywords)
    init_body: list[ast.stmt] = [ast.Expr(ast.Call(expr("super().__init__"), [make], []))]
    if any(a.arg == "secret_key" for a in [*init.args.args, *init.args.kwonlyargs]):
        # The key leaves this frame's locals whatever happens: a traceback captured with
        # locals (Sentry, capture_locals=True) reads them when it is rendered, later.
        init_body = [
            node(
                ast.Try,
                body=init_body,
                handlers=[],
                orelse=[],
                finalbody=[node(ast.Delete, targets=[ast.Name("secret_key", ast.Del())])],
            )
        ]
    init_twin = node(
        ast.FunctionDef,
        name="__init__",
        args=copy.deepcopy(init.args),
        body=init_body,
        decorator_list=[],
        returns=ast.Constant(None),
    )
    doc = sync_doc(ast.get_docstring(cls, clean=False) or "").rstrip() + (
        "\n\n    All calls of one client run on one event loop in a daemon thread, started on\n"
        "    first use; the client may be shared between threads. Close it with\n"
        "    :meth:`close` or a ``with`` block (an unclosed client is closed at exit).\n    "
    )
    body: list[ast.stmt] = [ast.Expr(ast.Constant(doc)), init_twin, *twins]
    bases: list[ast.expr] = [ast.Name("SyncClient"), ast.Name("ResourceNamespaces")]
    cls_twin = node(
        ast.ClassDef, name="Clerk", bases=bases, keywords=[], body=body, decorator_list=[]
    )
    used = set().union(*(signature_names(fn) for fn in [init, *members])) - {"Clerk"}
    return (
        f'{header}"""The synchronous client: every call runs on the client\'s own event loop thread."""\n\n'
        "from __future__ import annotations\n\nimport clerk_async\n"
        + "".join(f"{line}\n" for line in imports_for(repo, used, module))
        + f"from {SUPPORT} import SyncClient, SyncPaginator\n\n"
        "from .resources._namespaces import ResourceNamespaces\n\n"
        '__all__ = ["Clerk"]\n\n\n' + ast.unparse(ast.fix_missing_locations(cls_twin)) + "\n"
    )


def render_functions(repo: Path, module: str, header: str) -> str:
    """Sync twins of the public coroutine functions of ``module``; the rest re-exported."""
    mod = importlib.import_module(module)
    exported = list(mod.__all__)
    lines = [
        f"from {module} import {n} as {n}"
        for n in exported
        if not inspect.iscoroutinefunction(getattr(mod, n))
    ]
    functions: list[ast.stmt] = []
    for name in exported:
        obj = getattr(mod, name)
        if not inspect.iscoroutinefunction(obj):
            continue
        fn = ast.parse(textwrap.dedent(inspect.getsource(obj))).body[0]
        assert isinstance(fn, ast.AsyncFunctionDef)
        lines += imports_for(repo, signature_names(fn) - {"Clerk", *exported}, obj.__module__)
        lines.append(f"from {module} import {name} as _{name}")
        functions.append(twin(fn, f"_{name}", "run"))
    support = f"from {SUPPORT} import run\n" if functions else ""
    client = (
        "from ._client import Clerk\n" if any("Clerk" in names_in(f) for f in functions) else ""
    )
    code = "\n\n".join(ast.unparse(ast.fix_missing_locations(f)) for f in functions)
    return (
        f'{header}"""Sync twin of :mod:`{module}`."""\n\nfrom __future__ import annotations\n\n'
        + "".join(f"{line}\n" for line in sorted(set(lines)))
        + support
        + client
        + f"\n__all__ = {exported!r}\n\n\n{code}\n"
    )


def reexport(module: str, header: str, doc: str, extra: dict[str, str]) -> str:
    """A module re-exporting ``module.__all__`` and the ``extra`` names (``name -> module``)."""
    sources = {n: module for n in importlib.import_module(module).__all__} | extra
    imports = "".join(f"from {src} import {n} as {n}\n" for n, src in sources.items())
    return f'{header}"""{doc}"""\n\n{imports}\n__all__ = {list(sources)!r}\n'


def render_package(repo: Path, header: str, extras: list[str], submodules: list[str]) -> str:
    """``clerk_sync/__init__.py``: the names of ``clerk_async.__all__``, the sync twins in
    place of the async-only ones, loaded lazily where clerk_async loads them lazily; the
    ``submodules`` (models, auth, webhooks) are imported when first reached."""
    import clerk_async

    lazy: dict[str, str] = {}
    tree = ast.parse(module_file(repo, "clerk_async").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for sub in node.body:
                if isinstance(sub, ast.ImportFrom):
                    lazy.update(
                        {a.asname or a.name: f"clerk_async.{sub.module}" for a in sub.names}
                    )
    plain = [n for n in clerk_async.__all__ if n not in NOT_REEXPORTED and n not in lazy]
    modules = sorted({n for n in plain if inspect.ismodule(getattr(clerk_async, n))} | set(extras))
    plain = [n for n in plain if n not in modules]
    twins = sorted(set(NOT_REEXPORTED.values()) - {"Clerk"})
    every = [*plain, *modules, *lazy, *NOT_REEXPORTED.values(), *submodules]
    branches = "".join(
        f"    if name == {n!r}:\n        return getattr(importlib.import_module({m!r}), name)\n"
        for n, m in lazy.items()
    )
    return (
        f'{header}"""clerk_sync: the synchronous twin of clerk_async.\n\nExample::\n\n'
        "    from clerk_sync import Clerk\n\n    with Clerk() as clerk:\n"
        '        user = clerk.users.get("user_123")\n        for user in clerk.users.list():\n'
        '            print(user.id)\n"""\n\nimport importlib\nfrom typing import TYPE_CHECKING, Any\n\n'
        f"from clerk_async import {', '.join(plain)}\nfrom {SUPPORT} import {', '.join(twins)}\n\n"
        + "".join(f"from . import {m}\n" for m in modules)
        + "from ._client import Clerk\n\nif TYPE_CHECKING:\n"
        + "".join(f"    from {m} import {n}\n" for n, m in lazy.items())
        + "".join(f"    from . import {m}\n" for m in submodules)
        + "\n"
        f"__all__ = {sorted(set(every))!r}\n\n\n"
        "def __getattr__(name: str) -> Any:\n"
        "    # Loaded when first asked for, to keep imports fast. (Not `from . import\n"
        "    # models`: that asks this function for `models` again, endlessly.)\n"
        f"    if name in {tuple(submodules)!r}:\n"
        '        return importlib.import_module(f"{__name__}.{name}")\n'
        + branches
        + '    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")\n'
    )


def generate(repo: Path, header: str) -> dict[str, str]:
    """``{relative path: text}`` of the transformed modules of ``clerk_sync``."""
    import clerk_async
    from clerk_async.errors import ClerkError

    errors = importlib.import_module("clerk_async.errors")
    # Errors clerk_async exports at top level beside the others (PaginationError).
    extra = {
        n: "clerk_async"
        for n in clerk_async.__all__
        if isinstance(getattr(clerk_async, n), type)
        and issubclass(getattr(clerk_async, n), ClerkError)
        and n not in errors.__all__
    }
    files = {
        "clerk_sync/_client.py": render_client(repo, header),
        "clerk_sync/models.py": reexport(
            "clerk_async.models", header, "The models (shared with clerk_async).", {}
        ),
        "clerk_sync/errors.py": reexport(
            "clerk_async.errors", header, "The errors (shared with clerk_async).", extra
        ),
    }
    for name in ("auth", "webhooks"):
        files[f"clerk_sync/{name}.py"] = render_functions(repo, f"clerk_async.{name}", header)
    files["clerk_sync/__init__.py"] = render_package(
        repo, header, ["errors"], ["auth", "models", "webhooks"]
    )
    return files
