"""The words an article is measured against: tokens, light stemming, the brief's and the research
material's vocabulary, and the article cut into sections, paragraphs and sentences.

The content checks (`substance`, `leakage`) read articles through this module; it imports only
the text statistics and the provider data types. Everything here is plain Python and fixed word
lists: nothing is downloaded or trained at run time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from content.citations import CITATION
from content.providers.base import Brief, Research, Source
from content.textstats import plain_text

_TOKEN = re.compile(r"[a-z][a-z'’]*[a-z]|[a-z]")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\[A-Z0-9\"“‘(*_])")
_LEADING_CITATIONS = re.compile(rf"^((?:{CITATION.pattern}\s*)+)(.*)$", re.DOTALL)

# Function words: they say nothing about a topic in any text.
STOP = frozenset("""
a about above after again against all almost along also although always am among an and another any anyone
anything are around as at away back be because been before being below between both but by can cannot could
did do does doing done down during each either else enough even ever every few for from further get gets
getting got had has have having he her here hers herself him himself his how however i if in into is it its
itself just least less let like many may me might more most much must my myself near neither never no nor not
now of off often on once one only onto or other others otherwise our ours ourselves out over own per perhaps
quite rather really same shall she should since so some something sometimes still such than that the their
theirs them themselves then there these they this those though through thus to too toward towards under
until up upon us very was we well were what whatever when where whether which while who whom whose why will
with within without would yet you your yours yourself yourselves it's don't isn't aren't won't can't
doesn't didn't you're they're we're that's there's let's i'm you'll we'll they'll what's
""".split())

# Words that fit any subject: the vocabulary of filler ("a shared view of day-to-day priorities",
# "the first three numbers worth watching"). A sentence made of these and function words says
# nothing about its topic. Written for this rubric; extend it when calibration shows a gap.
COMMON = frozenset("""
ability able absolutely access account achieve across act action actions active actual actually add added
adding additional address adjust advance advantage advice affect afford agree aim allow allows alone already
alternative amount analysis answer answers anyone apart apply approach approaches appropriate area areas
aside ask asked asking aspect aspects assume attention audience available avoid aware balance base based
basic basics basis become becomes begin beginning behind believe benefit benefits best better big bigger bit
blocker blockers   bottom break bring broad build building built business busy call called calm came
capacity care careful carefully case cases cause certain chance change changes changing check checking
checklist choice choices choose choosing clear clearly close closely come comes coming comfortable common
commonly communication complete completely complex concept concern concerns concrete confidence confident
consider considered consistent consistently constant context continue control core correct cost costs
could course cover create created creating critical culture current currently cycle daily data day days deal
decide decision decisions deep define definitely deliver depend depends describe detail details develop
developing difference different difficult direct direction discuss discussion doubt drive driven early ease
easier easily easy effect effective effectively effort efforts element elements else end ends  
engage enjoy ensure ensures entire environment error errors especially essential establish etc evaluate
event events eventually everyone everything evidence exactly example examples excellent expect expectations
expected experience experiences expert experts explain express extra face fact factor factors fail fairly
familiar far fast feature features feedback feel feeling felt field figure final finally find finding
findings fine first fit fix focus focused follow following form forward foundation frame framework free
frequently full fully function fundamental future gain general generally give given gives giving go goal
goals goes going good great greater group groups grow growing growth guide guidance habit habits half hand
handle handover handovers happen happens hard help helpful helps high higher highly hold honest hope huge
idea ideas identify impact impacts implement importance important improve improvement improvements include
included includes including increase increasingly indeed individual information initial insight insights
instead intended interest interesting involved issue issues item items journey keep keeping key kind kinds
know knowing knowledge known large larger last later lead leads     left lesson lessons level
levels life   likely limit limited line list little live long longer look looking looks lot lots low
made main mainly maintain major make makes making manage managing matter matters mean meaning means measure
meet member members mention method methods metric metrics middle mind mindset minor miss mistake mistakes
mode model moment moments month months move moving multiple name natural naturally nature necessary need
needed needs new next nice note notes nothing notice number numbers objective obvious obviously offer offers
old open operate opportunity option options order organisation organization organisations outcome outcomes
overall overview owner owners ownership pace part particular particularly parts pattern patterns people
perfect perform performance period person personal perspective phase pick piece place plan planning plans
play point points positive possible potential   powerful practical practice practices prefer prepare
present pressure pretty prevent previous primary principle principles priorities priority problem problems
process processes produce product progress project projects proper properly provide provides purpose put
quality question questions quick quickly range rate rates reach read ready real reality reason reasons
receive recent recommend record reduce regular regularly relevant remain remember report require required
requirement requirements resource resources respect response responsibility rest result results return
review right risk risks role roles   rule rules     safe said save say says scale second see
seem seems seen sense serious serve set sets setting settings several shape share shared short show shows
side sign signal signals significant significantly similar simple simply single situation size skill
skills slightly small smaller smooth solid solution solutions solve someone soon sort sound source  
specific spend stable stage stages stakeholders standard start started starting state stay step steps stick
stop straightforward strategy strong structure structured stuff style success successful suggest support
sure system systems table take takes taking talk task tasks team teams tend term terms test thing things
think thinking thought three throughput time times tip tips today together tool tools top topic total
touch track trade trade-off trade-offs traditional true trust try trying turn two type types typical
typically understand understanding unique unit usage use used useful user users uses using usual usually
valuable value values various version view visible vision want wants watch watching way ways week weeks
whole wide wider word words work worked worker working works world worth write wrong year years yes
second seconds minute minutes hour hours morning evening night weekend monday friday season seasons winter
spring summer autumn degree degrees percent metre metres meter meters centimetre centimetres millimetre
millimetres kilometre kilometres litre litres gram grams kilogram kilograms roughly around about usually
often mostly almost nearly several dozen hundred hundreds thousand thousands four five six seven eight nine
ten twenty thirty fifty once twice third quarter fifth
""".split())

# Suffixes stripped once, longest first; plurals are stripped before them.
_SUFFIXES = ("izations", "ization", "isations", "isation", "ational", "fulness", "iveness", "ments", "ment",
             "ness", "ities", "ity", "ions", "ion", "ings", "ing", "edly", "ers", "er", "ed", "ly", "ive", "al",
             "ful", "ous")


def stem(word: str) -> str:
    """A light English stem, enough for "composting"/"compost"/"composted" to meet."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    w = w.strip("'")
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 4 and w.endswith(("sses", "shes", "ches", "xes", "zes")):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            break
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    if w.endswith("y"):
        w = w[:-1] + "i"
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiousl":
        w = w[:-1]
    return w


