"""Services of `content`: writing versions and the editorial verbs (`content.services.review`)."""

from content.services.versions import next_version_number, version_create

__all__ = ["next_version_number", "version_create"]
