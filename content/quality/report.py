"""What the rubric hands back: one `Check` per measure and the `QualityReport` that holds them.

Plain data, imported by every check module and by the pipeline; it imports nothing of ours.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Check:
    name: str
    points: float
    max_points: int
    findings: list[str] = field(default_factory=list)  # what to fix, in words, for people and chat prompts
    details: dict = field(default_factory=dict)  # what the check measured, for revisions and display


@dataclass
class QualityReport:
    score: int
    word_count: int
    word_range: tuple[int, int]
    within_tolerance: bool
    checks: list[Check]
    readability: float
    average_sentence_length: float
    keyword_density: float | None
    critique: str = ""

    @property
    def findings(self) -> list[str]:
        return [finding for check in self.checks for finding in check.findings]

    @property
    def leaked(self) -> bool:
        """Writer-addressed text or the editor's private notes reached the article: a hard failure."""
        return any(check.name == "leakage" and check.details.get("leaks") for check in self.checks)

    def check(self, name: str) -> Check:
        return next(check for check in self.checks if check.name == name)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["word_range"] = list(self.word_range)
        data["findings"] = self.findings
        data["leaked"] = self.leaked
        return data
