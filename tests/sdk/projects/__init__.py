"""The test modules the SDK tests copy into their pytest projects (not collected here).

Each is a user's test file as the README shows it: a ``live_api`` test
that builds an SDK client with the base URL of the loopback provider
(``LOOPBACK_URL``) and the key from the environment, if any. The
``client_style`` fixture runs every test twice: with the SDK's own HTTP
client (recorded by interception) and with the recorder injected as
``http_client=exllm_py.testing.http_client(...)``.
"""
