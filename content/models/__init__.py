"""Models of the `content` app, one module per concern, re-exported here."""

from content.models.review import ApprovalEvent, Decision, ReasonCode
from content.models.versions import ContentVersion, VersionPhase

__all__ = ["ApprovalEvent", "ContentVersion", "Decision", "ReasonCode", "VersionPhase"]
