"""Image providers against local servers speaking the Pexels and OpenAI Images protocols.

The servers, image hosts included, listen on 127.0.0.1: image downloads pass the outbound URL
guard like research pages, so these tests allow private addresses unless they test the guard."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image as PillowImage
from PIL import ImageFile

from content.providers.openai_images import OpenAIImageGenerator
from content.providers.pexels import PexelsImageSource
from tasks import url_guard
from tasks.exceptions import PermanentError, TransientError
from tests.content.fake_servers import PHOTO_COLORS, OpenAIImagesServer, PexelsServer

PEXELS_KEY = "pexels-secret-key"
OPENAI_KEY = "sk-images-secret"


def decoded(content: bytes) -> PillowImage.Image:
    image = PillowImage.open(io.BytesIO(content))
    image.load()
    return image


def assert_color_near(pixel, color):
    assert all(abs(got - want) < 20 for got, want in zip(pixel, color)), (pixel, color)


@pytest.fixture(autouse=True)
def image_hosts_on_loopback(allow_private):
    """Every test's image host is on 127.0.0.1 (the guard tests below switch this off again)."""


@pytest.fixture
def pexels(settings, monkeypatch):
    monkeypatch.setenv("PEXELS_API_KEY", PEXELS_KEY)
    with PexelsServer() as server:
        settings.PRESSROOM_PEXELS_URL = f"{server.url}/v1"
        yield server


def featured(**overrides):
    arguments = {
        "title": "Composting at home", "topic": "Home composting", "category": "Garden", "keywords": ("compost",)
    }
    return PexelsImageSource().featured_image(**{**arguments, **overrides})


def test_pexels_picks_the_first_photo_as_a_credited_social_card(pexels):
    image = featured()
    card = decoded(image.content)
    assert (image.content_type, card.format, card.size) == ("image/jpeg", "JPEG", (1200, 630))
    assert (image.width, image.height) == (1200, 630)
    assert_color_near(card.getpixel((20, 20)), PHOTO_COLORS[0])  # the first photo, not the second
    assert image.credit == "Photo by Jane Doe on Pexels"
    assert image.credit_url == "https://www.pexels.com/@photographer-0"
    assert image.source_url == "https://www.pexels.com/photo/sample-1000/"
    assert image.alt == "Sample photo number 1"
    thumbnail = decoded(image.thumbnail)
    assert (thumbnail.format, thumbnail.size) == ("JPEG", (400, 210))


def test_pexels_search_carries_the_key_and_the_download_does_not(pexels):
    featured()
    search, download = pexels.requests
    assert search.path == "/v1/search"
    assert search.headers["authorization"] == PEXELS_KEY
    assert search.query == {"query": ["Home composting"], "orientation": ["landscape"], "per_page": ["5"]}
    assert download.path == "/photos/1000.jpeg" and download.query == {"w": ["1880"]}
    assert "authorization" not in download.headers


def test_pexels_without_key_is_permanent_and_sends_nothing(pexels, monkeypatch):
    monkeypatch.delenv("PEXELS_API_KEY")
    with pytest.raises(PermanentError, match="PEXELS_API_KEY"):
        featured()
    assert pexels.requests == []


def test_pexels_key_with_a_pasted_non_breaking_space_is_permanent_naming_the_variable(pexels, monkeypatch):
    monkeypatch.setenv("PEXELS_API_KEY", "pexels\u00a0secret")
    with pytest.raises(PermanentError, match="PEXELS_API_KEY holds a character an HTTP header cannot carry"):
        featured()
    assert pexels.requests == []


def test_pexels_with_no_results_says_so(settings, monkeypatch):
    monkeypatch.setenv("PEXELS_API_KEY", PEXELS_KEY)
    with PexelsServer(photos=0) as server:
        settings.PRESSROOM_PEXELS_URL = f"{server.url}/v1"
        with pytest.raises(PermanentError, match="Pexels found no photo for 'Home composting / compost'"):
            featured()
    assert [request.query["query"] for request in server.requests] == [["Home composting"], ["compost"]]


