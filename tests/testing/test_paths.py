"""Tests for exllm_py.testing.paths: one cassette per test, at a predictable place."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from exllm_py.testing.paths import cassette_path_for, iter_cassettes, nodeid_for

ROOT = Path("/repo/cassettes")

# Node ids built from the characters that collide: dots, colons, slashes,
# brackets, both cases, a reserved name, and some beyond ASCII; small
# alphabets, so that near-misses are frequent. Plus any text at all.
_CHARS = "aAbB_.:-/[]9 ~\u00df\u00c4"
_PIECE = st.text(st.sampled_from(_CHARS), min_size=1, max_size=5) | st.just("con")
_MODULE = st.lists(_PIECE, min_size=1, max_size=3).map(lambda parts: "/".join(parts) + ".py")
_NAME = st.text(st.sampled_from("aAtT_.9"), min_size=1, max_size=4)
_TEST = st.lists(_NAME, min_size=1, max_size=3).map("::".join)
_PARAMS = st.none() | st.text(st.sampled_from(_CHARS), max_size=6)
_STRUCTURED = st.builds(
    lambda module, test, params: f"{module}::{test}" + ("" if params is None else f"[{params}]"),
    _MODULE,
    _TEST,
    _PARAMS,
)
_NODE_IDS = _STRUCTURED | st.text(max_size=24)


class TestCassettePathFor:
    """Cassettes live at <dir>/<dotted test module>/<test name>.json."""

    @pytest.mark.parametrize(
        ("nodeid", "expected"),
        [
            ("tests/test_a.py::test_x", "tests.test_a/test_x.json"),
            ("tests/live/test_b.py::test_y", "tests.live.test_b/test_y.json"),
            ("tests/test_a.py::test_x[gpt-4o-mini]", "tests.test_a/test_x[gpt-4o-mini].json"),
            ("tests/test_a.py::test_x[a.b]", "tests.test_a/test_x[a.b].json"),
            ("../other/test_c.py::test_z", "__.other.test_c/test_z.json"),
            # A lowercase class (python_classes lets a project have one) needs no hash.
            ("tests/test_a.py::checks::test_x", "tests.test_a/checks.test_x.json"),
        ],
    )
    def test_ordinary_names_are_used_as_they_are(self, nodeid: str, expected: str) -> None:
        assert cassette_path_for(ROOT, nodeid) == ROOT / expected

    @pytest.mark.parametrize(
        ("nodeid", "expected"),
        [
            ("t.py::TestC::TestD::test_z", "t/TestC.TestD.test_z~"),
            ("t.py::test_x[a/b]", "t/test_x[a_b]~"),
            ("t.py::test_x[x::y]", "t/test_x[x.y]~"),
            ("tests/a.b/t.py::test_x", "tests.a.b.t~"),
            ("con.py::test_x", "_con~"),
            # Read as a path ("\\" as "/", "." folders dropped), hashed as written.
            ("tests\\live\\test_b.py::test_y", "tests.live.test_b~"),
            ("./tests/test_a.py::test_x", "tests.test_a~"),
        ],
    )
    def test_other_names_are_hashed(self, nodeid: str, expected: str) -> None:
        path = cassette_path_for(ROOT, nodeid).relative_to(ROOT).as_posix()
        assert path.startswith(expected)
        assert not set(path) & set('<>:"\\|?*')

    def test_unsafe_ids_are_made_safe_and_kept_apart(self) -> None:
        slash = cassette_path_for(ROOT, "t.py::test_x[a/b]")
        colon = cassette_path_for(ROOT, "t.py::test_x[a:b]")
        assert slash != colon
        for path in (slash, colon):
            assert path.parent == ROOT / "t"
            assert path.name.startswith("test_x[a_b]~")

    def test_very_long_ids_are_shortened(self) -> None:
        path = cassette_path_for(ROOT, "t.py::test_x[" + "a" * 400 + "]")
        assert len(path.name) < 255


class TestHashedNamesStayPut:
    """A hashed cassette name is the same from one release to the next, or its cassette is lost."""

    # The names these tests' cassettes were recorded under; under CI's "none"
    # mode a renamed cassette fails its test, elsewhere it is recorded again.
    @pytest.mark.parametrize(
        ("nodeid", "recorded"),
        [
            (
                "tests/test_chat.py::TestChat::test_reply",
                "tests.test_chat/TestChat.test_reply~bebfbd22",
            ),
            ("tests/test_chat.py::test_x[A]", "tests.test_chat/test_x[A]~ebb68795"),
            ("tests/test_chat.py::test_x[a::b]", "tests.test_chat/test_x[a.b]~1d1148ca"),
            ("tests/a.b/test_chat.py::test_x", "tests.a.b.test_chat~97dd03eb/test_x"),
        ],
    )
    def test_known_names(self, nodeid: str, recorded: str) -> None:
        assert cassette_path_for(ROOT, nodeid) == ROOT / f"{recorded}.json"


class TestDistinctTestsDistinctFiles:
    """No two node ids share a cassette, even where file names ignore case."""

    @pytest.mark.parametrize(
        ("one", "other"),
        [
            ("t.py::test_x[x::y]", "t.py::test_x[x.y]"),
            ("tests/a.b/t.py::test_x", "tests/a/b/t.py::test_x"),
            ("t.py::test_x[A]", "t.py::test_x[a]"),
            ("t.py::TestA::test_x", "t.py::Testa::test_x"),
            ("t.py::TestA::test_x", "t.py::testa::test_x"),
            ("t.py::TestA::test_x", "t.py::TestA.test_x"),
            ("tests/T.py::test_x", "tests/t.py::test_x"),
            ("__/t.py::test_x", "../t.py::test_x"),
            ("t.py", "t.py::module"),
            ("t.py", "t.py::"),
            ("t.py::test_x[a/b]", "t.py::test_x[a_b]"),
        ],
    )
    def test_known_collisions(self, one: str, other: str) -> None:
        assert _folded(one) != _folded(other)

    @given(st.lists(_NODE_IDS, min_size=2, max_size=40, unique=True))
    @example(["t.py::test_x[x::y]", "t.py::test_x[x.y]", "t.py::test_x[X.y]"])
    @example(["tests/a.b/t.py::test_x", "tests/a/b/t.py::test_x", "tests/A/b/t.py::test_x"])
    def test_any_node_ids(self, ids: list[str]) -> None:
        assert len({_folded(nodeid) for nodeid in ids}) == len(ids)


def _folded(nodeid: str) -> str:
    return cassette_path_for(ROOT, nodeid).relative_to(ROOT).as_posix().casefold()


class TestNodeidFor:
    """The inverse mapping is exact for unhashed names and refuses hashed ones."""

    @pytest.mark.parametrize(
        "nodeid",
        [
            "tests/test_a.py::test_x",
            "tests/live/test_b.py::test_y",
            "tests/test_a.py::test_x[gpt-4o-mini-1.5]",
            "tests/test_a.py::test_x[a.b]",
            "tests/test_a.py::checks::test_x[a.b]",
        ],
    )
    def test_round_trip(self, nodeid: str) -> None:
        assert nodeid_for(ROOT, cassette_path_for(ROOT, nodeid)) == nodeid

    @pytest.mark.parametrize("nodeid", ["t.py::test_x[a/b]", "t.py::TestA::test_x"])
    def test_hashed_names_have_no_inverse(self, nodeid: str) -> None:
        assert nodeid_for(ROOT, cassette_path_for(ROOT, nodeid)) is None

    @pytest.mark.parametrize(
        "relative", ["tests.test_a/test_x.txt", "tests.test_a/deeper/test_x.json", "test_x.json"]
    )
    def test_what_is_no_cassette_has_no_inverse(self, relative: str) -> None:
        assert nodeid_for(ROOT, ROOT / relative) is None


class TestIterCassettes:
    """Listing skips hidden files: temporaries and anything in a dot-folder."""

    def test_hidden_files_are_skipped(self, tmp_path: Path) -> None:
        for name in ("m/a.json", "m/b.json", ".exllm-usage.json", "m/.a.json.x.tmp", "m/.c.json"):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text("{}")
        assert [p.relative_to(tmp_path).as_posix() for p in iter_cassettes(tmp_path)] == [
            "m/a.json",
            "m/b.json",
        ]

    def test_missing_directory_lists_nothing(self, tmp_path: Path) -> None:
        assert list(iter_cassettes(tmp_path / "absent")) == []
