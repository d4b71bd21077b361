"""Assert that HTML is inert: parsed as a browser would, nothing in it can run script."""

from __future__ import annotations

from html.parser import HTMLParser

SCRIPTABLE_TAGS = {"script", "iframe", "object", "embed", "style", "form", "svg", "math", "base", "meta", "link"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcset"}


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {name: value or "" for name, value in attrs}))

    handle_startendtag = handle_starttag


def elements(html: str) -> list[tuple[str, dict[str, str]]]:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.elements


def assert_inert(html: str) -> None:
    for tag, attributes in elements(html):
        assert tag not in SCRIPTABLE_TAGS, f"<{tag}> survived sanitizing"
        for name, value in attributes.items():
            assert not name.startswith("on"), f"event handler {name} on <{tag}>"
            if name in URL_ATTRIBUTES:
                scheme = value.strip().lower().replace("\t", "").replace("\n", "").split(":", 1)[0]
                assert ":" not in value or scheme in {"http", "https", "mailto"}, f"{name}={value!r} on <{tag}>"
