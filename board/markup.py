"""Posts' Markdown as safe HTML: what is rendered, what the sanitiser lets through, and images,
which cannot be shown (the CSP loads none from elsewhere and posts have no uploads)."""

import re
import xml.etree.ElementTree as etree

import markdown
import nh3
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

# Everything nh3 allows by default (tables among them, th/td with align) but images and image
# maps: an <img> would only be a broken picture under the CSP.
TAGS = (nh3.ALLOWED_TAGS - {"img", "map", "area"}) | {"table", "thead", "tbody", "tr", "th", "td"}

# Markdown images in the source, and raw HTML ones: ![alt](url "title"), ![alt][ref], <img ...>.
_INLINE_IMAGE = re.compile(r"!\[([^\]\n]*)\]\(\s*<?([^)\s>]*)>?([^)\n]*)\)")
_REFERENCE_IMAGE = re.compile(r"!\[([^\]\n]*)\]\s?\[")
_RAW_IMAGE = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
# Code is left as written: an image there is an example of Markdown, not a picture.
_CODE = re.compile(r"(```[\s\S]*?(?:```|$)|~~~[\s\S]*?(?:~~~|$)|`[^`\n]*`)")
_ATTRIBUTE = re.compile(r"""\b(src|alt)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)


class _ImagesAsLinks(Treeprocessor):
    """A Markdown image that reaches the page anyway (written before images were refused) is a
    link to it, its alt text the words."""

    def run(self, root: etree.Element) -> None:
        for element in root.iter("img"):
            src, alt = element.get("src", ""), element.get("alt", "")
            element.tag = "a"
            element.attrib.clear()
            if src:
                element.set("href", src)
            element.text = alt or src


class _Images(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.treeprocessors.register(_ImagesAsLinks(md), "images_as_links", 0)


def render_markdown(text: str) -> str:
    """``text`` as sanitised HTML; each table in a ``.table-wrap`` so that a wide one scrolls
    inside itself on a phone instead of widening the page."""
    html = markdown.markdown(
        text,
        extensions=["fenced_code", "tables", _Images()],
        # align="right", not style="text-align: right": the CSP allows no inline style.
        extension_configs={"tables": {"use_align_attribute": True}},
    )
    clean = nh3.clean(html, tags=TAGS)
    # The sanitiser's output is well-formed and escapes any "<table>" typed as text.
    return clean.replace("<table>", '<div class="table-wrap"><table>').replace(
        "</table>", "</table></div>"
    )


def without_images(text: str) -> tuple[str, int]:
    """``text`` with each image turned into a link to it (or its alt text when it has no
    address), and how many there were."""
    count = 0

    def inline(match: re.Match) -> str:
        nonlocal count
        count += 1
        alt, url, rest = match.groups()
        return f"[{alt or url}]({url}{rest})" if url else alt

    def reference(match: re.Match) -> str:
        nonlocal count
        count += 1
        return f"[{match.group(1)}]["

    def raw(match: re.Match) -> str:
        nonlocal count
        count += 1
        found = {k.lower(): v.strip("\"'") for k, v in _ATTRIBUTE.findall(match.group(0))}
        src, alt = found.get("src", ""), found.get("alt", "")
        return f"[{alt or src}]({src})" if src else alt

    pieces = _CODE.split(text)  # code at the odd places
    for n in range(0, len(pieces), 2):
        piece = _INLINE_IMAGE.sub(inline, pieces[n])
        piece = _REFERENCE_IMAGE.sub(reference, piece)
        pieces[n] = _RAW_IMAGE.sub(raw, piece)
    return "".join(pieces), count
