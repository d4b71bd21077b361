"""What the format stage costs on hostile Markdown, and why the same body costs more in some places.

    python bench/markdown_worst_case.py [--chars 199000] [--depths 0,10,...] [--write-docs]

No database: the format stage (`content.formatting.format_article`, which parses the body with
markdown-it three times: to HTML, for its first paragraph, for its word count) runs in this
process on bodies of `--chars` characters each:

- *prose*: sentences with a citation, emphasis and a link, as an article has them;
- *brackets* `[[[[…`, *image openers* `![![…`, *emphasis* `*a*a…`, *unclosed links* `[a]([a](…`:
  the inputs markdown-it spends most on per character.

Each body is formatted once at each of `--depths` extra Python frames below the caller (a
recursion of that many plain calls), because CPython 3.11+ keeps its frames in 16 KiB chunks and
frees a chunk as soon as the frame at its base returns: a parser that recurses back and forth
across a chunk's edge maps and unmaps it on every crossing (each `mmap` then page-faults), so the
same work costs several times more at some depths than at others. The table gives, per body, the
cheapest and dearest depth's seconds and minor page faults, and the median over depths.

With `--write-docs` the section "Formatting hostile Markdown" of docs/performance.md is rewritten
between its markers.
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import write_docs_section  # noqa: E402
from content.formatting import format_article  # noqa: E402
from content.textstats import text_blocks  # noqa: E402

PROSE = "Compost turns kitchen scraps into rich soil [1], as *the gardener* said in [her guide](https://example.com). "
UNITS = {"prose": PROSE, "brackets": "[", "image openers": "![", "emphasis": "*a", "unclosed links": "[a]("}
DOCS = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
PREAMBLE = """## Formatting hostile Markdown

`bench/markdown_worst_case.py` formats bodies of the longest size a draft edit accepts, once at
each of several Python stack depths; see its docstring for what it measures and why depth matters.

"""


def body_of(kind: str, chars: int) -> str:
    unit = UNITS[kind]
    return (unit * (chars // len(unit) + 1))[:chars]


def format_at_depth(body: str, depth: int) -> tuple[float, int]:
    """Seconds and minor page faults of one `format_article` call made `depth` frames deeper."""
    if depth:
        return format_at_depth(body, depth - 1)
    text_blocks.cache_clear()  # each call parses as a first one does
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    started = time.perf_counter()
    format_article(f"# Title\n\n{body}", fallback_title="Title", sources=[])
    return time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chars", type=int, default=199_000)
    parser.add_argument("--depths", default="0,10,20,30,40,50,60,70,80,90,100,110,120,130,140,150")
    parser.add_argument("--write-docs", action="store_true")
    arguments = parser.parse_args()
    depths = [int(depth) for depth in arguments.depths.split(",")]

    rows = []
    for kind in UNITS:
        body = body_of(kind, arguments.chars)
        runs = [(depth, *format_at_depth(body, depth)) for depth in depths]
        cheapest, dearest = min(runs, key=lambda run: run[1]), max(runs, key=lambda run: run[1])
        median = statistics.median(run[1] for run in runs)
        rows.append((kind, cheapest, dearest, median))
        print(f"{kind:15} cheapest {cheapest[1]:6.2f} s ({cheapest[2]:,} faults, depth {cheapest[0]})  "
              f"dearest {dearest[1]:6.2f} s ({dearest[2]:,} faults, depth {dearest[0]})  median {median:.2f} s",
              flush=True)

    if arguments.write_docs:
        table = ["| body | cheapest depth: s (page faults) | dearest depth: s (page faults) | median over depths |",
                 "| --- | ---: | ---: | ---: |"]
        for kind, cheapest, dearest, median in rows:
            table.append(f"| {kind} | {cheapest[1]:.2f} ({cheapest[2]:,}) at {cheapest[0]} | "
                         f"{dearest[1]:.2f} ({dearest[2]:,}) at {dearest[0]} | {median:.2f} |")
        body = (f"{time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, bodies of "
                f"{arguments.chars:,} characters, one `format_article` each at depths {arguments.depths}:\n\n"
                + "\n".join(table) + "\n")
        write_docs_section(DOCS, body, marker="markdown-benchmark", preamble=PREAMBLE)


if __name__ == "__main__":
    main()
