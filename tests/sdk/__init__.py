"""Record and replay through the official SDKs (openai, anthropic) and a framework on top.

Each test writes a small pytest project that calls an SDK against the
loopback provider server, records it, then replays it with the server
stopped, ``CI=true`` and no key. The same tests run in two environments:
the dev virtualenv (openai 3.x and anthropic 2.x, on httpx2) and
``make test-legacy-sdks`` (openai 1.x and anthropic 0.x, on httpx), which
sets ``EXLLM_SDK_FLAVOR=httpx``.
"""
