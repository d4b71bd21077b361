"""Models of the `publishing` app, re-exported here."""

from publishing.models.posts import Category, Post, PostQuerySet, Tag

__all__ = ["Category", "Post", "PostQuerySet", "Tag"]
