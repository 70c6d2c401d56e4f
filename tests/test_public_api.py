"""The package's public names: complete, sorted, and importable."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import exllm_py


class TestAll:
    """``__all__`` lists exactly the public names, sorted."""

    def test_the_package_all_is_sorted(self) -> None:
        assert exllm_py.__all__ == sorted(exllm_py.__all__)

    def test_every_name_in_all_exists(self) -> None:
        for name in exllm_py.__all__:
            assert hasattr(exllm_py, name), name

    def test_every_public_attribute_is_in_all(self) -> None:
        # Submodules appear as attributes once imported; only ``errors`` and
        # ``telemetry`` are part of the top-level API. (pytest adds "@" names.)
        # The package imports its names on first use: use each, so all are there.
        for name in exllm_py.__all__:
            getattr(exllm_py, name)
        public = {
            name
            for name, value in vars(exllm_py).items()
            if name[0] not in "_@" and name != "annotations" and not inspect.ismodule(value)
        }
        assert public == set(exllm_py.__all__) - {"errors", "telemetry"}

    def test_every_module_declares_all_and_a_docstring(self) -> None:
        for module_info in pkgutil.walk_packages(exllm_py.__path__, "exllm_py."):
            if module_info.name.endswith("__main__"):
                continue
            module = importlib.import_module(module_info.name)
            names = getattr(module, "__all__", None)
            # (Its order is ruff's job: RUF022.)
            assert names is not None, f"{module_info.name} has no __all__"
            assert module.__doc__, f"{module_info.name} has no docstring"
