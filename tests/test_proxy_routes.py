"""Which proxy a request goes through: the environment's proxy variables, as httpx reads them."""

from __future__ import annotations

import httpx
import pytest

from exllm_py.errors import ConfigurationError
from exllm_py.proxy_routes import ProxyRoutes

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment with no proxy variable but those a test sets."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def proxy_for(url: str) -> str | None:
    return ProxyRoutes.from_environment().proxy_for(httpx.URL(url))


class TestProxyPerScheme:
    """HTTP_PROXY and HTTPS_PROXY name the proxy for their scheme; ALL_PROXY for any other."""

    def test_no_variable_means_direct(self, environment: pytest.MonkeyPatch) -> None:
        assert proxy_for("https://api.openai.com/v1/chat/completions") is None

    def test_each_scheme_takes_its_own_proxy(self, environment: pytest.MonkeyPatch) -> None:
        environment.setenv("HTTP_PROXY", "http://plain.proxy:3128")
        environment.setenv("HTTPS_PROXY", "http://secure.proxy:3129")
        assert proxy_for("http://api.example/v1") == "http://plain.proxy:3128"
        assert proxy_for("https://api.example/v1") == "http://secure.proxy:3129"

    def test_a_scheme_without_its_own_proxy_goes_direct(
        self, environment: pytest.MonkeyPatch
    ) -> None:
        environment.setenv("HTTP_PROXY", "http://plain.proxy:3128")
        assert proxy_for("https://api.example/v1") is None

    def test_all_proxy_serves_the_schemes_without_their_own(
        self, environment: pytest.MonkeyPatch
    ) -> None:
        environment.setenv("ALL_PROXY", "http://every.proxy:8080")
        environment.setenv("HTTP_PROXY", "http://plain.proxy:3128")
        assert proxy_for("https://api.example/v1") == "http://every.proxy:8080"
        assert proxy_for("http://api.example/v1") == "http://plain.proxy:3128"

    def test_lower_case_variables_count_and_win(self, environment: pytest.MonkeyPatch) -> None:
        environment.setenv("HTTPS_PROXY", "http://upper.proxy:1")
        environment.setenv("https_proxy", "http://lower.proxy:2")
        assert proxy_for("https://api.example/v1") == "http://lower.proxy:2"

    def test_a_bare_host_and_port_is_an_http_proxy(self, environment: pytest.MonkeyPatch) -> None:
        environment.setenv("HTTPS_PROXY", "corp.proxy:3128")
        assert proxy_for("https://api.example/v1") == "http://corp.proxy:3128"

    def test_the_environment_is_read_when_the_routes_are_made(
        self, environment: pytest.MonkeyPatch
    ) -> None:
        routes = ProxyRoutes.from_environment()
        environment.setenv("HTTPS_PROXY", "http://late.proxy:1")
        assert routes.proxy_for(httpx.URL("https://api.example/v1")) is None


class TestNoProxy:
    """NO_PROXY's hosts and domains go direct; every other host through the proxy."""

    @pytest.fixture
    def proxied(self, environment: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
        environment.setenv("HTTPS_PROXY", "http://corp.proxy:3128")
        environment.setenv("HTTP_PROXY", "http://corp.proxy:3128")
        return environment

    @pytest.mark.parametrize(
        ("no_proxy", "url"),
        [
            ("internal.example", "https://internal.example/v1"),
            ("example.com", "https://api.example.com/v1"),
            (".example.com", "https://api.example.com/v1"),
            ("*.example.com", "https://api.example.com/v1"),
            ("other.host, Internal.Example ", "https://internal.example/v1"),
            ("10.0.0.7", "http://10.0.0.7:8000/v1"),
            ("localhost:11434", "http://localhost:11434/v1"),
            ("internal.example:443", "https://internal.example/v1"),
            ("http://internal.example", "http://internal.example/v1"),
            ("[::1]:8000", "http://[::1]:8000/v1"),
            ("::1", "http://[::1]:8000/v1"),
            ("[::1]", "http://[::1]:8000/v1"),
            ("*", "https://anywhere.example/v1"),
        ],
    )
    def test_listed_hosts_go_direct(
        self, proxied: pytest.MonkeyPatch, no_proxy: str, url: str
    ) -> None:
        proxied.setenv("NO_PROXY", no_proxy)
        assert proxy_for(url) is None

    @pytest.mark.parametrize(
        ("no_proxy", "url"),
        [
            ("example.com", "https://api.example.org/v1"),
            ("example.com", "https://notexample.com/v1"),
            ("localhost:11434", "http://localhost:8000/v1"),
            ("internal.example:80", "https://internal.example/v1"),
            ("http://internal.example", "https://internal.example/v1"),
            ("[::1]:8000", "http://[::1]:9000/v1"),
            ("10.0.0.7", "http://10.0.0.70/v1"),
            (",", "https://api.example/v1"),
        ],
    )
    def test_other_hosts_keep_the_proxy(
        self, proxied: pytest.MonkeyPatch, no_proxy: str, url: str
    ) -> None:
        proxied.setenv("NO_PROXY", no_proxy)
        assert proxy_for(url) == "http://corp.proxy:3128"


class TestUnusableProxy:
    """A proxy URL httpx cannot use is refused by name, with its credentials hidden."""

    def test_an_unknown_scheme_names_the_variable(self, environment: pytest.MonkeyPatch) -> None:
        environment.setenv("HTTPS_PROXY", "ftp://alice:S3cret@corp.proxy:21")
        with pytest.raises(ConfigurationError) as caught:
            proxy_for("https://api.example/v1")
        message = str(caught.value)
        assert message.startswith("HTTPS_PROXY is 'ftp://corp.proxy:21': a proxy URL must start")
        assert "http://, https://, socks5://, socks5h://; fix or unset HTTPS_PROXY" in message
        assert "S3cret" not in message

    def test_all_proxy_is_named_when_it_is_the_one_used(
        self, environment: pytest.MonkeyPatch
    ) -> None:
        environment.setenv("ALL_PROXY", "gopher://corp.proxy:70")
        with pytest.raises(ConfigurationError) as caught:
            proxy_for("https://api.example/v1")
        assert str(caught.value).startswith("ALL_PROXY is 'gopher://corp.proxy:70'")

    def test_a_listed_host_is_never_refused(self, environment: pytest.MonkeyPatch) -> None:
        environment.setenv("HTTPS_PROXY", "ftp://corp.proxy:21")
        environment.setenv("NO_PROXY", "api.example")
        assert proxy_for("https://api.example/v1") is None

    @pytest.mark.parametrize(
        "proxy", ["https://p:1", "socks5://p:1", "socks5h://p:1", "HTTP://p:1"]
    )
    def test_every_scheme_httpx_speaks_is_taken(
        self, environment: pytest.MonkeyPatch, proxy: str
    ) -> None:
        environment.setenv("HTTPS_PROXY", proxy)
        assert proxy_for("https://api.example/v1") == proxy
