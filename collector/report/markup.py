"""Building HTML and SVG with every piece of text escaped unless it is already markup.

App names, SKUs, people and evidence come from vendor data: a SKU called ``<script>`` must print as
text. Each element is built with :func:`element`, which escapes plain strings (children and
attribute values) and passes :class:`Markup` through, so escaping cannot be forgotten at a call site.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

# Elements written as <tag/> when they have no children: HTML void elements and SVG shapes.
SELF_CLOSING = frozenset(
    {
        "meta",
        "br",
        "hr",
        "img",
        "col",
        "link",
        "rect",
        "line",
        "circle",
        "path",
        "polygon",
        "polyline",
        "stop",
    }
)


class Markup(str):
    """Text that is already HTML or SVG: never escaped again."""

    __slots__ = ()


Child = str | int | Markup | None


def escape(value: object) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=True))


def join(parts: Iterable[Child]) -> Markup:
    return Markup("".join(escape(p) for p in parts if p is not None))


def _attribute_name(name: str) -> str:
    """``class_`` is ``class``, ``aria_label`` is ``aria-label``; ``viewBox`` keeps its case."""
    return name.rstrip("_").replace("_", "-")


def attributes(attrs: dict[str, object]) -> str:
    out = []
    for name, value in attrs.items():
        if value is None or value is False:
            continue
        key = _attribute_name(name)
        if value is True:
            out.append(f" {key}")
        else:
            if isinstance(value, float):
                value = f"{value:.1f}".removesuffix(".0")
            out.append(f' {key}="{escape(value)}"')
    return "".join(out)


def element(tag: str, *children: Child, **attrs: object) -> Markup:
    content = join(children)
    if not content and tag in SELF_CLOSING:
        return Markup(f"<{tag}{attributes(attrs)}/>")
    return Markup(f"<{tag}{attributes(attrs)}>{content}</{tag}>")
