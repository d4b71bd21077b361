"""The labelled set the QA rubric is calibrated on (`tests/data/quality/`), and the pieces derived
from it.

Each brief in `briefs/` (the brief, the editor's pasted notes, the public sources) has an
on-topic article in `on_topic/`; some have a hand-written filler article in `filler/`. From these
come five labels:

- `on_topic`: each article under its own brief and material;
- `mismatched`: each article under every other brief and that brief's material;
- `filler`: fluent, on-length pieces that say nothing about their topic, under their brief;
- `shuffled`: an on-topic article with its sentences shuffled across sections (seeded);
- `truncated`: the first quarter of an on-topic article.

Every brief asks for the same length (600 words ± 25 %), so a mismatched pair is never failed
for its length alone. Used by `tests/content/test_quality_calibration.py` and
`bench/quality_calibration.py`; plain Python, no Django.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from content.providers.base import Brief, Research, Source

DATA = Path(__file__).resolve().parent.parent / "data" / "quality"
LABELS = ("on_topic", "mismatched", "filler", "shuffled", "truncated")
PRIVATE_TITLE = "Editor's notes"  # what the pasted-notes research source calls them


@dataclass(frozen=True)
class Piece:
    label: str
    name: str
    article: str
    brief: Brief
    research: Research


def research_for(topic: str, notes: str, sources: list[Source]) -> Research:
    """Research as the pipeline hands it to the writer: neutral notes (topic, the editor's notes,
    the public sources with quotes) and the numbered sources, the editor's notes last."""
    lines = [f"# {topic}", ""]
    if notes:
        lines += [notes, ""]
    lines += ["## Sources", ""]
    for source in sources:
        lines += [f"{source.number}. **{source.title}** — {source.url}", f"   > {source.quote}"]
    numbered = list(sources)
    if notes:
        numbered.append(Source(len(sources) + 1, PRIVATE_TITLE, quote=notes, kind="pasted"))
    return Research(notes="\n".join(lines), sources=tuple(numbered))


def briefs() -> dict[str, tuple[Brief, Research]]:
    found = {}
    for path in sorted((DATA / "briefs").glob("*.json")):
        data = json.loads(path.read_text())
        brief_fields = data["brief"] | {"tags": tuple(data["brief"].get("tags", ()))}
        sources = [Source(**source) for source in data["sources"]]
        found[path.stem] = (Brief(**brief_fields), research_for(brief_fields["topic"], data["notes"], sources))
    return found


def _article(folder: str, name: str) -> str | None:
    path = DATA / folder / f"{name}.md"
    return path.read_text() if path.exists() else None


def shuffled(article: str, seed: str) -> str:
    """The same headings and paragraph sizes, filled with the article's sentences in random order."""
    blocks = re.split(r"\n\s*\n", article.strip())
    sentences, shape = [], []
    for block in blocks:
        if block.lstrip().startswith("#"):
            shape.append(block)
            continue
        parts = re.split(r"(?<=[.!?])\s+(?=[A-Z])", " ".join(block.split()))
        sentences += parts
        shape.append(len(parts))
    random.Random(seed).shuffle(sentences)
    out, position = [], 0
    for item in shape:
        if isinstance(item, str):
            out.append(item)
        else:
            out.append(" ".join(sentences[position:position + item]))
            position += item
    return "\n\n".join(out) + "\n"


def truncated(article: str, share: float = 0.25) -> str:
    """The article's first lines up to `share` of its words."""
    lines, kept, budget = article.splitlines(), [], share * len(article.split())
    for line in lines:
        if kept and sum(len(k.split()) for k in kept) + len(line.split()) > budget:
            break
        kept.append(line)
    return "\n".join(kept).strip() + "\n"


def labelled_pieces() -> list[Piece]:
    table = briefs()
    pieces = []
    for name, (brief, research) in table.items():
        article = _article("on_topic", name)
        pieces.append(Piece("on_topic", name, article, brief, research))
        for other, (other_brief, other_research) in table.items():
            if other != name:
                pieces.append(Piece("mismatched", f"{name} under {other}", article, other_brief, other_research))
        filler = _article("filler", name)
        if filler:
            pieces.append(Piece("filler", name, filler, brief, research))
        pieces.append(Piece("shuffled", name, shuffled(article, name), brief, research))
        pieces.append(Piece("truncated", name, truncated(article), brief, research))
    return pieces