def test_pexels_alt_falls_back_to_the_title(pexels, monkeypatch):
    photo = pexels.photo
    monkeypatch.setattr(pexels, "photo", lambda index: {**photo(index), "alt": ""})
    assert featured().alt == "Composting at home"


@pytest.mark.parametrize("fields", [
    {"src": "https://images.pexels.com/photos/1.jpeg"}, {"src": {"large2x": 12345}}, {"alt": 5},
    {"photographer": ["x"]}, {"photographer_url": {"a": 1}}, {"url": ["x"]},
], ids=["src-text", "src-number", "alt-number", "photographer-list", "photographer_url-object", "url-list"])
def test_pexels_photo_fields_of_the_wrong_type_fail_permanently(pexels, monkeypatch, fields):
    photo = pexels.photo
    monkeypatch.setattr(pexels, "photo", lambda index: {**photo(index), **fields})
    with pytest.raises(PermanentError, match=r"^Pexels answered in an unexpected shape: the photo's "):
        featured()


@pytest.fixture
def openai_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)


def test_openai_images_decodes_the_inline_image(settings, openai_key):
    with OpenAIImagesServer() as server:
        settings.PRESSROOM_OPENAI_IMAGES_URL = f"{server.url}/v1"
        generator = OpenAIImageGenerator(output_price_per_million=40)
        image = generator.generate(prompt="A compost heap at dawn", size="1024x1536")
    [request] = server.requests
    assert request.json == {"model": "gpt-image-1", "prompt": "A compost heap at dawn", "size": "1024x1536", "n": 1}
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    picture = decoded(image.content)
    assert (image.content_type, image.width, image.height) == ("image/png", 1024, 1536)
    assert (picture.format, picture.size) == ("PNG", (1024, 1536))
    assert (image.usage.input_tokens, image.usage.output_tokens) == (12, 4160)
    assert image.cost == pytest.approx(4160 * 40 / 1_000_000)
    assert image.alt == "A compost heap at dawn"


def encoded(format: str, size: tuple[int, int] = (64, 64)) -> bytes:
    output = io.BytesIO()
    PillowImage.new("RGB", size, (120, 80, 200)).save(output, format=format)
    return output.getvalue()


@pytest.mark.parametrize("format, content_type", [
    ("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/gif"), ("PNG", "image/png"),
])
def test_openai_images_stores_a_web_image_as_it_came_under_its_own_type(settings, openai_key, monkeypatch,
                                                                         format, content_type):
    with OpenAIImagesServer() as server:
        monkeypatch.setattr(server, "image_for", lambda size: encoded(format))
        settings.PRESSROOM_OPENAI_IMAGES_URL = f"{server.url}/v1"
        image = OpenAIImageGenerator().generate(prompt="A compost heap")
    assert image.content == encoded(format) and image.content_type == content_type


@pytest.mark.parametrize("format", ["TIFF", "BMP", "PCX"])
def test_openai_images_stores_an_image_in_a_format_pages_cannot_show_as_png(settings, openai_key, monkeypatch,
                                                                             format):
    with OpenAIImagesServer() as server:
        monkeypatch.setattr(server, "image_for", lambda size: encoded(format))
        settings.PRESSROOM_OPENAI_IMAGES_URL = f"{server.url}/v1"
        image = OpenAIImageGenerator().generate(prompt="A compost heap")
    picture = decoded(image.content)
    assert (image.content_type, picture.format, picture.size) == ("image/png", "PNG", (64, 64))
    assert_color_near(picture.getpixel((10, 10)), (120, 80, 200))


def test_openai_images_downloads_an_image_given_by_url_without_the_key(settings, openai_key):
    with OpenAIImagesServer(as_url=True) as server:
        settings.PRESSROOM_OPENAI_IMAGES_URL = f"{server.url}/v1"
        image = OpenAIImageGenerator(model="dall-e-3").generate(prompt="A compost heap", size="1024x1024")
    generation, download = server.requests
    assert generation.json["model"] == "dall-e-3"
    assert download.path == "/files/generated.png" and "authorization" not in download.headers
    assert (image.width, image.height, image.content_type) == (1024, 1024, "image/png")
    assert image.source_url.startswith(server.url)


