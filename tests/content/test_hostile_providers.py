"""Answers a broken or hostile provider, image host or research page could send, against local
servers: each ends as a named stage error, or is read, within bounded memory and work."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image as PillowImage
from PIL import ImageFile

from content.providers.openai_images import OpenAIImageGenerator
from tasks.exceptions import PermanentError
from tests.content.fake_servers import OpenAIImagesServer

OPENAI_KEY = "sk-images-secret"


@pytest.fixture
def openai_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)


# --- Images whose size cannot be checked before they are decoded --------------------------------


def blank_png(width: int, height: int) -> bytes:
    """A PNG of `width`×`height` transparent RGBA pixels, built row by row: a few hundred kilobytes
    for a picture of hundreds of megabytes."""
    row = b"\x00" + bytes(4 * width)  # filter byte, then the pixels
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def icon_holding(png: bytes) -> bytes:
    """An ICO file whose one entry claims 256×256 pixels (a 0 in the directory) and holds `png`."""
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 22) + png


def test_an_icon_is_refused_without_decoding_the_picture_it_holds(settings, openai_key, monkeypatch):
    # Pillow decodes an icon's picture while opening it, whatever size its directory claims: this
    # 9000×9000 one (315 KB; under Pillow's own bomb warning) took 400 MB before the pixel check
    # refused it, a 13000×13000 one (657 KB) 750 MB.
    with OpenAIImagesServer() as server:
        monkeypatch.setattr(server, "image_for", lambda size: icon_holding(blank_png(9000, 9000)))
        settings.PRESSROOM_OPENAI_IMAGES_URL = f"{server.url}/v1"
        monkeypatch.setattr(ImageFile.ImageFile, "load", lambda image: pytest.fail("the pixels were decoded"))
        with pytest.raises(PermanentError, match=r"sent something that is not a readable image: it is in no format "
                                                 r"read here \(EPS, ICNS, ICO files are refused\)"):
            OpenAIImageGenerator().generate(prompt="A compost heap")


def test_an_eps_file_is_never_handed_to_ghostscript(settings, openai_key, monkeypatch):
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nshowpage\n"
    with OpenAIImagesServer() as server:
        monkeypatch.setattr(server, "image_for", lambda size: eps)
        settings.PRESSROOM_OPENAI_IMAGES_URL = f"{server.url}/v1"
        with pytest.raises(PermanentError, match="it is in no format read here"):
            OpenAIImageGenerator().generate(prompt="A compost heap")


def test_an_image_in_a_format_read_here_is_still_opened(settings, openai_key, monkeypatch):
    output = io.BytesIO()
    PillowImage.new("RGB", (64, 48), (10, 200, 30)).save(output, format="TIFF")
    with OpenAIImagesServer() as server:
        monkeypatch.setattr(server, "image_for", lambda size: output.getvalue())
        settings.PRESSROOM_OPENAI_IMAGES_URL = f"{server.url}/v1"
        image = OpenAIImageGenerator().generate(prompt="A compost heap")
    assert (image.content_type, image.width, image.height) == ("image/png", 64, 48)


# --- Research pages whose markup costs more to read than its size ---------------------------------


class CountedTag(str):
    """A tag name that counts the comparisons made with it."""

    comparisons = 0

    def __eq__(self, other):
        CountedTag.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_stray_end_tags_are_not_compared_with_every_skipped_element_still_open(monkeypatch):
    # Each `</x>` was searched for in the stack of open `<nav>`s: 220,000 of each, a 2 MB page (the
    # size cap), were fifty billion comparisons, minutes of CPU in the worker (65 s at 720 kB).
    from content.providers import fetcher

    start, end = fetcher._PageText.handle_starttag, fetcher._PageText.handle_endtag
    monkeypatch.setattr(fetcher._PageText, "handle_starttag",
                        lambda self, tag, attrs: start(self, CountedTag(tag), attrs))
    monkeypatch.setattr(fetcher._PageText, "handle_endtag", lambda self, tag: end(self, CountedTag(tag)))
    monkeypatch.setattr(CountedTag, "comparisons", 0)
    tags = 2000

    title, paragraphs = fetcher.extract_html("<p>The one paragraph of the page.</p>" + "<nav>" * tags + "</x>" * tags)

    assert paragraphs == ("The one paragraph of the page.",)
    assert CountedTag.comparisons < 10 * tags


def test_a_skipped_element_closes_the_ones_opened_inside_it():
    from content.providers.fetcher import extract_html

    page = "<p>Before.</p><nav><svg><form><p>Hidden.</p></nav><p>After.</p><aside><nav></aside><p>Last.</p>"
    assert extract_html(page)[1] == ("Before.", "After.", "Last.")
