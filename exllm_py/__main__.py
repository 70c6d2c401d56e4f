"""``python -m exllm_py demo`` runs the demo; the housekeeping CLI is ``python -m exllm_py.cli``."""

from __future__ import annotations

import sys

__all__: list[str] = []


def _main(argv: list[str]) -> int:
    if argv[:1] == ["demo"]:
        from exllm_py.demo.run import main

        return main()
    print("usage: python -m exllm_py demo\n(housekeeping: exllm-cache --help)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
