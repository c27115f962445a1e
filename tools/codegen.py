"""What every generator of this repository shares: names, formatting and the write/--check driver.

A generator builds ``{relative path: text}`` and hands it to :func:`run`, which formats
the files with ruff under the project's settings, then writes the changed ones (and
removes files it generated before but no longer does) or, with ``--check``, names the
stale files and exits with status 1.
"""

from __future__ import annotations

import argparse
import keyword
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "clerk-bapi"


def snake(name: str) -> str:
    """``createToken`` -> ``create_token``, ``emailSMSTemplates`` -> ``email_sms_templates``."""
    name = re.sub(r"[^0-9A-Za-z]+", "_", name).replace("OAuth", "Oauth")
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.sub(r"_+", "_", name).strip("_").lower()


def camel(name: str) -> str:
    """``organization_memberships`` / ``organizationMembership.created`` -> ``Organization...``."""
    parts = re.split(r"[^0-9A-Za-z]+", snake(name))
    return "".join(p[:1].upper() + p[1:] for p in parts if p)


def identifier(name: str) -> str:
    """A safe Python identifier for a JSON key or parameter name."""
    ident = snake(name) if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) else name
    if not ident or ident[0].isdigit():
        ident = f"n_{ident}"
    if keyword.iskeyword(ident) or ident in ("self",):
        ident += "_"
    return ident


def formatted(files: dict[str, str]) -> dict[str, str]:
    """``files`` fixed and formatted by ruff with the project's settings."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text, encoding="utf-8")
        ruff = [sys.executable, "-m", "ruff"]
        folders = sorted({rel.split("/")[0] for rel in files})
        subprocess.run(
            [*ruff, "check", "--fix", "--quiet", "--exit-zero", *folders], cwd=root, check=True
        )
        subprocess.run([*ruff, "format", "--quiet", *folders], cwd=root, check=True)
        return {rel: (root / rel).read_text(encoding="utf-8") for rel in files}


def generated_by(mark: str, folders: tuple[str, ...]) -> set[str]:
    """The files under ``folders`` that open with ``mark``: what a generator wrote before."""
    return {
        str(path.relative_to(REPO))
        for folder in folders
        for path in (REPO / folder).rglob("*.py")
        if path.read_text(encoding="utf-8").startswith(mark)
    }


def run(
    doc: str | None,
    default_spec: Path,
    generate: Callable[[Path], dict[str, str]],
    *,
    mark: str,
    argv: list[str] | None = None,
) -> int:
    """The command line of a generator: ``[SPEC] [--check]``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0] if doc else None)
    parser.add_argument("spec", nargs="?", type=Path, default=default_spec)
    parser.add_argument("--check", action="store_true", help="verify only; write nothing")
    args = parser.parse_args(argv)
    if not args.spec.exists():
        if args.check:  # a clone without the specs beside it: nothing to compare against
            print(f"skipped: the check compares with {args.spec}, which is not there")
            return 0
        parser.error(f"spec not found: {args.spec}")
    files = formatted(generate(args.spec))
    folders = tuple(sorted({rel.split("/")[0] for rel in files}))
    gone = sorted(generated_by(mark, folders) - set(files))
    changed = [
        rel
        for rel, text in files.items()
        if not (REPO / rel).exists() or (REPO / rel).read_text(encoding="utf-8") != text
    ]
    if args.check:
        for rel in changed:
            print(f"stale: {rel}", file=sys.stderr)
        for rel in gone:
            print(f"no longer generated: {rel}", file=sys.stderr)
        if changed or gone:
            print("run `nox -s generate` to regenerate", file=sys.stderr)
            return 1
        print(f"generated code is current ({len(files)} files)")
        return 0
    for rel in gone:
        (REPO / rel).unlink()
    for rel in changed:
        (REPO / rel).parent.mkdir(parents=True, exist_ok=True)
        (REPO / rel).write_text(files[rel], encoding="utf-8")
    print(f"wrote {len(changed)} of {len(files)} files")
    return 0
