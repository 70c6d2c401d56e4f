"""Tests of exllm_py.providers.reading: requests read back into the calls that send them."""
