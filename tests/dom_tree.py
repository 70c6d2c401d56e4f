"""An HTML document as a small tree to query, for tests that read what a browser built.

Built with the standard library's :class:`html.parser.HTMLParser`, which
turns character references back into text: a node's :meth:`Node.text` is
what a reader sees, ``<script>`` and all, when the page escaped it.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

import attrs

__all__ = ["Node", "parse_html"]

# Elements that never have an end tag in HTML.
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input"}
    | {"link", "meta", "param", "source", "track", "wbr"}
)


@attrs.define(eq=False)
class Node:
    """An element: its tag, attributes, children, and the text directly inside it."""

    tag: str
    attributes: dict[str, str]
    children: list[Node] = attrs.field(factory=list)
    own_text: list[str] = attrs.field(factory=list)

    def walk(self) -> Iterator[Node]:
        """This node and every node below it, in document order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def all(self, tag: str) -> list[Node]:
        """Every element below (or at) this node with ``tag``."""
        return [node for node in self.walk() if node.tag == tag]

    def by_id(self, element_id: str) -> Node:
        """The element with ``id``; fails the test when there is none."""
        for node in self.walk():
            if node.attributes.get("id") == element_id:
                return node
        raise AssertionError(f"no element with id {element_id!r} in the document")

    def text(self) -> str:
        """All the text inside this element, joined."""
        return "".join(self.own_text) + "".join(child.text() for child in self.children)


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self._open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self._open[-1].children.append(node)
        if tag not in _VOID:
            self._open.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open[-1].children.append(Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._open) - 1, 0, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self._open[-1].own_text.append(data)


def parse_html(text: str) -> Node:
    """The document's tree; its root is a ``#document`` node."""
    builder = _Builder()
    builder.feed(text)
    builder.close()
    return builder.root
