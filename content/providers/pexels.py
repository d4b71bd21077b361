"""Featured images from Pexels: search, take the first landscape photo, crop it to a social card.

The key (PEXELS_API_KEY) goes only to the search API, never to the image host. The photo is
cropped from its centre to 1200×630 and a 400×210 thumbnail, both JPEG, with the credit line
Pexels asks for. When Pexels has nothing, this source says so (a permanent error); falling back
to another image source is the caller's decision.
"""

from __future__ import annotations

import functools
import io

import httpx
from django.conf import settings
from PIL import Image as PillowImage
from PIL import ImageOps

from content.providers import http
from content.providers.fetcher import guarded_get
from content.providers.base import (
    Image,
    ImageSource,
    StopCheck,
    api_key_from_environment,
    key_kept_out_of_errors,
    no_stop_check,
)
from tasks.exceptions import PermanentError
from tasks.metrics import observe_provider_call
from tasks.validators import storable_text

KEY_VARIABLE = "PEXELS_API_KEY"
CARD_SIZE = (1200, 630)
THUMBNAIL_SIZE = (400, 210)
JPEG_QUALITY = 85
MAX_IMAGE_BYTES = 25_000_000  # large2x photos are well under this; anything bigger is not a photo we want
MAX_IMAGE_PIXELS = 40_000_000  # large2x photos and generated images are a few million; ~160 MB as RGBA
RESULTS_PER_QUERY = 5
IMAGE_USER_AGENT = "Pressroom-Images/1.0 (downloads the featured image a provider chose)"
# Formats Pillow reads that are refused all the same. An icon (ICO, ICNS) is a directory that
# claims a size of at most 256×256 (1024×1024) pixels in front of a PNG of any size, which Pillow
# decodes on opening (ICO) or on loading (ICNS) whatever the directory said: a 657 KB icon holding a
# 13000×13000 PNG took 750 MB before the pixel check below could refuse it. EPS is decoded by
# running Ghostscript, another program, on the file.
REFUSED_FORMATS = frozenset({"ICO", "ICNS", "EPS"})


@functools.cache
def _opened_formats() -> tuple[str, ...]:
    """Every format Pillow reads but REFUSED_FORMATS, for `PIL.Image.open(formats=...)`."""
    PillowImage.init()
    return tuple(sorted(set(PillowImage.ID) - REFUSED_FORMATS))


def download_image(url: str, *, provider: str, stop: StopCheck) -> bytes:
    """The bytes at `url`, at most MAX_IMAGE_BYTES. The address comes from a provider's answer, so
    it is fetched as a research page is (`fetcher.guarded_get`): only public addresses, on every
    redirect too (image hosts are CDNs that redirect), within twice PRESSROOM_FETCH_TIMEOUT_SECONDS.
    The provider's key is never sent there."""
    buffer = bytearray()
    with guarded_get(url, headers={"User-Agent": IMAGE_USER_AGENT, "Accept": "image/*"}, stop=stop) as (response, _):
        http.raise_for_status(response, provider=provider)
        for chunk in http.decoded_chunks(response, source=url):
            stop()
            buffer += chunk
            if len(buffer) > MAX_IMAGE_BYTES:
                raise PermanentError(f"{provider} served an image larger than {MAX_IMAGE_BYTES} bytes: {url}")
    return bytes(buffer)


def open_image(content: bytes, *, provider: str) -> PillowImage.Image:
    """The picture in `content`, decoded, if it is a readable image of at most MAX_IMAGE_PIXELS.

    The size is checked from the header, before the pixels are decoded: Pillow only refuses
    images above about 179 million pixels, and a 13000×13000 PNG of a few kilobytes costs
    about 1 GB once loaded. Pillow's decoders fail in many ways on a corrupt file (ValueError,
    SyntaxError, struct.error, EOFError...), all of which mean the same here. The picture is
    turned upright as its EXIF orientation says, in place, so that it keeps its `format` (a
    transposed copy has none). A file in one of REFUSED_FORMATS is not opened at all."""
    if not content:
        raise PermanentError(f"{provider} sent an empty image (no bytes at all).")
    try:
        image = PillowImage.open(io.BytesIO(content), formats=_opened_formats())
        width, height = image.size
        if width * height > MAX_IMAGE_PIXELS:
            raise PermanentError(f"{provider} sent an image of {width}×{height} pixels; more than "
                                 f"{MAX_IMAGE_PIXELS:,} pixels are refused.")
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
        return image
    except PermanentError:
        raise
    except PillowImage.UnidentifiedImageError:
        raise PermanentError(f"{provider} sent something that is not a readable image: it is in no format read "
                             f"here ({', '.join(sorted(REFUSED_FORMATS))} files are refused).") from None
    except Exception as error:  # noqa: BLE001 - see the docstring
        raise PermanentError(f"{provider} sent something that is not a readable image "
                             f"({type(error).__name__}: {error}).") from None


