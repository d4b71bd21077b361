"""The model catalog: which text models a brief may name, where they live and what they cost.

It lives in `tasks` because a brief names a model. It stores the *name* of the environment
variable that holds a provider's API key, never the key itself, and only names that look like
an API key variable, so a catalog edit cannot point a provider at the app's own secrets. A base
URL, when given, is an absolute http(s) URL, and an OpenAI-compatible entry must have one (there
is no default server to fall back on, unlike Anthropic's): a misconfigured entry is refused here
(`clean()`, so the admin form too) and by the database, instead of failing every task that runs.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator, URLValidator
from django.db import models

API_KEY_ENV_PATTERN = r"^[A-Z][A-Z0-9_]*_(API_KEY|TOKEN)$"
# What the database checks of a base URL; `URLValidator` checks the rest (a host, no spaces...).
BASE_URL_PATTERN = r"^https?://[^/?#\s]+"


def base_url_problem(url: str) -> str:
    """Why `url` cannot be the root of a provider's API ("" when it can): the one rule the catalog
    form and the providers apply before any request. An absolute http(s) URL with a host, a port
    in range and no spaces."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when out of range
    except ValueError as error:
        return f"it is not a valid URL ({error})"
    if not parts.scheme:
        return "it has no http:// or https:// scheme"
    if parts.scheme not in ("http", "https"):
        return f"its scheme {parts.scheme!r} is not http or https"
    if not parts.hostname:
        return "it names no host"
    if any(character.isspace() for character in url):
        return "it contains spaces"
    return ""


class Provider(models.TextChoices):
    OFFLINE = "offline", "Offline (built in)"
    OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible (Chat Completions)"
    ANTHROPIC = "anthropic", "Anthropic (Messages API)"


class ModelCatalogEntryQuerySet(models.QuerySet):
    def enabled(self):
        return self.filter(enabled=True)


class ModelCatalogEntry(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.SlugField(max_length=64, unique=True, help_text="What a brief names, e.g. `gpt-4o-mini`.")
    display_name = models.CharField(max_length=120)
    provider = models.CharField(max_length=32, choices=Provider.choices)
    provider_model_id = models.CharField(
        max_length=200, blank=True, help_text="The provider's own model name, e.g. `gpt-4o-mini`."
    )
    base_url = models.URLField(
        max_length=300, blank=True, validators=[URLValidator(schemes=["http", "https"])],
        help_text="API root, e.g. `https://api.openai.com/v1` or Ollama's `/v1`. Required for OpenAI-compatible "
                  "models; empty for Anthropic means `https://api.anthropic.com`.",
    )
    api_key_env = models.CharField(
        "API key variable",
        max_length=64,
        blank=True,
        validators=[RegexValidator(API_KEY_ENV_PATTERN, "Name an environment variable ending in _API_KEY or _TOKEN.")],
        help_text="Name of the environment variable holding the key (never the key). Empty: no key needed.",
    )
    input_price_per_million = models.DecimalField(
        max_digits=10, decimal_places=4, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))],
        help_text="USD per million input tokens.",
    )
    output_price_per_million = models.DecimalField(
        max_digits=10, decimal_places=4, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))],
        help_text="USD per million output tokens.",
    )
    context_window = models.PositiveIntegerField(default=8192, validators=[MinValueValidator(1)])
    enabled = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False, help_text="Used when a brief names no model.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ModelCatalogEntryQuerySet.as_manager()

    class Meta:
        ordering = ["display_name"]
        verbose_name = "model catalog entry"
        verbose_name_plural = "model catalog entries"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(provider__in=Provider.values), name="catalog_provider_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(input_price_per_million__gte=0, output_price_per_million__gte=0),
                name="catalog_prices_not_negative",
            ),
            models.CheckConstraint(condition=models.Q(context_window__gte=1), name="catalog_context_window_positive"),
            models.CheckConstraint(
                condition=models.Q(api_key_env="") | models.Q(api_key_env__regex=API_KEY_ENV_PATTERN),
                name="catalog_api_key_env_is_a_key_variable_name",
            ),
            models.CheckConstraint(
                condition=models.Q(base_url="") | models.Q(base_url__regex=BASE_URL_PATTERN),
                name="catalog_base_url_is_http",
            ),
            models.CheckConstraint(
                condition=~models.Q(provider="openai_compatible", base_url=""),
                name="catalog_openai_compatible_has_base_url",
            ),
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="catalog_one_default"
            ),
            models.CheckConstraint(
                condition=models.Q(is_default=False) | models.Q(enabled=True), name="catalog_default_is_enabled"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} · {self.key}"  # the key is what the API takes

    def clean(self) -> None:
        super().clean()
        if self.provider == Provider.OPENAI_COMPATIBLE and not self.base_url.strip():
            raise ValidationError({"base_url": "An OpenAI-compatible model needs the API root of its server, "
                                               "e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1."})
        problem = base_url_problem(self.base_url) if self.base_url else ""
        if problem:
            raise ValidationError({"base_url": f"This base URL cannot be used: {problem}."})

    def cost_of(self, *, input_tokens: int, output_tokens: int) -> Decimal:
        """USD cost of a call with these token counts, at this entry's list prices."""
        million = Decimal(1_000_000)
        return (
            Decimal(input_tokens) * self.input_price_per_million / million
            + Decimal(output_tokens) * self.output_price_per_million / million
        )
