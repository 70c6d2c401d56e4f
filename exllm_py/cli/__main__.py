"""``python -m exllm_py.cli``: the same as the ``exllm-cache`` console script."""

from __future__ import annotations

import sys

from exllm_py.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main())
