"""Which provider serves a catalog entry, the featured images, generated images and research."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from content.providers.base import (
    AnswerListener,
    ImageGenerator,
    ImageSource,
    ResearchSource,
    TextModel,
    no_listener,
)
from tasks.exceptions import PermanentError
from tasks.models import ModelCatalogEntry, Provider


def text_model_for(entry: ModelCatalogEntry, *, listener: AnswerListener = no_listener) -> TextModel:
    """The text model of `entry`; `listener` hears about the answers it receives and rejects."""
    if entry.provider == Provider.OFFLINE:
        from content.providers.offline.writer import OfflineTextModel

        return OfflineTextModel()
    if entry.provider == Provider.OPENAI_COMPATIBLE:
        from content.providers.openai_compatible import OpenAICompatibleModel

        return OpenAICompatibleModel(entry, listener=listener)
    if entry.provider == Provider.ANTHROPIC:
        from content.providers.anthropic import AnthropicModel

        return AnthropicModel(entry, listener=listener)
    raise PermanentError(f"No text provider for {entry.provider!r} (model {entry.key}).")


def image_source() -> ImageSource:
    name = settings.PRESSROOM_IMAGE_PROVIDER
    if name == "offline":
        from content.providers.offline_image import OfflineImageSource

        return OfflineImageSource()
    if name == "pexels":
        from content.providers.pexels import PexelsImageSource

        return PexelsImageSource()
    raise PermanentError(f"Unknown image provider {name!r}; set PRESSROOM_IMAGE_PROVIDER to offline or pexels.")


def image_generator_name(entry: ModelCatalogEntry | None = None) -> str:
    """Which generator an image task run on `entry` uses: a task on the offline model stays offline
    (no key, no network), whatever `PRESSROOM_IMAGE_GENERATOR` names for the other models."""
    if entry is not None and entry.provider == Provider.OFFLINE:
        return "offline"
    return settings.PRESSROOM_IMAGE_GENERATOR


def image_generator(entry: ModelCatalogEntry | None = None) -> ImageGenerator:
    name = image_generator_name(entry)
    if name == "offline":
        from content.providers.offline_image import OfflineImageGenerator

        return OfflineImageGenerator()
    if name == "openai_images":
        from content.providers.openai_images import OpenAIImageGenerator

        return OpenAIImageGenerator()
    raise PermanentError(f"Unknown image generator {name!r}; set PRESSROOM_IMAGE_GENERATOR to offline or openai_images.")


def research_sources() -> list[ResearchSource]:
    return [import_string(path)() for path in settings.PRESSROOM_RESEARCH_SOURCES]
