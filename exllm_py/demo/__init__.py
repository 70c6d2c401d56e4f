"""The demo (``make demo``): a short run that shows the library doing its job.

What lives here: :mod:`~exllm_py.demo.server`, a simulated OpenAI-compatible
endpoint on loopback (used when no API key is set, and by the benchmarks),
and :mod:`~exllm_py.demo.run`, the script itself.

May import anything in the package; nothing in the package imports it.
"""

__all__: list[str] = []
