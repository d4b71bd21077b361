"""Answers a broken or hostile provider, image host or research page could send, against local
servers: each ends as a named stage error, or is read, within bounded memory and work."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image as PillowImage
from PIL import ImageFile

from content.providers.base import Outline
from content.providers.chat import clean_article, parse_outline
from content.providers.fetcher import fetch_page
from content.providers.openai_images import OpenAIImageGenerator
from tasks.exceptions import PermanentError
from tests.content.fake_servers import OpenAIImagesServer, Page, Raw, SearxngServer
from tests.content.test_providers_chat import (
    BRIEF,
    KEY_VARIABLE,
    OUTLINE,
    RESEARCH,
    SECRET,
    make_model,
    provider,  # noqa: F401  (fixtures: each test runs against both wire protocols)
    server,  # noqa: F401
)

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


# --- Model answers that are long runs of one character ---------------------------------------------
# A model that degenerates repeats one character, often a space or a newline, up to its token
# limit: the answer to the longest brief (10,000 words) may hold 300,000 characters. The patterns
# that read answers tried such a run in every way they could split it: minutes of worker CPU.


def test_an_answer_opening_a_fence_before_a_long_run_of_blank_lines_is_read():
    # About 13 minutes of CPU before (14 s at 40,000 characters).
    answer = "```\n" + " \n" * 150_000 + "# Composting at home\n\nTurn the heap weekly."
    assert clean_article(answer, title="Fallback") == "# Composting at home\n\nTurn the heap weekly.\n"


def test_an_answer_of_fences_that_never_close_after_a_preamble_is_read_from_its_first_title():
    # Every opening fence was read to the end of the answer looking for a closing one: 22,000 of
    # them, 286,000 characters, took 32 s.
    answer = "Here is the article:\n" + "```md\n# Draft\n" * 22_000
    assert clean_article(answer, title="Fallback") == "# Draft" + "\n```md\n# Draft" * 21_999 + "\n"


def test_a_fenced_article_after_a_preamble_keeps_the_code_blocks_inside_it():
    answer = ("Here is the article:\n```markdown\n# Composting at home\n\nRun this:\n\n```sh\nturn --weekly\n```\n\n"
              "## Conclusion\n\nStart today.\n```\nHope this helps!")
    assert clean_article(answer, title="Fallback") == (
        "# Composting at home\n\nRun this:\n\n```sh\nturn --weekly\n```\n\n## Conclusion\n\nStart today.\n")


def test_an_outline_whose_lines_hold_long_runs_of_spaces_is_read():
    # A heading or list item line was matched in every way its spaces could be split: 120 s for a
    # heading line of 100,000 characters, about 25 minutes at 300,000. (`_title_of`, which finds a
    # revised article's title, reads its lines the same way.)
    spaces = " " * 300_000
    answer = f"# Composting{spaces}at home\n\n- Greens{spaces}and browns\n- Turning the heap ##\n"
    outline = parse_outline(answer, fallback_title="Fallback", provider="Test model")
    # A title's and a section's whitespace is one space, as split_title's.
    assert outline == Outline(title="Composting at home", sections=("Greens and browns", "Turning the heap ##"))


def test_a_heading_loses_its_closing_hashes_and_keeps_a_hash_ending_a_word():
    answer = "# Composting at home #\n## Greens and browns ##   \n## C# for gardeners\n###### Turning\n####### Not one"
    outline = parse_outline(answer, fallback_title="Fallback", provider="Test model")
    assert outline == Outline(title="Composting at home",
                              sections=("Greens and browns", "C# for gardeners", "Turning"))


@pytest.mark.parametrize("declared", ["utf-16", "UTF-16LE", "utf_16be", "utf-32", "utf-7"])
def test_a_page_whose_meta_tag_claims_a_charset_it_cannot_be_in_is_read_as_utf8(pages, allow_private, declared):
    # Decoded as declared, the page was noise ("格浴㹬格慥㹤…") quoted as the source.
    body = (f'<html><head><meta charset="{declared}"><title>Caf\u00e9 notes</title></head><body>'
            "<p>Compost needs air \u2014 turn it weekly; C++ and A+B stay as written.</p></body></html>").encode()
    page = fetch_page(pages.add("/meta-lie", Page(body=body, content_type="text/html")))
    assert (page.title, page.paragraphs) == (
        "Caf\u00e9 notes", ("Compost needs air \u2014 turn it weekly; C++ and A+B stay as written.",))


def test_a_charset_sent_in_the_header_is_still_honoured(pages, allow_private):
    body = "<html><title>Notes</title><p>Compost needs air.</p></html>".encode("utf-16")
    page = fetch_page(pages.add("/utf-16", Page(body=body, content_type="text/html; charset=utf-16")))
    assert (page.title, page.paragraphs) == ("Notes", ("Compost needs air.",))


def test_an_empty_image_is_refused_saying_it_is_empty(settings, openai_key, monkeypatch, allow_private):
    with OpenAIImagesServer(as_url=True) as server:
        monkeypatch.setattr(server, "image_for", lambda size: b"")
        settings.PRESSROOM_OPENAI_IMAGES_URL = f"{server.url}/v1"
        with pytest.raises(PermanentError, match=r"^OpenAI Images \(gpt-image-1\) sent an empty image \(no bytes"):
            OpenAIImageGenerator().generate(prompt="A compost heap")



# --- Redirects from a provider's API ----------------------------------------------------------------


def test_a_redirect_to_an_address_that_cannot_be_read_fails_permanently_like_any_redirect(provider, server,
                                                                                           monkeypatch):
    # A Location holding a control character was "Could not reach …" and transient: the call was
    # tried again, and the task, every time. Any other redirect is "answered HTTP 302", permanent.
    monkeypatch.setenv(KEY_VARIABLE, SECRET)
    server.script(Raw(302, b"", headers={"Location": "http://api.example/\x01v1"}))
    with pytest.raises(PermanentError, match=r"^[^(]+\(Test model\) answered with a redirect to an address that "
                                             r"cannot be read: Invalid URL in location header"):
        make_model(provider, server).write(BRIEF, RESEARCH, OUTLINE)
    assert len(server.requests) == 1


# --- Search results -------------------------------------------------------------------------------


def test_a_search_result_title_is_cut_and_a_result_with_an_overlong_url_skipped(settings):
    # Both went into the stored sources as they came, and the title into every prompt.
    from content.providers.searxng import SearxngSource

    odd = [{"url": "https://example.org/long", "title": "Compost " * 200_000, "content": "Turn it."},
           {"url": "https://example.org/" + "a" * 5000, "title": "Overlong address", "content": "x"}]
    with SearxngServer(results=1, odd_results=odd) as server:
        settings.PRESSROOM_SEARXNG_URL = server.url
        sources = SearxngSource().gather(brief=BRIEF, inputs={})
    assert [source.url for source in sources] == ["https://example.org/long", "https://example.org/result-1"]
    assert sources[0].title == ("Compost " * 25).strip() + "…"