def encode_jpeg(image: PillowImage.Image, size: tuple[int, int]) -> bytes:
    """`image` cropped from its centre and scaled to exactly `size`, as a progressive JPEG."""
    fitted = ImageOps.fit(image.convert("RGB"), size, method=PillowImage.Resampling.LANCZOS)
    output = io.BytesIO()
    fitted.save(output, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return output.getvalue()


class PexelsImageSource(ImageSource):
    name = "pexels"

    def __init__(self, *, base_url: str | None = None, timeout: httpx.Timeout | float | None = None):
        self.base_url = (base_url or settings.PRESSROOM_PEXELS_URL).rstrip("/")
        self.timeout = timeout if timeout is not None else http.DEFAULT_TIMEOUT

    @key_kept_out_of_errors(KEY_VARIABLE)
    def featured_image(
        self, *, title: str, topic: str, category: str, keywords: tuple[str, ...], stop: StopCheck = no_stop_check
    ) -> Image:
        key = api_key_from_environment(KEY_VARIABLE)
        stop()
        queries = _queries(title=title, topic=topic, category=category, keywords=keywords)
        try:
            with observe_provider_call("pexels"), http.client(timeout=self.timeout) as client:
                photo = None
                for query in queries:
                    photo = self._first_photo(client, query, key=key)
                    stop()
                    if photo:
                        break
                if photo is None:
                    raise PermanentError(f"Pexels found no photo for {' / '.join(queries) or 'an empty query'!r}.")
                src = photo.get("src") or {}
                if not isinstance(src, dict):
                    raise http.unexpected_shape("Pexels", f"the photo's src is {type(src).__name__}, not an object")
                url = src.get("large2x") or src.get("landscape") or src.get("large") or src.get("original")
                url = http.text_field(url, provider="Pexels", what="the photo's download address")
                if not url:
                    raise PermanentError(f"Pexels listed photo {str(photo.get('id'))[:40]} without a download "
                                         "address.")
                credit = {name: storable_text(http.text_field(photo.get(name), provider="Pexels",
                                                              what=f"the photo's {name}")).strip()
                          for name in ("alt", "photographer", "photographer_url", "url")}
                content = download_image(url, provider="Pexels", stop=stop)
        except httpx.HTTPError as error:
            raise http.transport_error(error, provider="Pexels") from error
        picture = open_image(content, provider="Pexels")
        photographer = credit["photographer"]
        return Image(
            content=encode_jpeg(picture, CARD_SIZE),
            content_type="image/jpeg",
            width=CARD_SIZE[0],
            height=CARD_SIZE[1],
            alt=credit["alt"] or title or topic,
            credit=f"Photo by {photographer} on Pexels" if photographer else "Photo from Pexels",
            credit_url=credit["photographer_url"],
            source_url=credit["url"],
            thumbnail=encode_jpeg(picture, THUMBNAIL_SIZE),
        )

    def _first_photo(self, client: httpx.Client, query: str, *, key: str) -> dict | None:
        text = http.request_answer(
            client, "GET", f"{self.base_url}/search",
            params={"query": query, "orientation": "landscape", "per_page": RESULTS_PER_QUERY},
            headers={"Authorization": key}, provider="Pexels", key_variable=KEY_VARIABLE,
        )
        body = http.parse_json(text, provider="Pexels")
        photos = body.get("photos") if isinstance(body, dict) else None
        if not isinstance(photos, list):
            raise PermanentError(f"Pexels answered a search without a photo list: {text[:120]!r}")
        return next((photo for photo in photos if isinstance(photo, dict)), None)


def _queries(*, title: str, topic: str, category: str, keywords: tuple[str, ...]) -> list[str]:
    """The topic first (it says what the piece is about); then, as a broader second try, the
    first keyword or the category. Stock search works best with short queries."""
    candidates = [topic or title, next((keyword for keyword in keywords if keyword), "") or category]
    queries = []
    for candidate in candidates:
        candidate = " ".join(candidate.split())[:100]
        if candidate and candidate.lower() not in (query.lower() for query in queries):
            queries.append(candidate)
    return queries