def tokens(text: str) -> list[str]:
    """Lower-case words of the readable text (no markup, no citations, no numbers)."""
    return _TOKEN.findall(plain_text(text).lower().replace("-", " "))


def content_words(text: str) -> list[str]:
    return [word for word in tokens(text) if word not in STOP and len(word) > 2]


def topical(word: str) -> bool:
    """A content word that could say something about a subject (not a function or filler word)."""
    return word not in STOP and word not in COMMON and len(word) > 2


def stems_of(text: str) -> set[str]:
    return {stem(word) for word in tokens(text) if topical(word)}


def is_private(source: Source) -> bool:
    """The editor's own pasted notes: material to use, not a public source (`Source.is_private`)."""
    return source.is_private


@dataclass(frozen=True)
class Vocabulary:
    """What an article about the brief is expected to talk about, as stems.

    `brief` comes from the topic, title, keyword, category and tags; `material` from the research
    notes and the sources' titles and quotes. `topic` is both together."""

    brief: frozenset[str]
    material: frozenset[str]

    @property
    def topic(self) -> frozenset[str]:
        return self.brief | self.material

    @property
    def has_material(self) -> bool:
        return bool(self.material - self.brief)


def vocabulary_for(brief: Brief, research: Research) -> Vocabulary:
    """The brief's stems, and the stems of the parts of the material that are about the brief.

    Material counts only where it speaks of the brief: a block of notes or a source that shares no
    stem with the brief adds nothing, so notes about another subject cannot make an article about
    that subject look relevant to this brief."""
    brief_text = " ".join([brief.topic, brief.title, brief.primary_keyword, brief.category, *brief.tags])
    brief_stems = frozenset(stems_of(brief_text))
    blocks = [block for block in re.split(r"\n\s*\n", research.notes or "") if block.strip()]
    blocks += [f"{source.title} {source.quote}" for source in research.sources]
    material: set[str] = set()
    for block in blocks:
        stems = stems_of(block)
        if stems & brief_stems:
            material |= stems
    return Vocabulary(brief_stems, frozenset(material))


@dataclass(frozen=True)
class Paragraph:
    section: str  # the heading above it; "Introduction" before the first one
    index: int  # 1-based, within its section
    text: str  # the raw Markdown, citations kept


def paragraphs(article: str) -> list[Paragraph]:
    """The prose paragraphs of an article by section; the title, headings, code and a trailing
    Sources section are not prose."""
    found: list[Paragraph] = []
    section, index = "Introduction", 0
    body = re.sub(r"```.*?```", " ", article or "", flags=re.DOTALL)
    for block in re.split(r"\n\s*\n", body):
        lines = [line for line in block.strip().splitlines() if line.strip()]
        prose: list[str] = []
        for line in lines:
            heading = re.match(r"^\s{0,3}(#{1,6})\s+(.*)$", line)
            if heading:
                if prose:
                    index += 1
                    found.append(Paragraph(section, index, " ".join(prose)))
                    prose = []
                if len(heading.group(1)) == 1:
                    continue
                section, index = heading.group(2).strip(), 0
                if section.lower() == "sources":
                    return found
                continue
            prose.append(line.strip())
        if prose:
            index += 1
            found.append(Paragraph(section, index, " ".join(prose)))
    return found


def split_sentences(text: str) -> list[str]:
    """Sentences of one paragraph with their `[n]` citations kept (a citation after the full stop
    belongs to the sentence before it)."""
    parts = [part.strip() for part in _SENTENCE_BREAK.split(" ".join(text.split())) if part.strip()]
    merged: list[str] = []
    for part in parts:
        lead = _LEADING_CITATIONS.match(part)
        if lead and merged:
            merged[-1] += " " + lead.group(1).strip()
            part = lead.group(2).strip()
        if part:
            merged.append(part)
    return merged
