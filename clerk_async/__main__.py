"""``python -m clerk_async <command>``: ``demo`` or ``emulator``."""

from __future__ import annotations

import sys


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["demo"]:
        from ._demo import main as demo

        return demo(args[1:])
    if args[:1] == ["emulator"]:
        from .emulator.__main__ import main as emulator

        emulator(args[1:])
        return 0
    print("usage: python -m clerk_async demo | emulator [--port 8787 --seed-users N]")
    return 2


if __name__ == "__main__":
    sys.exit(main())
