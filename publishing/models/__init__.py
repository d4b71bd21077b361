"""Models of the `publishing` app, re-exported here."""

from publishing.models.posts import Category, Post, PostChange, PostChangeKind, PostQuerySet, Tag

__all__ = ["Category", "Post", "PostChange", "PostChangeKind", "PostQuerySet", "Tag"]
