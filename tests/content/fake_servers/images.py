"""Image APIs: Pexels search and OpenAI image generation, serving generated pictures."""

from __future__ import annotations

import base64
import io
import time

from PIL import Image as PillowImage

from tests.content.fake_servers.base import FakeServer

def make_image(size: tuple[int, int], color: tuple[int, int, int], *, format: str = "JPEG") -> bytes:
    """A real encoded image: `color`, with a white square in the middle so crops are visible."""
    image = PillowImage.new("RGB", size, color)
    width, height = size
    box = (width * 2 // 5, height * 2 // 5, width * 3 // 5, height * 3 // 5)
    image.paste((255, 255, 255), box)
    output = io.BytesIO()
    image.save(output, format=format)
    return output.getvalue()


PHOTO_COLORS = [(200, 30, 30), (30, 30, 200), (30, 160, 30)]


class PexelsServer(FakeServer):
    """The Pexels API (`GET /v1/search`) and its image host (`GET /photos/<id>.jpeg`)."""

    def __init__(self, *, photos: int = 3, photo_size: tuple[int, int] = (1600, 1000)):
        super().__init__()
        self.photo_count = photos
        self.photo_size = photo_size

    def photo(self, index: int) -> dict:
        photo_id = 1000 + index
        image = f"{self.url}/photos/{photo_id}.jpeg"
        return {
            "id": photo_id,
            "width": self.photo_size[0],
            "height": self.photo_size[1],
            "url": f"https://www.pexels.com/photo/sample-{photo_id}/",
            "photographer": ["Jane Doe", "John Roe", "Ann Example"][index % 3],
            "photographer_url": f"https://www.pexels.com/@photographer-{index}",
            "photographer_id": index,
            "avg_color": "#C81E1E",
            "src": {
                "original": image, "large2x": f"{image}?w=1880", "large": f"{image}?h=650",
                "medium": f"{image}?h=350", "small": f"{image}?h=130", "landscape": f"{image}?w=1200&h=627",
            },
            "liked": False,
            "alt": f"Sample photo number {index + 1}",
        }

    def handle(self, exchange):
        request = exchange.request
        if request.path == "/v1/search":
            if not request.headers.get("authorization"):
                exchange.respond_json(401, {"error": "Authorization field missing"})
                return
            per_page = int(request.query.get("per_page", ["15"])[0])
            photos = [self.photo(index) for index in range(min(per_page, self.photo_count))]
            body = {"page": 1, "per_page": per_page, "photos": photos, "total_results": len(photos)}
            exchange.respond_json(200, body)
        elif request.path.startswith("/photos/"):
            index = int(request.path.removeprefix("/photos/").removesuffix(".jpeg")) - 1000
            body = make_image(self.photo_size, PHOTO_COLORS[index % len(PHOTO_COLORS)])
            exchange.respond(200, body, content_type="image/jpeg")
        else:
            exchange.respond(404, "Not found")


class OpenAIImagesServer(FakeServer):
    """`POST /v1/images/generations`: the image inline as b64_json (gpt-image-1) or as a URL;
    `item` overrides fields of the answer's image (a hostile server's wrong types)."""

    def __init__(self, *, as_url: bool = False, item: dict | None = None):
        super().__init__()
        self.as_url = as_url
        self.item = item or {}

    def image_for(self, size: str) -> bytes:
        width, height = (int(part) for part in size.split("x"))
        return make_image((width, height), (120, 80, 200), format="PNG")

    def handle(self, exchange):
        request = exchange.request
        if request.method == "POST" and request.path == "/v1/images/generations":
            size = (request.json or {}).get("size", "1024x1024")
            if self.as_url:
                item = {"url": f"{self.url}/files/generated.png?size={size}"}
            else:
                item = {"b64_json": base64.b64encode(self.image_for(size)).decode("ascii")}
            exchange.respond_json(200, {
                "created": int(time.time()),
                "data": [item | self.item],
                "usage": {"input_tokens": 12, "output_tokens": 4160, "total_tokens": 4172,
                          "input_tokens_details": {"text_tokens": 12, "image_tokens": 0}},
            })
        elif request.path == "/files/generated.png":
            exchange.respond(200, self.image_for(request.query["size"][0]), content_type="image/png")
        else:
            exchange.respond_json(404, {"error": {"message": "Not found"}})
