"""``exllm-cache``: the housekeeping command line for the test cache and the production cache.

Commands: ``stats``, ``list``, ``show``, ``clean``, ``clear``, ``verify``,
``import-vcr`` for the cassettes; ``invalidate``, ``warm`` and ``report``
for a production store on disk or in Redis (``exllm-cache --help``,
``exllm-cache COMMAND --help``).
What lives here:

- :mod:`~exllm_py.cli.app` and :mod:`~exllm_py.cli.args`: the entry point,
  and every command, option and help text;
- :mod:`~exllm_py.cli.commands`: one module per command;
- :mod:`~exllm_py.cli.context`, :mod:`~exllm_py.cli.locate`: the streams,
  environment and time a command runs with; where the root and cassettes are;
- :mod:`~exllm_py.cli.inventory`, :mod:`~exllm_py.cli.hosts`,
  :mod:`~exllm_py.cli.summary`: what the cassette dir holds;
  :mod:`~exllm_py.cli.answers` reads a recorded response as its provider's adapter does;
- :mod:`~exllm_py.cli.filters`, :mod:`~exllm_py.cli.orphans`: choosing
  cassettes; :mod:`~exllm_py.cli.pytest_collection` asks pytest which tests
  still exist, and :mod:`~exllm_py.cli.collection_report_plugin` is the
  plugin it loads into that pytest;
- :mod:`~exllm_py.cli.checks`: what ``verify`` checks;
- :mod:`~exllm_py.cli.removal`: asking first, and removing files safely;
- :mod:`~exllm_py.cli.redis_admin`: the ``--redis`` calls into the store;
  :mod:`~exllm_py.cli.production_store`: the ``--store disk|redis`` a
  management command opens;
- :mod:`~exllm_py.cli.render`, :mod:`~exllm_py.cli.progress`: output.

The work is all in :mod:`exllm_py.testing`, the cache's stores and
strategy, and :mod:`exllm_py.report`; nothing here changes how cassettes
are written.
"""

from __future__ import annotations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run ``exllm-cache`` with ``argv`` (default: the process's arguments); the exit status."""
    # Imported here so that `pytest -p exllm_py.cli.collection_report_plugin`,
    # which imports this package, loads only the plugin.
    from exllm_py.cli.app import run
    from exllm_py.cli.context import Console

    return run(argv, Console.from_process())