@pytest.mark.parametrize("item", [{"b64_json": 12345}, {"url": 12345}, {"revised_prompt": 7}],
                         ids=["b64_json", "url", "revised_prompt"])
def test_openai_images_fields_of_the_wrong_type_fail_permanently(settings, openai_key, item):
    with OpenAIImagesServer(item=item) as server:
        settings.PRESSROOM_OPENAI_IMAGES_URL = f"{server.url}/v1"
        with pytest.raises(PermanentError, match=rf"^OpenAI Images \(gpt-image-1\) answered in an unexpected "
                                                 rf"shape: the image's {next(iter(item))} is int, not text\.$"):
            OpenAIImageGenerator().generate(prompt="A compost heap")


def test_openai_images_without_key_is_permanent_and_sends_nothing(settings, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with OpenAIImagesServer() as server:
        settings.PRESSROOM_OPENAI_IMAGES_URL = f"{server.url}/v1"
        with pytest.raises(PermanentError, match="OPENAI_API_KEY"):
            OpenAIImageGenerator().generate(prompt="A compost heap")
    assert server.requests == []


# --- Image addresses come from answers: the outbound guard applies ----------------------------


def test_a_pexels_photo_at_an_internal_address_is_refused_unfetched(pexels, settings):
    settings.PRESSROOM_FETCH_ALLOW_PRIVATE = False  # the search API (configured) is still reached
    with pytest.raises(PermanentError, match="127.0.0.1: it is not a public address"):
        featured()
    assert [request.path for request in pexels.requests] == ["/v1/search"]


def test_an_image_redirecting_to_an_internal_address_is_refused(settings, openai_key, monkeypatch):
    settings.PRESSROOM_FETCH_ALLOW_PRIVATE = False
    real = url_guard.is_public_address
    monkeypatch.setattr(url_guard, "is_public_address", lambda address: str(address) == "127.0.0.1" or real(address))

    class RedirectingImages(OpenAIImagesServer):
        def handle(self, exchange):
            if exchange.request.path == "/files/generated.png":
                exchange.respond(302, "", headers={"Location": "http://169.254.169.254/latest/meta-data/"})
            else:
                super().handle(exchange)

    with RedirectingImages(as_url=True) as server:
        settings.PRESSROOM_OPENAI_IMAGES_URL = f"{server.url}/v1"
        with pytest.raises(PermanentError, match="169.254.169.254: it is not a public address"):
            OpenAIImageGenerator().generate(prompt="A compost heap")
    assert [request.path for request in server.requests] == ["/v1/images/generations", "/files/generated.png"]


# --- Keys echoed by a provider never reach an error ---------------------------------------------


class EchoingPexels(PexelsServer):
    """Answers every search with `status` and the key it was sent, as some APIs do."""

    def __init__(self, status: int):
        super().__init__()
        self.status = status

    def handle(self, exchange):
        key = exchange.request.headers.get("authorization", "")
        exchange.respond_json(self.status, {"error": f"Something went wrong with key {key}"})


@pytest.mark.parametrize("status, error", [(401, PermanentError), (500, TransientError)])
def test_pexels_errors_never_hold_the_key_it_echoed(settings, monkeypatch, status, error):
    monkeypatch.setenv("PEXELS_API_KEY", PEXELS_KEY)
    with EchoingPexels(status) as server:
        settings.PRESSROOM_PEXELS_URL = f"{server.url}/v1"
        with pytest.raises(error) as caught:
            featured()
    assert PEXELS_KEY not in str(caught.value) and "***" in str(caught.value)
    assert caught.value.__context__ is None and caught.value.__cause__ is None  # the original is not chained


@pytest.mark.parametrize("status, error", [(401, PermanentError), (503, TransientError)])
def test_openai_images_errors_never_hold_the_key_it_echoed(settings, openai_key, status, error):
    class Echoing(OpenAIImagesServer):
        def handle(self, exchange):
            key = exchange.request.headers.get("authorization", "")
            exchange.respond_json(status, {"error": {"message": f"Incorrect API key provided: {key}"}})

    with Echoing() as server:
        settings.PRESSROOM_OPENAI_IMAGES_URL = f"{server.url}/v1"
        with pytest.raises(error) as caught:
            OpenAIImageGenerator().generate(prompt="A compost heap")
    assert OPENAI_KEY not in str(caught.value) and "***" in str(caught.value)

# Files Pillow identifies, then fails to decode with ValueError rather than OSError.
CORRUPT_IMAGES = {
    "ppm-maxval": b"P6\n2 2\n70000\n" + bytes(24),
    "sgi-mode": struct.pack(">hbbHHHH", 474, 0, 1, 3, 2, 2, 7).ljust(512, b"\0") + bytes(64),
}


@pytest.mark.parametrize("content", CORRUPT_IMAGES.values(), ids=CORRUPT_IMAGES.keys())
def test_openai_images_refuses_a_corrupt_image_permanently(settings, openai_key, monkeypatch, content):
    with OpenAIImagesServer() as server:
        monkeypatch.setattr(server, "image_for", lambda size: content)
        settings.PRESSROOM_OPENAI_IMAGES_URL = f"{server.url}/v1"
        with pytest.raises(PermanentError, match=r"OpenAI Images \(gpt-image-1\) sent something that is not a "
                                                 r"readable image \(ValueError: "):
            OpenAIImageGenerator().generate(prompt="A compost heap")


def test_an_image_of_too_many_pixels_is_refused_before_it_is_decoded(settings, openai_key, monkeypatch):
    # 8000×5001 one-bit pixels: a 6 KB PNG, about 120 MB once decoded to RGB.
    output = io.BytesIO()
    PillowImage.new("1", (8000, 5001)).save(output, format="PNG")
    with OpenAIImagesServer() as server:
        monkeypatch.setattr(server, "image_for", lambda size: output.getvalue())
        settings.PRESSROOM_OPENAI_IMAGES_URL = f"{server.url}/v1"
        monkeypatch.setattr(ImageFile.ImageFile, "load", lambda image: pytest.fail("the pixels were decoded"))
        with pytest.raises(PermanentError, match=r"sent an image of 8000×5001 pixels; more than 40,000,000 pixels "
                                                 "are refused"):
            OpenAIImageGenerator().generate(prompt="A compost heap")


def animated_gif_whose_last_frame_claims(width: int, height: int) -> bytes:
    """Three 10×10 frames, the last one's image descriptor rewritten to `width`×`height`."""
    frames = [PillowImage.new("RGB", (10, 10), (index * 80, 255 - index * 60, 40)) for index in range(3)]
    output = io.BytesIO()
    frames[0].save(output, format="GIF", save_all=True, append_images=frames[1:], duration=[100, 200, 300])
    content = bytearray(output.getvalue())
    last_descriptor = content.rindex(b"!\xf9\x04") + 8  # after the last frame's graphic control extension
    assert content[last_descriptor:last_descriptor + 1] == b","
    content[last_descriptor + 5:last_descriptor + 9] = struct.pack("<HH", width, height)
    return bytes(content)


def test_only_the_first_frame_of_an_animated_image_is_decoded(settings, openai_key, monkeypatch):
    # The frame Pillow reads on opening is checked for size; a later frame is never decoded, so one
    # that claims 30000×30000 pixels costs nothing and the card is made from the first frame.
    with OpenAIImagesServer() as server:
        monkeypatch.setattr(server, "image_for", lambda size: animated_gif_whose_last_frame_claims(30000, 30000))
        settings.PRESSROOM_OPENAI_IMAGES_URL = f"{server.url}/v1"
        image = OpenAIImageGenerator().generate(prompt="A compost heap")
    assert_color_near(decoded(image.content).convert("RGB").getpixel((5, 5)), (0, 255, 40))
