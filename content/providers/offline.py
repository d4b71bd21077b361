"""The offline writer: the product's default text model, needing no network and no key.

It composes a real, structured article from the brief and the research: a title and 3–8 section
headings chosen from section archetypes (basics, steps, mistakes, tools, measurement …) and from
the research sources, then paragraphs assembled from a large bank of sentence frames whose slots
take the keyword, the section's focus and the audience. Style picks the frames and the shape
(listicle numbering, technical step lists, narrative scenes, educational examples, thought
leadership claims and predictions); tone picks leads, tails, contractions and paragraph rhythm.
Sources are quoted with their `[n]` citation and notes are woven in verbatim; nothing is claimed
about a source that it does not say, and only numbers that exist in `research.sources` are cited.

Shape: `# Title`, an untitled introduction of one or two paragraphs (the text before the first
`##`), one `## Heading` per outline section (numbered "## 1. …" in a listicle), `## Conclusion`.

Length is hit at sentence granularity: parts are filled to a budget, then sentences are added,
dropped, swapped, or given another lead or tail until `textstats.count_words` equals the target
(within ±2 %, nearly always exactly). No sentence is used twice: a frame's main clause is said
once per article, and frames that read the same in every section are dealt out between sections.

The piece is written to pass the QA rubric (`content.quality`) as it measures: the keyword
appears in the title or the first paragraph, in one `##` heading and in the conclusion, with a
density (the share of words inside keyword occurrences) between 0.5 % and 2.5 %; a short piece
that cannot afford every placement gives up the heading first, then the conclusion, never the
opening. No trigram outside stopwords is used more often than the rubric allows, formal pieces
(technical style, academic tone) read at college level, and sentences average 12–24 words (in
pieces of 300 words and more: below that, the headings alone pull the average down). Without a
keyword, a short subject taken from the topic fills its slots.

Everything is seeded from a sha256 of the inputs: equal inputs give byte-identical output, in
any process. Token usage is an estimate (see `estimate_usage`); the offline model costs nothing.

Layout: phrase banks, then text helpers and `Voice`, then `Writer` (proposes sentences), planning
(`_plan_article`), drafting and fitting (`Part`, `Draft`, `_fit`), revision helpers, the model.
Imports flow one way: this module uses `base` and `content.textstats`; only the registry imports it.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property, lru_cache

from content.providers.base import (
    Brief,
    KeywordChange,
    Outline,
    OutlineResult,
    Research,
    Revision,
    Source,
    StopCheck,
    TextModel,
    TextResult,
    Usage,
    no_stop_check,
)
from content.textstats import STOPWORDS, count_words, trigram_limit, words

# ---------------------------------------------------------------------------------------------
# Phrase banks. Frames are lower-case clauses without a final stop; `{kw}`, `{focus}` and
# `{reader}` never stand where a verb would have to agree with them, so any noun phrase fits.
# ---------------------------------------------------------------------------------------------

GENERAL_POINTS = (
    "small, steady improvements usually beat ambitious plans that never leave the whiteboard",
    "the simplest version that works is often the best place to begin",
    "clear goals make every later decision easier to explain and defend",
    "good habits matter more than any single clever idea",
    "progress tends to come from many modest changes rather than one big leap",
    "writing things down turns vague intentions into plans that people can follow",
    "a short review every few weeks keeps small problems from growing quietly",
    "the people doing the work usually know where the real friction is",
    "it is easier to improve a process you can see than one that lives in one person's head",
    "consistency builds trust faster than occasional bursts of effort",
    "the best results usually come from teams that agree on what done looks like",
    "shared language saves time, because fewer decisions need long explanations",
    "most problems are easier to fix when they are noticed early",
    "a plan that fits on one page is far more likely to be followed",
    "feedback is most useful when it arrives soon after the work is done",
    "the cost of waiting for perfect information is usually higher than it looks",
    "simple checklists prevent a surprising number of avoidable errors",
    "every shortcut has a price, and it is worth knowing that price in advance",
    "results improve when people understand why a rule exists, not just what it says",
    "a clear owner for each decision keeps work from stalling",
    "it pays to separate what is urgent from what is merely loud",
    "the first attempt rarely looks like the final version, and that is fine",
    "good documentation answers the questions people actually ask",
    "focus is a resource, and it runs out faster than most schedules assume",
    "a few honest conversations can replace weeks of guessing",
    "changes stick when they make daily work easier, not harder",
    "the right amount of structure depends on the size and experience of the group",
    "experiments are cheaper than arguments, so test ideas when you can",
    "when priorities change, saying so out loud avoids a lot of wasted effort",
    "asking for help early is a sign of good judgement, not weakness",
    "good work is usually repeatable work, which also makes it easier to teach",
    "a calm, regular rhythm beats a cycle of rushes and pauses",
    "the details matter, but only after the direction is clear",
    "plans should leave room for the things nobody can predict",
    "sharing early drafts invites better ideas while change is still cheap",
    "a good question often does more than a quick answer",
    "the quiet work of preparation shows up later as confidence",
    "trade-offs are easier to accept when they are made openly",
    "clarity about priorities protects people from being pulled in every direction",
    "the easiest improvement to make is often the one nobody has asked about yet",
    "a short written summary is worth more than a long meeting nobody remembers",
    "small wins add up faster than most people expect",
    "clarity saves more time than speed ever does",
    "good notes save hours of work later",
    "a clear goal makes every later choice easier",
    "shared expectations prevent most avoidable friction",
    "well-chosen defaults save more effort than detailed rules",
    "a short checklist for {focus} saves time and prevents easy mistakes",
    "it pays to revisit {focus} every few months as circumstances change",
    "talking openly about {focus} builds trust across a team",
    "people often disagree about {focus}, and that debate is healthy when it stays practical",
    "most of the confusion around {focus} disappears once the terms are defined",
    "a little time spent on {focus} now saves a lot of rework later",
    "the best advice on {focus} is usually specific, concrete and easy to test",
    "it helps to write down what you already know about {focus} before adding anything new",
    "few guides explain {focus} in plain language, which is a gap worth closing",
    "a shared view of {focus} makes handovers far smoother",
    "questions about {focus} deserve direct answers rather than vague reassurance",
    "anyone new to {focus} benefits from one clear example before any theory",
    "there is no single right answer on {focus}, but some answers are clearly better than others",
    "time invested in {focus} tends to pay back in fewer surprises",
    "looking at {focus} from the outside often reveals what is missing",
    "the conversation about {focus} improves when it starts from real cases",
    "a modest goal for {focus} is easier to reach and easier to build on",
    "most of the practical wisdom on {focus} fits on a single page",
    "it is tempting to rush through {focus}, but patience pays off here",
    "small experiments with {focus} reveal more than long debates about it",
    "the people closest to {focus} often have the most useful ideas about it",
    "getting feedback on {focus} early prevents expensive changes later",
    "there is real value in agreeing on a few simple rules for {focus}",
    "good notes on {focus} make the next round of work much faster",
    "being honest about what is not working in {focus} is the first step to fixing it",
    "it is worth asking what a newcomer would find confusing about {focus}",
    "a steady, unhurried approach to {focus} usually beats a rushed one",
    "experience with {focus} builds judgement that no checklist can replace",
    "the simplest explanation of {focus} is often the most useful one",
    "clear examples do more for {focus} than abstract principles",
    "even a rough plan for {focus} is better than no plan at all",
    "teams that take {kw} seriously tend to plan further ahead",
    "the link between {focus} and {kw} is closer than most people assume",
    "thinking carefully about {focus} is a practical way into {kw}",
    "in {kw}, a little extra attention to {focus} usually pays off",
    "anyone serious about {kw} should spend some time on {focus}",
    "few parts of {kw} reward attention as reliably as {focus}",
    "it is hard to do well at {kw} without some care for {focus}",
    "the way a team handles {focus} says a lot about its approach to {kw}",
    "a clear view of {focus} makes every other part of {kw} easier",
    "a realistic approach to {kw} starts with what you can change this week",
    "the conversation about {kw} has moved from theory to daily practice",
    "anyone working on {kw} will recognise the tension between speed and care",
    "good decisions about {kw} rest on clear goals and honest feedback",
    "the value of {kw} shows up over months, not days",
    "people who are new to {kw} often underestimate how much the basics matter",
    "most of what makes {kw} succeed is ordinary discipline applied consistently",
    "progress with {kw} is easier to sustain when it is visible to everyone involved",
    "the real test of any approach to {kw} is whether it survives a busy week",
    "it is worth being precise about what {kw} should achieve for you",
    "a steady approach to {kw} beats short bursts of enthusiasm",
    "for {reader}, the practical question is always what to do first",
    "what works for {reader} is rarely the most complicated option",
    "the advice here is meant to be useful for {reader} without extra tools or budget",
)

INTRO_POINTS = (
    "it is a subject that rewards a careful, practical approach",
    "most of the gains come from a handful of simple, well-chosen changes",
    "the ideas that follow are practical rather than theoretical",
    "none of it requires a large budget or special expertise",
    "each section can be read on its own, but together they form a plan",
    "the aim is to explain what works, why it works and how to begin",
    "there is a lot of noise on this subject, so the focus here is on what holds up in practice",
    "by the end, you should have a clear idea of where to start",
)
CONCLUSION_POINTS = (
    "the ideas here are simple, but applying them consistently is what makes the difference",
    "none of this requires a large budget, only attention and patience",
    "it is better to do a few of these things well than all of them badly",
    "progress will be uneven at times, and that is normal",
    "a common thread runs through every section: clarity comes before speed",
    "whatever you choose to try first, give it a fair test before judging it",
    "small, consistent changes are what turn good intentions into results",
    "it is worth revisiting these ideas after a few weeks to see what has changed",
    "the aim was never perfection but steady, visible improvement",
    "the most useful next step is usually the smallest one you can take today",
)
FORMAL_LEADS = (
    "from an engineering perspective, ",
    "in operational terms, ",
    "with respect to implementation, ",
    "considered systematically, ",
    "in methodological terms, ",
    "from a reliability standpoint, ",
    "in organisational terms, ",
)
FORMAL_TAILS = (
    ", particularly in organisational contexts",
    ", which has considerable practical significance",
    ", with measurable consequences for productivity",
    ", especially where responsibilities are distributed",
    ", subject to the constraints of the particular environment",
    ", which complicates straightforward evaluation",
    ", notwithstanding the inevitable operational complexity",
    ", irrespective of the technology involved",
    ", given sufficient organisational commitment",
    ", particularly in complex or regulated environments",
)
TAILS = (
    ", especially when time is short",
    ", even in a small team",
    ", whatever the size of the organisation",
    ", at least in the early stages",
    ", and the effect builds over time",
    ", particularly when several people share the work",
    ", which is easy to forget when deadlines loom",
    ", even when the pressure is on",
    ", as long as everyone knows why",
    ", which saves effort later on",
    ", and it rarely costs much to try",
    ", regardless of the tools involved",
    ", which matters more than it first seems",
    ", and it becomes easier with practice",
    ", at every stage of the work",
    ", especially for people new to the work",
    ", even if progress feels slow at first",
    ", in large projects and small ones alike",
    ", and most people notice the difference quickly",
    ", without adding much overhead",
    ", which is where many teams struggle",
    ", and the reasons are worth understanding",
    ", in practice",
    ", as a rule",
    ", in most cases",
)

GENERAL_LEADS = (
    "in practice, ",
    "over time, ",
    "in most cases, ",
    "as a rule, ",
    "on a practical level, ",
    "for most teams, ",
    "day to day, ",
    "put simply, ",
    "at the same time, ",
    "just as important, ",
    "in the long run, ",
    "more often than not, ",
    "above all, ",
    "once the basics are in place, ",
    "with a little patience, ",
    "from experience, ",
    "when it comes to {focus}, ",
    "with {focus} in mind, ",
    "in the context of {focus}, ",
    "looking closely at {focus}, ",
    "for {reader}, ",
)

TONE_LEADS = {
    "professional": (
        "from an operational point of view, ",
        "for most organisations, ",
        "as a working principle, ",
        "in a well-run team, ",
        "in business terms, ",
    ),
    "casual": (
        "honestly, ", "here's the thing: ", "truth is, ", "let's be real, ", "funny enough, ", "no surprise, ",
    ),
    "academic": (
        "notably, ",
        "in this respect, ",
        "it is worth noting that ",
        "from an analytical perspective, ",
        "it follows that ",
        "on balance, ",
        "empirically, ",
    ),
    "inspirational": (
        "the good news is that ",
        "step by step, ",
        "with every small win, ",
        "believe it or not, ",
        "at its best, ",
    ),
    "friendly": (
        "good news: ", "don't worry: ", "here's a tip: ", "you might be surprised, but ", "as many readers find, ",
    ),
    "authoritative": (
        "make no mistake: ",
        "the evidence is clear: ",
        "without exception, ",
        "put plainly, ",
        "experience shows that ",
    ),
}

TONE_POINTS = {
    "professional": (
        "a measured, well-documented approach keeps everyone aligned and accountable",
        "clear responsibilities and realistic timelines remain the foundation of good results",
        "decisions should be recorded, reviewed and revisited when the facts change",
        "stakeholders respond best to plain updates that state progress, risks and next steps",
        "the aim is dependable, repeatable work rather than occasional heroics",
        "budget, time and attention are limited, so priorities need to be explicit",
        "a brief written summary after each milestone keeps the whole group informed",
        "quality improves when reviews are routine rather than reserved for emergencies",
        "a clear escalation path saves time when something unexpected happens",
        "good governance is light enough to follow and firm enough to matter",
    ),
    "casual": (
        "you do not need a fancy setup to get going, just a bit of curiosity",
        "most of this stuff is simpler than it looks once you try it",
        "if something feels clunky, it probably is, so change it",
        "nobody gets this perfect on day one, and that is completely fine",
        "a quick chat over coffee can sort out what a long email thread never will",
        "keep it light, keep it simple and keep moving",
        "it is a bit like learning to cook: you get better by making a few messy meals",
        "there is no prize for doing things the hard way",
        "if a step feels pointless, ask why it is there before you drop it",
        "the fun part starts once the basics feel easy",
    ),
    "academic": (
        "the distinction between short-term outputs and long-term outcomes is analytically important here",
        "such patterns are consistent with a broader shift from ad hoc practice to deliberate method",
        "it is therefore useful to distinguish the conditions that enable success from those that merely "
        "accompany it",
        "a careful reading suggests that context shapes outcomes at least as much as method does",
        "these considerations invite a more systematic treatment than informal accounts usually provide",
        "any generalisation should be qualified by the scale and maturity of the setting in question",
        "the relationship between effort and result is rarely linear, which complicates simple evaluation",
        "conceptual clarity precedes reliable measurement, and both precede sound judgement",
        "the available accounts differ in method, which limits direct comparison between them",
        "a more precise vocabulary would make these differences easier to examine",
    ),
    "inspirational": (
        "every expert you admire once stood exactly where you are standing now",
        "small steps, taken consistently, add up to changes you can be proud of",
        "the best time to begin is today, with whatever you already have",
        "progress is rarely a straight line, but every honest effort moves you forward",
        "what feels difficult now will feel natural after a few weeks of practice",
        "your perspective is valuable, so trust it and keep refining it",
        "growth comes from showing up again, especially on the days it feels hard",
        "there is real satisfaction in building something that lasts",
        "each lesson learned makes the next challenge a little lighter",
        "the work you do today quietly shapes the results you will see next year",
    ),
    "friendly": (
        "if you are feeling a bit overwhelmed, that is completely normal",
        "you do not have to figure everything out at once, so take it one piece at a time",
        "feel free to adapt these ideas so they fit the way you like to work",
        "it often helps to try things with a friend or colleague and compare notes",
        "we have all made these mistakes, so be kind to yourself while you learn",
        "pick one idea from this section and give it a try this week",
        "keep a few notes as you go, because they make the next step easier",
        "you are already doing the hard part by reading and asking questions",
        "there is no rush, and steady progress is still progress",
        "it is fine to come back to this later when you have a quiet moment",
    ),
    "authoritative": (
        "the principles here are not optional; they are the baseline for serious work",
        "cutting corners at this stage reliably produces problems later",
        "teams that ignore these fundamentals pay for it in rework and lost trust",
        "standards exist for a reason, and the reason is usually a past failure",
        "clarity of ownership is essential if results are to be dependable",
        "the correct approach is well established, and it begins with disciplined basics",
        "every decision should be defensible with evidence, not preference",
        "discipline, not talent, separates consistent results from lucky ones",
        "a process that cannot be explained cannot be trusted",
        "the fundamentals have not changed, whatever the latest trend suggests",
    ),
}

STYLE_POINTS = {
    "technical": (
        "here, the term {kw} refers to the whole set of practices, tools and decisions involved, not a single "
        "product",
        "in precise terms, work on {focus} covers the inputs, the steps that transform them and the checks that "
        "confirm the output",
        "each step should have a defined input, a defined output and a way to verify that the output is correct",
        "configuration belongs in version control, next to the process it describes",
        "the failure modes are worth listing explicitly, along with how each one is detected",
        "a repeatable procedure is more valuable than a clever one that only one person understands",
        "dependencies between steps should be explicit, so that a change in one place does not silently break "
        "another",
        "it is good practice to record the version of every tool and template used",
        "automated checks catch regressions early, while manual reviews catch problems of judgement",
        "idempotent steps, which give the same result when run twice, make recovery from errors far simpler",
        "latency, throughput and error rate are usually the first three numbers worth watching",
        "when a step fails, the error message should say what failed, why, and what to try next",
        "a staging environment lets you test changes to {focus} without risking real work",
        "interfaces between components should be small, documented and stable",
        "the term baseline means the measured state of the system before any change is made",
        "a runbook is a short written procedure for a known task or a known failure",
    ),
    "narrative": (
        "that first week was where the real story began, although nobody realised it at the time",
        "then something changed, slowly at first and then all at once",
        "looking back, the turning point was a single honest conversation about what was not working",
        "the early days were messy, full of false starts and small victories",
        "by the end of the month, the mood in the room had shifted noticeably",
        "it would be easy to tell this as a tale of one brilliant idea, but the truth is more ordinary",
        "the lesson arrived quietly, the way most useful lessons do",
        "one afternoon, a newcomer asked a simple question about {focus} that nobody could answer",
        "that question changed how the whole group thought about {focus}",
        "weeks later, the same team could explain their approach to {kw} in a few plain sentences",
        "imagine the relief of finally having a process that everyone understood",
        "every story like this has a moment of doubt, and this one was no exception",
        "what happened next surprised even the people who had pushed for the change",
        "nobody remembers the exact day things improved, only that they did",
        "the old way of working did not disappear overnight, but it faded week by week",
    ),
    "educational": (
        "for example, a team might start by choosing one small process and improving it for a month",
        "for example, a simple weekly review of {focus} can reveal patterns that are invisible day to day",
        "to put it another way, good work on {focus} comes down to making good choices repeatable",
        "a useful way to think about {focus} is as a set of habits rather than a one-off project",
        "for example, someone new to {kw} might begin with a single goal and one measure of progress",
        "the key idea is simple: understand the goal first, then choose the method",
        "it helps to compare {focus} with learning a language, where regular practice beats occasional cramming",
        "a common question is where to begin, and the honest answer is with whatever causes the most trouble",
        "for example, writing a one-page summary of {focus} forces you to decide what really matters",
        "think of it as drawing a map before setting out on a long walk",
        "the reason this works is that clear expectations reduce the number of decisions people must make",
        "for example, comparing two approaches side by side often makes the better one obvious",
        "in short, understanding comes from doing, reflecting and then doing again",
        "another way to see it is that each small lesson makes the next one easier to learn",
        "for example, a checklist of five questions can turn a vague review into a useful one",
        "the word baseline simply means where you stand before you change anything",
    ),
    "thought_leadership": (
        "here is an unpopular opinion: most advice about {kw} focuses on the wrong things",
        "the conventional wisdom says more effort brings better results, but practice points elsewhere",
        "within a few years, the gap between teams that treat {kw} as a core skill and those that treat it as a "
        "side project will widen",
        "expect the organisations that invest in the basics now to pull ahead quietly",
        "the real risk is not moving too fast, but standing still while expectations rise",
        "leaders who treat {focus} as a strategic question, rather than an operational detail, will set the pace",
        "the next wave of change will reward judgement more than raw speed",
        "we should stop asking whether this matters and start asking how to do it well",
        "contrary to popular belief, more tools rarely solve a problem of unclear priorities",
        "the winners will be those who learn fastest, not those who start biggest",
        "it is time to stop treating {focus} as someone else's job",
        "a bolder claim is worth making: the basics are where the real advantage now lies",
        "predictions are risky, but one seems safe: the pressure to get {kw} right will only grow",
        "the debate is shifting from whether to act to how to act responsibly",
        "the most valuable skill in the coming years will be knowing what to leave out",
        "much of today's received wisdom on {focus} will look dated within a decade",
    ),
    "listicle": (
        "keep it simple at first, get it working, and build from there",
        "start with one change, measure what happens and only then add the next",
        "this one sounds obvious, yet it is skipped all the time by busy people",
        "the payoff is quick, easy to see and easy to explain to everyone else",
        "do this well and the rest of the list gets noticeably easier",
        "skip it, and the cracks tend to show within a few weeks",
        "a small tweak here often has an outsized effect on everything downstream",
        "it takes minutes to set up and saves hours of effort later",
        "think of this as the habit that makes all the others stick",
        "you will usually notice the difference within the first week or two",
        "the trick is to make it part of your routine rather than an extra task",
        "one clear rule beats ten vague guidelines every single time",
        "if you only take one idea from this list, make it this one",
        "the effort is small, the benefit lasts, and the habit spreads",
    ),
}

STYLE_OPENERS = {
    "narrative": (
        "the next part of the story is about {focus}",
        "from there, attention turned to {focus}",
        "that brings the story to {focus}",
        "the story does not end there, because {focus} came next",
        "a new chapter began with {focus}",
        "it was around this point that {focus} came into view",
        "before long, the conversation moved on to {focus}",
        "the next lesson concerned {focus}",
    ),
    "thought_leadership": (
        "consider {focus} for a moment, because it matters more than it looks",
        "the debate about {focus} is overdue",
        "here the usual thinking about {focus} needs a second look",
        "few topics reveal as much about priorities as {focus}",
        "it is time for a franker conversation about {focus}",
        "the received wisdom on {focus} deserves a challenge",
        "the way leaders talk about {focus} is changing",
        "a clear position on {focus} is long overdue",
    ),
    "listicle": (
        "this one is simple but easy to overlook",
        "here is where many people see quick results",
        "this tip pays off faster than you might expect",
        "do not skip this one, even if it looks obvious",
        "this is the habit that makes the others easier",
        "small effort, big return: that sums this one up",
        "this step is where good intentions turn into results",
        "this one takes a little discipline, but it is worth it",
    ),
    "educational": (
        "this section explains {focus} step by step",
        "let us look at {focus} more closely",
        "to understand {focus}, it helps to start with a simple picture",
        "the next idea to explore is {focus}",
        "this part of the guide is about {focus}",
        "before moving on, it is worth spending some time on {focus}",
        "a clear grasp of {focus} makes the rest of the guide easier",
        "the next building block is {focus}",
    ),
    "technical": (
        "this section covers {focus} in concrete terms",
        "the details of {focus} are where most of the engineering effort goes",
        "precision matters when dealing with {focus}",
        "the following notes describe {focus} as a repeatable procedure",
        "this part deals with {focus} at the level of concrete steps",
        "the notes below treat {focus} as a set of explicit decisions",
        "the mechanics of {focus} are straightforward once the terms are fixed",
        "this section sets out the working details of {focus}",
    ),
}

STEP_ITEMS = (
    "Define the scope and write down what success looks like.",
    "List the inputs you need and where each one comes from.",
    "Set up a small, safe environment to try the process end to end.",
    "Run the first version on a real but low-risk example.",
    "Record what happened, including anything that went wrong.",
    "Fix the biggest problem first, then run the process again.",
    "Automate the steps that are repeated and error-prone.",
    "Write a short guide so that someone else can repeat the work.",
    "Review the results after a few weeks and adjust the plan.",
    "Agree on who owns each step and who reviews the output.",
)


@dataclass(frozen=True)
class Archetype:
    """A kind of section: how it is titled per style, what it is about and what it says."""

    key: str
    focus: str
    preview: str
    headings: dict  # style -> plain headings
    keyword_headings: dict  # style -> headings holding {Kw}
    openers: tuple[str, ...]
    points: tuple[str, ...]
    matches: tuple[str, ...] = ()  # fragments that identify a heading of this kind


def _per_style(educational, technical, listicle, narrative, thought_leadership) -> dict:
    return {
        "educational": educational,
        "technical": technical,
        "listicle": listicle,
        "narrative": narrative,
        "thought_leadership": thought_leadership,
    }


ARCHETYPES = {
    archetype.key: archetype
    for archetype in (
        Archetype(
            "basics",
            "the basics",
            "the basics",
            _per_style(
                ("The Basics Explained", "Core Ideas in Plain Terms"),
                ("Core Concepts and Terms", "How It Works"),
                ("Learn the Basics First", "Get the Fundamentals Right"),
                ("Where the Story Begins", "A Slow Start"),
                ("The Real State of Play", "Where Things Stand Today"),
            ),
            _per_style(
                ("What {Kw} Really Mean{s}", "The Basics of {Kw}"),
                ("How {Kw} Work{s}", "{Kw}: Core Concepts"),
                ("Learn the Basics of {Kw}", "Understand What {Kw} Involve{s}"),
                ("Where the Story of {Kw} Begins", "First Encounters with {Kw}"),
                ("The Real State of {Kw}", "Where {Kw} Stand{s} Today"),
            ),
            (
                "it makes sense to start with the basics, because everything else builds on them",
                "before going further, it helps to be clear about what the basics involve",
                "the basics are simpler than they first appear, and they matter more than most people think",
            ),
            (
                "at its core, this is about making good decisions repeatable rather than leaving them to chance",
                "the basic idea is easy to state, even if doing it well takes practice",
                "a clear definition prevents a lot of talking at cross purposes",
                "three things matter most at the start: a goal, a method and a way to check progress",
                "beginners often try to learn everything at once, when a few core ideas would carry them further",
                "the vocabulary can be off-putting, but most of the terms describe simple ideas",
                "knowing what is out of scope is just as useful as knowing what is in it",
                "the fundamentals rarely change, even when the tools and trends around them do",
                "a solid grasp of the basics makes later advice much easier to judge",
                "it is worth separating the essential ideas from the optional extras",
                "once the core ideas click, the more advanced material starts to make sense",
                "many experienced practitioners still return to the basics when something goes wrong",
                "the basics of {kw} can be learned in days, but mastering them takes longer",
                "people who skip the basics of {kw} often end up relearning them the hard way",
            ),
            ("basic", "fundamental", "core concept", "explained", "overview", "introduc", "what is ", "what are "),
        ),
        Archetype(
            "benefits",
            "the benefits",
            "why it matters",
            _per_style(
                ("Why It Matters", "The Benefits in Practice"),
                ("Requirements and Trade-offs", "Why the Design Matters"),
                ("Know Why It Matters", "Focus on the Real Benefits"),
                ("The Turning Point", "Why It Started to Matter"),
                ("Why the Stakes Are Rising", "What Is Really at Stake"),
            ),
            _per_style(
                ("Why {Kw} Matter{s}", "The Benefits of {Kw}"),
                ("Trade-offs in {Kw}", "Requirements for {Kw}"),
                ("Know Why {Kw} Matter{s}", "The Real Benefits of {Kw}"),
                ("Why {Kw} Started to Matter", "The Turning Point for {Kw}"),
                ("Why {Kw} Matter{s} Now", "The Stakes of {Kw}"),
            ),
            (
                "the benefits are real, but they are easy to overstate, so it helps to be specific",
                "it is fair to ask why any of this deserves time and attention",
            ),
            (
                "the most obvious benefit is time saved, but the less obvious one is fewer mistakes",
                "better structure tends to reduce stress, because people know what is expected of them",
                "the gains compound, since each improvement makes the next one cheaper",
                "clearer work is easier to hand over, review and improve",
                "good practice here protects quality when deadlines get tight",
                "the payoff often shows up first in fewer late surprises",
                "people tend to trust results more when they can see how they were produced",
                "there is also a cost to doing nothing, even if it is harder to see",
                "the benefits are rarely spread evenly, so it is worth knowing who gains most",
                "a modest investment of time at the start usually pays for itself within weeks",
                "every trade-off has a cost, and naming it openly leads to better choices",
                "the case for {kw} is strongest when it is tied to a concrete problem",
                "done well, work on {kw} frees up attention for the work that needs judgement",
                "the benefits of {kw} grow as more people share the same approach",
            ),
            ("why ", "benefit", "matter", "trade-off", "the case for", "stakes"),
        ),
        Archetype(
            "steps",
            "the first steps",
            "how to get started",
            _per_style(
                ("Getting Started Step by Step", "A Simple Way to Begin"),
                ("Setting Up a Working Process", "A Step-by-Step Procedure"),
                ("Start Small and Build Momentum", "Take the First Step Today"),
                ("The First Steps", "Finding a Way In"),
                ("A Better Way Forward", "What to Do Instead"),
            ),
            _per_style(
                ("How to Get Started with {Kw}", "First Steps with {Kw}"),
                ("Setting Up {Kw} Step by Step", "A Procedure for {Kw}"),
                ("Start Small with {Kw}", "Take Your First Step with {Kw}"),
                ("The First Steps into {Kw}", "Finding a Way into {Kw}"),
                ("A Better Way Forward for {Kw}", "What {Kw} Need{s} Instead"),
            ),
            (
                "getting started is mostly a matter of choosing a small first step and taking it",
                "the first steps set the pattern for everything that follows, so they deserve some care",
            ),
            (
                "begin with one small, well-defined piece of work rather than a grand plan",
                "write down the goal in a single sentence before choosing any method",
                "pick a first project that matters but will not cause harm if it goes wrong",
                "set a short time limit for the first attempt, then review what you learned",
                "agree early on who decides what, so that progress does not stall",
                "gather the materials and information you need before the work begins",
                "it helps to run through the whole process once, even roughly, before polishing any part of it",
                "a short written plan makes it much easier to ask others for feedback",
                "expect the first version to be rough, and plan time to improve it",
                "after each step, pause briefly to check that the result is what you expected",
                "keep a simple log of what you tried, what worked and what did not",
                "once the first cycle is complete, repeat it with one improvement at a time",
                "the first weeks with {kw} are about learning the shape of the work",
                "a simple routine for {kw} is easier to keep than an elaborate one",
            ),
            ("getting started", "get started", "first step", "step by step", "step-by-step", "setting up", "set up"),
        ),
        Archetype(
            "mistakes",
            "common mistakes",
            "the mistakes to avoid",
            _per_style(
                ("Common Mistakes to Avoid", "Where People Go Wrong"),
                ("Pitfalls and Edge Cases", "Common Failure Modes"),
                ("Avoid the Usual Mistakes", "Skip the Common Traps"),
                ("Setbacks Along the Way", "When Things Went Wrong"),
                ("The Myths Worth Dropping", "The Mistakes Nobody Talks About"),
            ),
            _per_style(
                ("Common Mistakes with {Kw}", "Where {Kw} Go{es} Wrong"),
                ("Pitfalls in {Kw}", "Failure Modes in {Kw}"),
                ("Avoid These {Kw} Mistakes", "Skip the Common {Kw} Traps"),
                ("Setbacks with {Kw}", "When {Kw} Went Wrong"),
                ("The Myths About {Kw}", "The {Kw} Mistakes Nobody Mentions"),
            ),
            (
                "most mistakes here are predictable, which means most of them can be avoided",
                "it is worth looking at what tends to go wrong, because the same problems come up again and again",
            ),
            (
                "the most common mistake is trying to change everything at once",
                "another frequent problem is copying someone else's approach without adapting it",
                "skipping the review step saves a little time and costs a lot later",
                "vague goals lead to vague results, however hard people work",
                "it is easy to confuse being busy with making progress",
                "ignoring early warning signs is usually more expensive than dealing with them",
                "too many tools can create more confusion than they remove",
                "a plan that depends on one person is fragile, however capable that person is",
                "measuring the wrong thing can push effort in the wrong direction",
                "promising too much too soon makes it harder to keep support later",
                "people often stop too early, just before the benefits start to appear",
                "failing to write decisions down means having the same debates again",
                "a classic error with {kw} is treating it as a one-off project",
                "many problems with {kw} come from unclear ownership rather than lack of skill",
            ),
            ("mistake", "pitfall", "avoid", "setback", "myth", "trap", "go wrong", "goes wrong", "went wrong",
             "failure mode"),
        ),
        Archetype(
            "tools",
            "the right tools",
            "useful tools",
            _per_style(
                ("Useful Tools and Resources", "Resources Worth Knowing"),
                ("Tooling and Configuration", "Choosing the Right Stack"),
                ("Pick the Right Tools", "Use Simple Tools Well"),
                ("The Tools That Helped", "Finding the Right Tools"),
                ("Tools Are Not the Strategy", "Where Tools Help and Where They Do Not"),
            ),
            _per_style(
                ("Tools and Resources for {Kw}", "Useful {Kw} Resources"),
                ("Tooling for {Kw}", "Choosing a Stack for {Kw}"),
                ("Pick the Right Tools for {Kw}", "Use Simple {Kw} Tools Well"),
                ("The Tools Behind {Kw}", "Finding Tools for {Kw}"),
                ("Tools Are Not a {Kw} Strategy", "Where Tools Help {Kw}"),
            ),
            (
                "tools can help a great deal, but only once the way of working is clear",
                "the right tools are the ones people actually use, not the ones with the longest feature list",
            ),
            (
                "a shared document or simple spreadsheet is often enough to begin with",
                "choose tools that fit the way people already work, rather than forcing a new routine",
                "free or low-cost options are usually fine until the process has proved itself",
                "every new tool adds something to learn, so add them one at a time",
                "templates save time, as long as they are kept short and up to date",
                "it is worth checking how easily data can be exported before committing to any tool",
                "a tool should remove a real pain point, not just look impressive in a demo",
                "good resources include clear guides, worked examples and a community that answers questions",
                "automation is most useful for dull, repetitive steps that rarely change",
                "review the tool set once a year and retire anything nobody uses",
                "simple tools used consistently beat powerful tools used occasionally",
                "the best reference material is often written by people doing the same work",
                "many tools claim to make {kw} easier, but few fit every situation",
                "for {kw}, the right tool depends on the size and habits of the team",
            ),
            ("tool", "resource", "software", "stack"),
        ),
        Archetype(
            "measure",
            "measuring progress",
            "how to measure progress",
            _per_style(
                ("Measuring Progress", "How to Tell It Is Working"),
                ("Testing and Measuring Results", "Metrics and Monitoring"),
                ("Measure What Matters", "Track a Few Clear Numbers"),
                ("Seeing the Results", "How the Numbers Changed"),
                ("Measuring What Actually Counts", "Rethinking Success"),
            ),
            _per_style(
                ("Measuring Success with {Kw}", "How to Tell {Kw} {Is} Working"),
                ("Metrics for {Kw}", "Monitoring {Kw}"),
                ("Measure Your {Kw} Results", "Track Your {Kw} Progress"),
                ("Results from {Kw}", "How {Kw} Changed the Numbers"),
                ("Rethinking Success in {Kw}", "What Counts in {Kw}"),
            ),
            (
                "measurement keeps everyone honest, as long as the measures are chosen with care",
                "without some way to measure progress, it is hard to know whether any of this is working",
            ),
            (
                "pick two or three measures that reflect the real goal, not just what is easy to count",
                "record a baseline first, so that later changes can be compared fairly",
                "look at trends over several weeks rather than reacting to a single bad day",
                "numbers are most useful when they lead to a decision or a conversation",
                "qualitative feedback often explains what the numbers cannot",
                "a simple dashboard that people actually read beats a complex one that nobody opens",
                "when a measure becomes a target, it can stop telling the truth",
                "review the measures themselves from time to time, since goals change",
                "share results openly, including the disappointing ones",
                "small, regular check-ins are easier to act on than a big annual review",
                "it helps to decide in advance what result would count as success",
                "progress is easier to sustain when people can see it",
                "the right measures for {kw} depend on what you are trying to change",
                "honest measurement of {kw} sometimes shows that less effort would do",
            ),
            ("measur", "metric", "kpi", "monitor", "track progress", "success"),
        ),
        Archetype(
            "example",
            "real examples",
            "a worked example",
            _per_style(
                ("A Worked Example", "An Example in Practice"),
                ("A Worked Example", "Putting It Together"),
                ("Learn from Real Examples", "See It in Action"),
                ("A Day in the Life", "One Team's Experience"),
                ("Lessons from the Field", "What the Best Teams Do Differently"),
            ),
            _per_style(
                ("{Kw} in Practice", "An Example of {Kw}"),
                ("A Worked Example of {Kw}", "Putting {Kw} Together"),
                ("See {Kw} in Action", "Learn from Real {Kw} Examples"),
                ("A Day with {Kw}", "One Team's Experience of {Kw}"),
                ("Lessons from {Kw} in the Field", "What the Best {Kw} Teams Do Differently"),
            ),
            (
                "an example makes the ideas easier to picture, so consider a typical situation",
                "ideas are easier to judge when they are applied to a concrete case",
            ),
            (
                "imagine a small team with limited time and a clear but ambitious goal",
                "in the first week, they agree on one priority and write it on a single page",
                "they then choose one measure of progress and record where they stand today",
                "the first attempt is rough, but it shows where the real obstacles are",
                "after a short review, they drop one step that added work without adding value",
                "by the second month, the routine feels normal rather than new",
                "the biggest change is not speed but confidence, because everyone knows what comes next",
                "a newcomer joins and can follow the process from the written notes alone",
                "when a problem appears, it is spotted early and fixed without drama",
                "the team keeps a short list of lessons and reviews it every few weeks",
                "none of this required special talent, only steady attention",
                "the same pattern works in larger organisations, with a little more coordination",
                "for this team, {kw} stopped being a project and became part of normal work",
                "the example shows that progress with {kw} comes through small, visible changes",
            ),
            ("example", "case stud", "in action", "in practice", "a day in", "day with"),
        ),
        Archetype(
            "future",
            "the road ahead",
            "what comes next",
            _per_style(
                ("What Comes Next", "Looking Ahead"),
                ("Scaling and Maintenance", "Keeping It Running"),
                ("Keep Improving Over Time", "Plan for the Long Term"),
                ("Looking Ahead", "The Next Chapter"),
                ("Predictions for the Next Five Years", "Where This Is Heading"),
            ),
            _per_style(
                ("The Future of {Kw}", "What Comes Next for {Kw}"),
                ("Scaling {Kw}", "Maintaining {Kw} Over Time"),
                ("Keep Improving Your {Kw}", "Plan {Kw} for the Long Term"),
                ("The Next Chapter for {Kw}", "Looking Ahead with {Kw}"),
                ("Where {Kw} {Is} Heading", "Predictions for {Kw}"),
            ),
            (
                "it is worth looking ahead, because what works today will need adjusting tomorrow",
                "no approach stays right forever, so it pays to plan for change",
            ),
            (
                "expect the tools to keep changing while the underlying principles stay much the same",
                "the skills that will matter most are judgement, clear communication and steady habits",
                "growth brings new problems, so review the process whenever the team or workload changes",
                "maintenance is less exciting than launch, but it decides whether results last",
                "a yearly review of goals and methods keeps the work aligned with what matters",
                "new ideas are worth testing in small pilots before any wider change",
                "as expectations rise, consistent quality will count for more than occasional brilliance",
                "the people who keep learning will find each change easier than the last",
                "planning for turnover means writing down what currently lives in people's heads",
                "the pace of change makes flexible plans more valuable than detailed ones",
                "what looks advanced today will probably be ordinary practice in a few years",
                "the best preparation for the future is a process that is easy to adjust",
                "interest in {kw} is likely to keep growing as more people see the results",
                "the next few years will probably make {kw} more accessible, not less",
            ),
            ("future", "what comes next", "looking ahead", "predict", "trend", "road ahead", "scaling", "maintenance",
             "long term", "next chapter"),
        ),
        Archetype(
            "habits",
            "good habits",
            "the habits that last",
            _per_style(
                ("Habits That Make It Stick", "Best Practices"),
                ("Best Practices", "Operating Principles"),
                ("Build Habits That Last", "Make It a Routine"),
                ("The Habits That Stuck", "Making It Last"),
                ("The Principles That Will Last", "What Good Practice Looks Like"),
            ),
            _per_style(
                ("Best Practices for {Kw}", "Habits That Make {Kw} Stick"),
                ("{Kw} Best Practices", "Operating Principles for {Kw}"),
                ("Build Better {Kw} Habits", "Make {Kw} a Routine"),
                ("Making {Kw} Stick", "The {Kw} Habits That Stuck"),
                ("Principles for {Kw}", "What Good {Kw} Practice Looks Like"),
            ),
            (
                "good habits turn occasional success into something dependable",
                "best practices are simply the habits that have survived contact with real work",
            ),
            (
                "set aside a regular, protected time for the work instead of fitting it in around everything else",
                "keep notes short and current, because long and outdated notes are ignored",
                "review one thing each week and improve it slightly",
                "make the default choice the good choice, so less willpower is needed",
                "celebrate small improvements, since they are what keep people engaged",
                "ask for feedback before it is needed, not after something breaks",
                "keep the number of rules small enough that everyone can remember them",
                "finish what you start before adding new commitments",
                "pair experienced people with newcomers so that knowledge spreads naturally",
                "stop doing things that no longer serve the goal, even if they are familiar",
                "plan the week around the most important task, not the most urgent message",
                "a short end-of-day note makes the next morning far more productive",
                "good habits around {kw} are built one small routine at a time",
                "the most reliable {kw} habits are boring, and that is their strength",
            ),
            ("habit", "best practice", "principle", "routine"),
        ),
        Archetype(
            "audience",
            "this audience",
            "what it means for you",
            _per_style(
                ("What This Means for {Reader}",),
                ("Notes for {Reader}",),
                ("Tailor It for {Reader}",),
                ("What It Meant for {Reader}",),
                ("Why {Reader} Should Care",),
            ),
            _per_style(
                ("{Kw} for {Reader}",),
                ("{Kw} for {Reader}",),
                ("Tailor {Kw} for {Reader}",),
                ("{Kw} and {Reader}",),
                ("Why {Kw} Matter{s} to {Reader}",),
            ),
            (
                "it is worth looking at all of this from the point of view of {reader}",
                "the needs of this audience shape which of these ideas matter most",
            ),
            (
                "time is usually the scarcest resource here, so the simplest options come first",
                "the advice that works best in this situation is practical, specific and easy to try",
                "it helps to start from the problems people already recognise in their own work",
                "examples drawn from daily work make the ideas easier to apply",
                "most of what matters can be done without large budgets or special tools",
                "the right pace depends on how much change people can absorb at once",
                "it is worth asking what matters most to them before recommending any method",
                "support from peers matters a great deal, especially at the start",
                "clear, jargon-free explanations serve better than technical detail",
                "the guidance here is meant to help {reader} move from reading to doing",
                "effort spent on {kw} is most useful here when it solves an immediate problem",
            ),
        ),
        Archetype(
            "source",
            "this evidence",
            "what the research shows",
            _per_style(
                ("What {Src} Shows",),
                ("Notes on {Src}",),
                ("Learn from {Src}",),
                ("A Lesson from {Src}",),
                ("What {Src} Gets Right",),
            ),
            {},
            (),
            (
                "evidence like this is most useful when it is tested against your own situation",
                "it is worth reading sources like this in full rather than relying on summaries",
                "no single source settles the question, but this one adds useful detail",
                "the findings fit a wider pattern that many practitioners will recognise",
                "it is sensible to note the context of any finding before applying it elsewhere",
                "the value of this evidence lies in its detail, not just its headline",
                "sources like this help separate what is known from what is merely assumed",
                "the practical question is what this evidence suggests you should do differently",
                "a careful reader will ask who was studied, when and under what conditions",
                "this kind of evidence works best alongside your own observations",
                "it is a reminder that good decisions rest on more than intuition",
                "the discussion around {kw} benefits from evidence of this kind",
            ),
        ),
        Archetype(
            "custom",
            "",
            "",
            {},
            {},
            ("this section looks at {focus} in practical terms", "there is more to {focus} than it first appears"),
            (
                "the first question about {focus} is what problem it should solve",
                "a realistic plan for {focus} starts with what can be done this week",
                "it helps to break {focus} into smaller parts and deal with them one at a time",
                "experience with {focus} tends to build quickly once the first attempt is made",
                "the details of {focus} vary from one situation to another, but the principles travel well",
                "people who do well at {focus} usually keep their approach simple and consistent",
                "a frank review of {focus} often shows quick wins that were easy to miss",
                "good judgement about {focus} comes from practice and honest reflection",
            ),
        ),
    )
}

# Second names for each archetype's focus: in long pieces, once a section has used its frames,
# the frames that name the focus are used once more under the second name.
ALTERNATIVE_FOCUS = {
    "basics": ("the core ideas", "the fundamentals"),
    "benefits": ("the payoff", "the real gains"),
    "steps": ("the opening phase", "a first working routine"),
    "mistakes": ("the usual pitfalls", "avoidable errors"),
    "tools": ("the tool set", "useful resources"),
    "measure": ("progress measures", "the numbers that matter"),
    "example": ("practical cases", "everyday examples"),
    "future": ("long-term planning", "the next few years"),
    "habits": ("daily routines", "lasting practices"),
    "audience": ("these readers", "their day-to-day priorities"),
    "custom": ("the practical side of {focus}", "everyday work on {focus}"),
}

# Archetypes in the order each style introduces them (after the sources' sections).
STYLE_PLANS = {
    "educational": ("basics", "benefits", "steps", "example", "mistakes", "habits", "tools", "measure", "future"),
    "technical": ("basics", "steps", "tools", "mistakes", "measure", "example", "future", "habits", "benefits"),
    "listicle": ("basics", "steps", "tools", "habits", "mistakes", "measure", "example", "future", "benefits"),
    "narrative": ("basics", "benefits", "steps", "mistakes", "example", "measure", "future", "habits", "tools"),
    "thought_leadership": (
        "basics", "benefits", "mistakes", "future", "habits", "measure", "example", "steps", "tools",
    ),
}
CLASSIFY_ORDER = ("basics", "future", "mistakes", "tools", "measure", "example", "habits", "steps", "benefits")

TITLES = _per_style(
    ("Understanding {Base}", "Understanding {Base}: A Beginner's Guide", "{Base} Explained"),
    ("{Base}: A Practical Guide", "A Practical Guide to {Base}", "{Base} in Practice: A Technical Guide"),
    ("{N} Ways to Get More from {Base}", "{N} Practical Tips for {Base}", "{N} Things to Know About {Base}"),
    ("The Story of {Base}", "What {Base} Taught Us", "A Journey Through {Base}"),
    ("Why {Base} Matter{s} Now", "Rethinking {Base}", "Why {Base} Matter{s} More Than Ever"),
)

# Introduction hooks per style: (with keyword and reader, with keyword only, reader only, neither).
HOOKS = _per_style(
    (
        ("this guide explains {kw} for {reader}, from the first principles to the habits that make it stick",
         "understanding {kw} is easier for {reader} once the basic ideas are laid out in order"),
        ("this guide explains {kw} in plain language, from the first principles to the habits that make it stick",
         "if you have ever wondered where to start with {kw}, this guide walks through it step by step"),
        ("this short guide covers the essentials for {reader}, in a clear and practical order",),
        ("this short guide covers the essentials in a clear and practical order",),
    ),
    (
        ("here is a practical, step-by-step look at {kw} for {reader}, with clear terms and a process you can repeat",
         "for {reader}, getting {kw} right depends less on clever tricks than on a clear process and honest "
         "measurement"),
        ("this guide takes a practical, step-by-step look at {kw}, with clear definitions and a process you can "
         "repeat",
         "getting {kw} right depends less on clever tricks than on a clear process, precise terms and honest "
         "measurement"),
        ("this guide sets out the essentials for {reader}, with precise terms and a repeatable process",),
        ("this guide sets out the essentials, with precise terms and a repeatable process",),
    ),
    (
        ("these are the most useful ideas on {kw} for {reader}, kept short and practical",
         "if you want better results with {kw}, the ideas below make the biggest difference for {reader}"),
        ("if you want better results with {kw}, the ideas below make the biggest difference",
         "these practical tips on {kw} are short, specific and easy to put into practice"),
        ("here are the ideas that make the biggest difference for {reader}, in order",),
        ("here are the ideas that make the biggest difference, in a sensible order",),
    ),
    (
        ("this is a story about {kw}, told with {reader} in mind, and it begins with a familiar problem",
         "every story about {kw} starts with a problem that {reader} will recognise"),
        ("every story about {kw} starts with a problem that will not go away on its own",
         "this is a story about {kw}, and like most good stories it begins with a problem"),
        ("this story starts with a familiar problem that {reader} will recognise",),
        ("this story starts with a familiar problem and an uncertain first step",),
    ),
    (
        ("for {reader}, the way we think about {kw} is changing, and the change matters more than most admit",
         "most conversations about {kw} start in the wrong place, at a real cost to {reader}"),
        ("most conversations about {kw} start in the wrong place, and that is costing people more than they realise",
         "the way we think about {kw} is changing, and the change matters more than most people admit"),
        ("for {reader}, the usual thinking on this subject deserves a second look",),
        ("the usual thinking on this subject deserves a second look",),
    ),
)

# A scene (narrative) or a thesis (thought leadership) said right after the hook.
OPENING_LINES = {
    "narrative": (
        "picture a small team on a Monday morning, looking at a to-do list that grows faster than it shrinks",
        "imagine a manager at the end of a long week, wondering why the same problems keep coming back",
        "picture the first meeting where someone finally asks the question everyone has been avoiding",
    ),
    "thought_leadership": (
        "the central claim of this piece is simple: the basics now matter more than the latest trend",
        "the argument here runs against the usual advice, and it starts with what people overlook",
    ),
}
AUDIENCE_LINES = (
    "it is written with {reader} in mind, so the advice stays practical and specific",
    "the advice is aimed at {reader}, and it assumes no special tools or budget",
    "everything here has been chosen with {reader} in mind",
)
TOPIC_LINES = (
    "the focus here is {topic}, and the practical questions that come with it",
    "the subject is {topic}, seen from a practical angle",
)
PREVIEW_LINES = (
    "the sections below cover {list}",
    "along the way, we look at {list}",
    "we will look at {list}, in that order",
)
INTRO_KEYWORD_LINES = (
    "this article looks at {kw} in practical, everyday terms",
    "the focus throughout is {kw} and what it means in practice",
    "the subject here is {kw}, approached from a practical angle",
)
CONCLUSION_KEYWORD_LINES = (
    "getting better at {kw} is less about big breakthroughs than about steady, sensible habits",
    "the main lesson about {kw} is that clear goals and consistent practice do most of the work",
    "there is no single trick to {kw}, but the ideas above give you a solid place to start",
    "in the end, success with {kw} comes down to a few basics done well",
)
CONCLUSION_PLAIN_LINES = (
    "the main lesson is that clear goals and consistent practice do most of the work",
    "in the end, success comes down to a few basics done well",
)
RECAP_LINES = (
    "we looked at {list}",
    "the ground covered here includes {list}",
    "taken together, {list} make a practical plan",
)
CLOSERS = {
    "professional": (
        "choose one improvement, assign an owner and review the result in a month",
        "the next step is to agree on one priority and schedule the first review",
    ),
    "casual": ("so pick one idea, give it a go and see what happens", "try one thing this week and see how it feels"),
    "academic": (
        "further work should test these observations against a wider range of settings",
        "these observations remain provisional until they are tested in more varied contexts",
    ),
    "inspirational": (
        "start today, keep going and let the results speak for themselves",
        "the first step is the hardest, and you are ready to take it",
    ),
    "friendly": (
        "try one idea this week, and come back to the rest whenever you are ready",
        "take it one step at a time, and enjoy seeing the progress add up",
    ),
    "authoritative": (
        "apply these principles consistently, and the results will follow",
        "hold to these standards, and the quality of the work will speak for itself",
    ),
}

QUOTE_FRAMES = (  # the first two need a title to read well
    "one source, {title}, makes the point directly: “{quote}” [{n}]",
    "{title} offers a useful observation: “{quote}” [{n}]",
    "as {title} puts it, “{quote}” [{n}]",
    "according to {title}, “{quote}” [{n}]",
    "the point is made clearly in {title}: “{quote}” [{n}]",
    "in the words of {title}, “{quote}” [{n}]",
)
TITLE_FRAMES = (
    "for a closer look at {focus}, {title} is a useful reference [{n}]",
    "the discussion in {title} adds helpful context on {focus} [{n}]",
    "readers who want more depth on {focus} can turn to {title} [{n}]",
)
TITLE_FRAMES_UNFOCUSED = (
    "the discussion in {title} adds helpful context here [{n}]",
    "for more depth, {title} is a useful reference [{n}]",
    "{title} is worth reading alongside this section [{n}]",
    "there is more detail on this in {title} [{n}]",
)

CONTRACTIONS = (
    ("do not", "don't"), ("does not", "doesn't"), ("did not", "didn't"), ("is not", "isn't"),
    ("are not", "aren't"), ("cannot", "can't"), ("will not", "won't"), ("would not", "wouldn't"),
    ("it is", "it's"), ("that is", "that's"), ("there is", "there's"), ("you are", "you're"),
    ("we are", "we're"), ("they are", "they're"), ("you will", "you'll"), ("let us", "let's"),
    ("what is", "what's"),
)
FORMAL_WORDS = (
    ("a lot of", "a considerable amount of"), ("big", "substantial"), ("stuff", "material"), ("often", "frequently"),
    ("usually", "typically"), ("easy", "straightforward"), ("problems", "difficulties"), ("problem", "difficulty"),
    ("fix", "rectify"), ("use", "utilise"), ("people(?!')", "practitioners"), ("enough", "sufficient"),
    ("whole", "entire"), ("at the start", "at the outset"), ("the first attempt", "the initial attempt"),
    ("asking for help", "asking for assistance"),
)
CONTRACTION_PATTERNS = tuple(
    # "it is" only where it opens a clause: "another way to see it is that …" must stay as it is.
    (re.compile(rf"(?:^|(?<=, )|(?<=: )|(?<=that ))\b{long}\b(?=\s\w)" if long.endswith(" is") else rf"\b{long}\b"),
     short)
    for long, short in CONTRACTIONS
) + tuple((re.compile(rf"\b{long.capitalize()}\b"), short.capitalize()) for long, short in CONTRACTIONS)
FORMAL_PATTERNS = tuple((re.compile(rf"\b{plain}\b"), formal) for plain, formal in FORMAL_WORDS)
# Text from outside (notes, quotes, titles) with any of these is not used; frames are only checked
# for unfilled slots and the disclaimer, since a keyword may well be "todo apps".
PLACEHOLDER = re.compile(r"lorem|\btodo\b|\[insert|[{}]|\bas an ai\b|\bas a language model\b", re.IGNORECASE)
UNFILLED = re.compile(r"[{}]|\bas an ai\b", re.IGNORECASE)
CITATION = re.compile(r"\s*\[(\d+)\]")
SENTENCE_BREAK = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)]))\s+(?=[A-Z0-9\"“‘(\[*_])")
SMALL_WORDS = {"a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "of", "on", "or", "the",
               "to", "with", "vs"}
CONCLUSION_HEADING = re.compile(r"^(conclusion|final thoughts|wrapping up|summary|key takeaways|in closing)\b", re.I)
INTRODUCTION_HEADING = re.compile(r"^introduction$", re.I)
VERBS = {
    "pick", "start", "avoid", "learn", "know", "build", "use", "measure", "keep", "make", "choose", "create",
    "set", "get", "find", "plan", "write", "test", "improve", "understand", "define", "take", "track", "focus",
    "skip", "tailor", "see", "put", "run", "stop", "cut", "apply", "review", "manage", "design", "develop",
    "adopt", "grow", "scale", "automate", "prepare", "reduce", "increase", "boost", "master", "explore",
    "compare", "try", "give", "ask", "share", "protect", "secure", "optimize", "optimise", "embrace", "rethink",
    "handle", "lead", "hire", "train", "launch", "ship", "deploy", "monitor", "document", "organize", "organise",
}
PREDICATES = {"still", "really", "now", "always", "never", "actually", "finally", "matters", "helps", "needs",
              "changes", "fails", "wins", "beats", "drives", "shapes", "affects", "improves", "saves", "costs"}
DOUBLED = {"set", "get", "plan", "stop", "run", "cut", "put", "skip", "ship", "scan", "begin", "swim"}
TOKENS_PER_WORD = 1.3
CHARACTERS_PER_TOKEN = 4


def estimate_usage(prompt_text: str, output_text: str) -> Usage:
    """Tokens a chat model would have used for the same job, as an estimate.

    Input: everything a chat model would have been sent (brief, notes, sources, outline or the
    article under revision) at about four characters per token, the usual rule of thumb for
    English with BPE tokenisers. Output: the words written × 1.3. The offline model costs nothing;
    the numbers only keep per-stage usage comparable across models.
    """
    return Usage(
        input_tokens=math.ceil(len(prompt_text) / CHARACTERS_PER_TOKEN),
        output_tokens=math.ceil(count_words(output_text) * TOKENS_PER_WORD),
    )


def _seeded(*inputs) -> random.Random:
    """A private generator seeded from the inputs, so that equal inputs give equal articles."""
    payload = json.dumps(inputs, sort_keys=True, default=lambda value: asdict(value))
    return random.Random(int.from_bytes(hashlib.sha256(payload.encode()).digest()[:8], "big"))


@lru_cache(maxsize=8192)
def _count(text: str) -> int:
    return count_words(text)


@lru_cache(maxsize=16384)
def _trigrams(text: str) -> tuple[tuple[str, str, str], ...]:
    found = [word.lower() for word in words(text)]
    return tuple(t for t in zip(found, found[1:], found[2:]) if not set(t) <= STOPWORDS)


@lru_cache(maxsize=256)
def _keyword_pattern(keyword: str) -> re.Pattern:
    return re.compile(r"(?<![\w])" + r"\s+".join(map(re.escape, keyword.split())) + r"(?![\w])", re.IGNORECASE)


def _fill(template: str, values: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: values.get(match.group(1), match.group(0)), template)


def _capitalize(text: str) -> str:
    for index, char in enumerate(text):
        if char.isalnum():
            return text[:index] + char.upper() + text[index + 1:]
    return text


@lru_cache(maxsize=65536)
def _normalized(text: str) -> str:
    """Words only, lower case, citations dropped: two sentences that read alike compare equal."""
    return " ".join(re.findall(r"[a-z0-9]+", CITATION.sub(" ", text).lower()))


def _is_proper(word: str) -> bool:
    """Acronyms and brand-like words (SEO, iPhone, DevOps) keep their case in prose and titles."""
    letters = [char for char in word if char.isalpha()]
    return sum(char.isupper() for char in letters) >= 2 or (bool(letters) and letters[0].islower() and
                                                             any(char.isupper() for char in letters))


def _title_case(text: str) -> str:
    words = text.split(" ")
    result = []
    for index, word in enumerate(words):
        if _is_proper(word) or any(char.isdigit() for char in word) or not word:
            result.append(word)
        elif index > 0 and word.lower() in SMALL_WORDS and not words[index - 1].endswith(":"):
            result.append(word.lower())
        else:
            result.append("-".join(_capitalize(part) for part in word.split("-")))
    return " ".join(result)


def _prose_case(text: str) -> str:
    """A phrase as it reads mid-sentence: a Title Cased phrase is lowered, acronyms are kept."""
    words = text.split()
    capitalized = [word for word in words if word[:1].isupper() and not _is_proper(word)]
    if words and len(capitalized) / len(words) > 0.6:
        return " ".join(word if _is_proper(word) else word.lower() for word in words)
    if words and words[0][:1].isupper() and not _is_proper(words[0]):
        words[0] = words[0].lower()
    return " ".join(words)


def _gerund(verb: str) -> str:
    verb = verb.lower()
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb in DOUBLED:
        return verb + verb[-1] + "ing"
    if verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")):
        return verb[:-1] + "ing"
    return verb + "ing"


def _subject(topic: str) -> str:
    """A short noun phrase for the topic, used where a keyword would go when the brief has none."""
    text = re.sub(r"\s+", " ", topic).strip().rstrip("?.!:")
    how_to = text.lower().startswith("how to ")
    for _ in range(2):
        text = re.sub(r"^(?:how to|how|why|what is|what are|what|when|a guide to|guide to|introduction to|"
                      r"the|an|a)\s+", "", text, flags=re.I)
    words = text.split()
    auxiliaries = {"can", "could", "should", "will", "would", "may", "might", "must", "do", "does", "is", "are"}
    for index, word in enumerate(words):
        if word.lower() in auxiliaries and 0 < index < len(words) - 1:
            words = words[index + 1:]
            how_to = True
            break
        if word.lower() in PREDICATES and index > 0:  # "SEO still matters in 2025" → "SEO"
            words = words[:index]
            break
    if how_to and words and words[0].lower() in VERBS:
        words[0] = _gerund(words[0])
    if len(words) > 4:
        for separator in (":", ",", " for ", " in ", " with ", " without ", " and "):
            head = " ".join(words).split(separator)[0].split()
            if 1 < len(head) < len(words):
                words = head
                break
    return _prose_case(" ".join(words[:6])) or _prose_case(topic)


def _clean_quote(text: str, limit: int = 32) -> str:
    text = re.sub(r"\s+", " ", CITATION.sub("", text or "")).strip().strip("\"“”'‘’")
    text = text.replace("{", "").replace("}", "").replace("“", "‘").replace("”", "’").replace('"', "'")
    if not text or PLACEHOLDER.search(text):
        return ""
    first = SENTENCE_BREAK.split(text)[0].strip()
    words = first.split()
    if len(words) > limit:
        first = " ".join(words[:limit]).rstrip(",;:") + "…"
    return first.rstrip(".") if first.endswith(".") and not first.endswith("..") else first


def _clean_title(title: str) -> str:
    title = re.sub(r"\s+", " ", (title or "").replace("{", "").replace("}", "")).strip().strip("\"“”")
    title = title.replace("*", "").replace("_", " ")
    if not title or PLACEHOLDER.search(title) or re.match(r"https?://", title) or len(title.split()) > 14:
        return ""
    return title


def _short_title(title: str) -> str:
    """A source title short enough for a heading ("Remote Work Report 2024 – Example" → its first part)."""
    head = re.split(r"\s[|–—-]\s|:\s", _clean_title(title))[0].strip()
    return head if head and len(head.split()) <= 6 else ""


def _plural(phrase: str) -> bool:
    """Whether a noun phrase takes a plural verb ("electric cars matter", "remote work matters"),
    judged by the last word before any preposition."""
    head = re.split(r"\s+(?:for|in|of|with|on|at|to|from|by|about|and)\s+", phrase.strip(), maxsplit=1)[0].split()
    if not head:
        return False
    last = head[-1].lower()
    singular = {"devops", "mlops", "news", "series", "species", "kubernetes", "business", "sales"}
    return last.endswith("s") and not last.endswith(("ss", "us", "is", "ics")) and last not in singular


def _agreement(phrase: str) -> dict:
    plural = _plural(phrase)
    return {"s": "" if plural else "s", "es": "" if plural else "es", "Is": "Are" if plural else "Is"}


def _join_list(items: list[str]) -> str:
    items = [item for item in items if item]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True)
class Voice:
    """Who is writing for whom: style, tone and the words slotted into frames."""

    style: str
    tone: str
    keyword: str  # the brief's primary keyword, "" when it has none
    kw: str  # what fills {kw}: the keyword, else a short subject made from the topic
    reader: str  # the target audience, "" when none was given
    topic: str

    @classmethod
    def for_brief(cls, brief: Brief) -> Voice:
        keyword = re.sub(r"\s+", " ", brief.primary_keyword or "").strip()
        style = brief.style if brief.style in STYLE_PLANS else "educational"
        tone = brief.tone if brief.tone in TONE_POINTS else "professional"
        return cls(
            style=style,
            tone=tone,
            keyword=keyword,
            kw=keyword or _subject(brief.topic),
            reader=_prose_case(re.sub(r"\s+", " ", brief.target_audience or "").strip().rstrip(".")),
            topic=_prose_case(re.sub(r"\s+", " ", brief.topic).strip().rstrip("?.!")),
        )

    @cached_property
    def values(self) -> dict:
        return {"kw": self.kw, "Kw": _title_case(self.kw), "reader": self.reader or "most readers",
                "Reader": _title_case(self.reader), "topic": self.topic} | _agreement(self.kw)

    def fill(self, template: str, focus: str = "", **extra) -> str:
        values = self.values | {"focus": _fill(focus, self.values)} | extra
        return _fill(template, values)

    @lru_cache(maxsize=4096)  # noqa: B019 (voices are few and immutable)
    def shape(self, template: str) -> str:
        """A frame in this tone's words, before its slots are filled (so a keyword is never
        rewritten): contractions when casual or friendly, longer words when formal."""
        if self.tone in ("casual", "friendly"):
            for pattern, short in CONTRACTION_PATTERNS:
                template = pattern.sub(short, template)
        if self.tone == "academic" or self.style == "technical":
            for pattern, formal in FORMAL_PATTERNS:
                template = pattern.sub(formal, template)
        return template

    def say(self, template: str, focus: str = "") -> str:
        return self.fill(self.shape(template), focus)

    @staticmethod
    def finish(clause: str) -> str:
        """A clause as a sentence: capital first, stop last."""
        clause = _capitalize(clause.strip())
        return clause if clause[-1:] in ".!?" else clause + "."

    def occurrences(self, text: str) -> int:
        return len(_keyword_pattern(self.kw).findall(text)) if self.kw else 0


@dataclass
class KeywordPlan:
    """How often the keyword (or, without one, the topic's subject) may appear in the article.

    Density is measured as the QA rubric measures it (`content.quality`): the share of the
    article's words that belong to keyword occurrences, kept between 0.5 % and 2.5 %. A keyword of
    three or more words is itself a trigram, which the rubric allows at most three times per
    1,000 words. Placement follows what the budget allows: the title or first paragraph always,
    the conclusion from two occurrences, a `##` heading from three.
    """

    minimum: int
    want: int
    maximum: int

    @classmethod
    def for_target(cls, voice: Voice, target: int) -> KeywordPlan:
        if not voice.keyword:  # the subject stands in: never so often that it reads as repetition
            maximum = round(0.02 * target) + 2
            if len(voice.kw.split()) >= 3:
                maximum = min(maximum, trigram_limit(target) - 1)
            return cls(0, min(round(0.006 * target), maximum), maximum)
        length = len(voice.keyword.split())
        maximum = max(1, math.floor(0.0245 * target / length))
        if length >= 3:
            maximum = min(maximum, trigram_limit(target))
        minimum = min(maximum, max(1, math.ceil(0.0052 * target / length)))
        want = round(0.012 * target / length)
        return cls(minimum, min(max(want, minimum, 3), maximum), maximum)

    @property
    def heading_allowed(self) -> bool:
        return self.maximum >= 3

    @property
    def conclusion_allowed(self) -> bool:
        return self.maximum >= 2


@dataclass
class Sentence:
    """A sentence of the draft, with what the fitting step needs to know about it."""

    text: str
    words: int
    kw: int
    keep: bool = False  # never dropped: keyword placement, first citation of a source, closing line
    anchor: bool = False  # may be replaced by another sentence, never dropped
    new: bool = True  # written by this call, as opposed to parsed from the article under revision
    origin: tuple | None = None  # (writer, recipe) that wrote it, to try it with another lead or tail


@dataclass
class Paragraph:
    sentences: list[Sentence]
    size: int = 4  # planned number of sentences
    original: str | None = None  # parsed text, rendered verbatim while the paragraph is unchanged

    def render(self) -> str:
        return self.original if self.original is not None else " ".join(s.text for s in self.sentences)

    @property
    def words(self) -> int:
        return sum(s.words for s in self.sentences)


@dataclass
class Raw:
    """A block kept as it is: a list, a quote, code, a table, a sub-heading."""

    text: str
    words: int = 0
    kw: int = 0

    def render(self) -> str:
        return self.text


@dataclass
class Recipe:
    """A frame planned for one part, with how it may be said."""

    category: str
    template: str
    full: bool = False  # finished text (a quote, a note): no lead, no tone rewrite
    leadable: bool = True  # may open with a lead such as "In practice, " or close with a tail
    variant: tuple = (None, None)  # the lead and tail it is planned with
    ordered: bool = False  # said in its place at the head of the part, whatever the keyword plan prefers
    focus: str = ""  # another name for the part's focus, for frames used a second time in long pieces
    keep: bool = False
    used: bool = False
    cache: dict = field(default_factory=dict)


@dataclass
class Candidate:
    """A sentence a writer proposes; it counts as said only once committed."""

    recipe: Recipe
    variant: tuple
    sentence: Sentence
    key: str
    writer: Writer | None = None


@dataclass
class Shared:
    """What every writer of one article must not repeat."""

    mains: set = field(default_factory=set)
    texts: set = field(default_factory=set)
    leads: dict = field(default_factory=dict)  # how often each lead and tail was used
    uses: dict = field(default_factory=dict)  # how often each frame was used, under any focus
    banned: tuple = ()  # patterns of the phrases a revision removed
    existing: str = ""  # normalized article under revision: frames already in it are not reused
    trigrams: dict = field(default_factory=dict)  # trigram -> occurrences so far
    trigram_limit: int = 3

    def count(self, text: str) -> None:
        for trigram in _trigrams(text):
            self.trigrams[trigram] = self.trigrams.get(trigram, 0) + 1

    def overused(self, text: str) -> bool:
        found = _trigrams(text)
        return any(self.trigrams.get(trigram, 0) + found.count(trigram) > self.trigram_limit for trigram in found)


THAT_LEADS = ("that ",)
NO_LEAD_STARTS = {"at", "in", "for", "after", "once", "when", "by", "as", "then", "from", "within", "with", "before",
                  "over", "here", "done", "looking", "to", "imagine", "picture"}
IMPERATIVE_STARTS = VERBS | {"begin", "gather", "expect", "record", "look", "share", "celebrate", "finish", "pair",
                             "do", "feel", "agree", "think", "imagine", "picture", "consider", "stop", "ask"}
Variant = tuple  # (lead or None, tail or None)


class Writer:
    """Proposes the sentences of one part, in a planned order, never repeating one.

    A frame may open with a lead ("In practice, ") and close with a tail (", even in a small
    team"); both vary sentence length and rhythm and give the fitting step sentences of many
    lengths. A frame's main clause is used once per article, whatever its lead or tail.
    """

    def __init__(self, voice: Voice, shared: Shared, rng: random.Random, recipes: list[Recipe], *, focus: str = ""):
        self.voice = voice
        self.shared = shared
        self.focus = focus
        self.recipes = recipes
        self.last_opening = ""
        self.formal = _formal(voice)
        self.extra_keys: dict[str, str] = {}
        leads = GENERAL_LEADS + TONE_LEADS[voice.tone]
        tails = TAILS
        if _formal(voice):  # formal leads and tails twice over: more of them, and longer words
            leads, tails = FORMAL_LEADS * 2 + TONE_LEADS[voice.tone] + GENERAL_LEADS, FORMAL_TAILS * 2 + TAILS
        self.leads = list(dict.fromkeys(lead for lead in _shuffled(rng, leads) if _usable(lead, voice, focus)))
        self.tails = list(dict.fromkeys(_shuffled(rng, tails)))
        lead_share, tail_share = _rhythm(voice)
        turn = 0
        for index, recipe in enumerate(recipes):
            if recipe.full or recipe.ordered:
                continue
            if self._leadable(recipe) and rng.random() < lead_share:
                for _ in range(len(self.leads)):
                    lead = self.leads[turn % len(self.leads)]
                    turn += 1
                    if self._lead_fits(lead, recipe):
                        recipe.variant = (lead, None)
                        break
            tail = self.tails[index % len(self.tails)]
            if self._tail_fits(tail, recipe) and len(recipe.template.split()) <= 13 and rng.random() < tail_share:
                recipe.variant = (recipe.variant[0], tail)

    @staticmethod
    def _tail_fits(tail: str, recipe: Recipe) -> bool:
        """No "…, and that is fine, and …": a tail that adds a clause needs a main without one."""
        commas = recipe.template.count(",") + recipe.template.count(":") + recipe.template.count(";")
        return commas == 0 or (commas == 1 and not tail.startswith((", and", ", which")))

    @staticmethod
    def _leadable(recipe: Recipe) -> bool:
        first = recipe.template.split(" ", 1)[0].strip(",")
        return not recipe.full and recipe.leadable and not recipe.ordered and first not in NO_LEAD_STARTS

    def _lead_fits(self, lead: str, recipe: Recipe) -> bool:
        first = recipe.template.split(" ", 1)[0].strip(",")
        if "{reader}" in lead and "{reader}" in recipe.template:
            return False
        if self.focus and (self.focus in lead or "{focus}" in lead and (
                "{focus}" in recipe.template or self.focus in recipe.template
                or "{reader}" in self.focus and "{reader}" in recipe.template)):
            return False
        return self._leadable(recipe) and not (lead.endswith(THAT_LEADS) and first in IMPERATIVE_STARTS)

    def _render(self, recipe: Recipe, variant: Variant) -> Candidate | None:
        lead, tail = variant
        if variant not in recipe.cache:
            if recipe.full:
                text = main = recipe.template
            else:
                focus = recipe.focus or self.focus
                main = self.voice.say(recipe.template, focus)
                text = (self.voice.say(lead, focus) if lead else "") + main + (self.voice.say(tail) if tail else "")
                text = self.voice.finish(text)
                main = self.voice.finish(main)
            sentence = Sentence(text, _count(text), self.voice.occurrences(text), keep=recipe.keep)
            broken = not recipe.full and bool(UNFILLED.search(text))
            recipe.cache[variant] = (sentence, _normalized(main), _normalized(text), broken)
        sentence, key, normalized, broken = recipe.cache[variant]
        if key in self.shared.mains or normalized in self.shared.texts or (self.shared.existing and
                                                                          key in self.shared.existing):
            recipe.used = True  # its main clause is taken: no variant of it can be used any more
            return None
        if broken:
            return None
        if (self.shared.existing and not recipe.full and not recipe.focus
                and _frame_used(recipe.template, self.shared.existing)):
            recipe.used = True
            return None
        if self.shared.banned and any(pattern.search(sentence.text) for pattern in self.shared.banned):
            return None
        for extra in variant:
            if extra and self.shared.leads.get(self._extra_key(extra), 0) >= 2:
                return None
        if not recipe.keep and self.shared.overused(sentence.text):
            return None
        return Candidate(recipe, variant, Sentence(sentence.text, sentence.words, sentence.kw, keep=sentence.keep),
                         key, self)

    def _extra_key(self, extra: str) -> str:
        if extra not in self.extra_keys:
            self.extra_keys[extra] = _normalized(self.voice.fill(extra, self.focus))
        return self.extra_keys[extra]

    def _preferred(self, recipe: Recipe) -> Candidate | None:
        for variant in dict.fromkeys((recipe.variant, (recipe.variant[0], None), (None, None))):
            found = self._render(recipe, variant)
            if found is not None or recipe.used:
                return found
        return None

    def take(self, prefer_kw: bool | None = None, kw_room: int = 10**6) -> Candidate | None:
        """The next sentence in the planned order (not yet committed), preferring one with or
        without the keyword, never one that would exceed `kw_room` occurrences."""
        best = None  # (rank, candidate): a frame used less often in other parts ranks first
        for recipe in self.recipes:
            if recipe.used:
                continue
            found = self._preferred(recipe)
            if found is None or (found.sentence.kw > kw_room and not recipe.keep):
                continue
            if recipe.ordered:
                return found
            rank = (
                prefer_kw is not None and (found.sentence.kw > 0) != prefer_kw,
                self.shared.uses.get(recipe.template, 0) if not recipe.full else 0,
                _opening(found.sentence.text) == self.last_opening,
                self.formal and found.sentence.words < 18,  # formal writing prefers fuller sentences
            )
            if best is None or rank < best[0]:
                best = (rank, found)
                if not any(rank):
                    break
        return best[1] if best else None

    def owes(self) -> bool:
        """Whether a sentence that must be said (ordered and kept) is still unsaid."""
        return any(r.ordered and r.keep and not r.used for r in self.recipes)

    def pool(self, recipes: int = 10) -> list[Candidate]:
        """Upcoming sentences in several lengths (with and without leads and tails), for fitting."""
        found = []
        for recipe in self.recipes:
            if recipe.used:
                continue
            variants = [recipe.variant, (None, None)]
            if self._leadable(recipe):
                tail = recipe.variant[1] or next((t for t in self.tails if self._tail_fits(t, recipe)), None)
                variants += [(None, tail), (recipe.variant[0], None)]
                variants += [(lead, None) for lead in self.leads[:3] if self._lead_fits(lead, recipe)]
                variants += [(self.leads[-1], tail) for tail in self.tails[-2:]
                             if self._lead_fits(self.leads[-1], recipe) and self._tail_fits(tail, recipe)]
            for variant in dict.fromkeys(variants):
                candidate = self._render(recipe, variant)
                if candidate:
                    found.append(candidate)
            recipes -= 1
            if recipes <= 0:
                break
        return found

    def variants_of(self, sentence: Sentence) -> list[Sentence]:
        """The same sentence with other leads and tails (for the last few words of fitting)."""
        recipe = sentence.origin[1]
        if recipe.full or recipe.keep:
            return []
        options = [(None, tail) for tail in (*self.tails[-6:], *TAILS[-3:]) if self._tail_fits(tail, recipe)]
        if self._leadable(recipe):
            options += [(None, None), (recipe.variant[0], None), (None, recipe.variant[1])]
            options += [(lead, None) for lead in self.leads[:4] if self._lead_fits(lead, recipe)]
        found = []
        focus = recipe.focus or self.focus
        for lead, tail in dict.fromkeys(options):
            main = self.voice.say(recipe.template, focus)
            text = self.voice.finish((self.voice.say(lead, focus) if lead else "") + main
                                     + (self.voice.say(tail) if tail else ""))
            if text == sentence.text or _normalized(text) in self.shared.texts:
                continue
            if self.shared.banned and any(pattern.search(text) for pattern in self.shared.banned):
                continue
            if self.shared.overused(text):
                continue
            found.append(Sentence(text, _count(text), self.voice.occurrences(text), keep=sentence.keep,
                                  anchor=sentence.anchor, origin=sentence.origin))
        return found

    def replace(self, old: Sentence, new: Sentence) -> None:
        self.shared.texts.discard(_normalized(old.text))
        self.shared.texts.add(_normalized(new.text))
        self.shared.count(new.text)

    def commit(self, candidate: Candidate) -> Sentence:
        candidate.sentence.origin = (self, candidate.recipe)
        candidate.recipe.used = True
        self.shared.count(candidate.sentence.text)
        self.shared.uses[candidate.recipe.template] = self.shared.uses.get(candidate.recipe.template, 0) + 1
        self.last_opening = _opening(candidate.sentence.text)
        self.shared.mains.add(candidate.key)
        self.shared.texts.add(_normalized(candidate.sentence.text))
        for extra in candidate.variant:
            if extra:
                key = self._extra_key(extra)
                self.shared.leads[key] = self.shared.leads.get(key, 0) + 1
        return candidate.sentence


@lru_cache(maxsize=4096)
def _frame_chunks(template: str) -> tuple[str, ...]:
    chunks = (_normalized(chunk) for chunk in re.split(r"\{\w+\}", template))
    return tuple(chunk for chunk in chunks if len(chunk.split()) >= 3)


def _frame_used(template: str, existing: str) -> bool:
    """Whether the article under revision already says this frame, with whatever slotted in."""
    chunks = _frame_chunks(template)
    return bool(chunks) and all(chunk in existing for chunk in chunks)


@lru_cache(maxsize=16384)
def _opening(text: str) -> str:
    """The first two words, so that neighbouring sentences do not open the same way."""
    return " ".join(_normalized(text).split()[:2])


def _usable(template: str, voice: Voice, focus: str) -> bool:
    if "{focus}" in template and not focus:
        return False
    return not ("{reader}" in template and not voice.reader)


def _shuffled(rng: random.Random, items: Iterable[str]) -> list[str]:
    items = list(items)
    rng.shuffle(items)
    return items


def _mixture(rng: random.Random, pools: dict[str, tuple[float, list]]) -> list[tuple[str, object]]:
    """Interleave pools by weight, deterministically, until all are used."""
    order = []
    pools = {name: (weight, list(items)) for name, (weight, items) in pools.items() if items}
    while pools:
        names = list(pools)
        name = rng.choices(names, weights=[pools[n][0] for n in names])[0]
        weight, items = pools[name]
        order.append((name, items.pop(0)))
        if not items:
            del pools[name]
    return order


def _rhythm(voice: Voice) -> tuple[float, float]:
    """How often frames take a lead and a tail: the sentence shape of a tone and style."""
    lead = {"listicle": 0.5}.get(voice.style, 0.48)
    lead += {"academic": 0.25, "authoritative": 0.08, "casual": -0.05}.get(voice.tone, 0)
    tail = {"listicle": 0.55, "technical": 0.7}.get(voice.style, 0.5)
    tail += {"academic": 0.3, "authoritative": 0.1}.get(voice.tone, 0)
    if voice.style == "technical":
        lead += 0.2
    return min(lead, 0.85), min(tail, 0.9)


def _formal(voice: Voice) -> bool:
    """Technical pieces and academic tone read at college level (the rubric wants ease 30–60)."""
    return voice.style == "technical" or voice.tone == "academic"


# ---------------------------------------------------------------------------------------------
# Planning: title, sections and what each section is about.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SectionPlan:
    heading: str  # as in the outline, without listicle numbering
    archetype: str
    focus: str
    source: Source | None = None


def _sources(research: Research) -> list[Source]:
    seen, found = set(), []
    for source in research.sources:
        if source.number > 0 and source.number not in seen:
            seen.add(source.number)
            found.append(source)
    return found


def _strip_number(heading: str) -> str:
    return re.sub(r"^\s*(?:\d+[.):]|step \d+[.:]?)\s*", "", heading.strip(), flags=re.I).strip()


def _section_count(word_count: int) -> int:
    return max(3, min(8, round(word_count / 215)))


def _focus_from_heading(heading: str) -> str:
    """A noun phrase for a heading nobody planned here ("Pick the Right Tools" → "picking the right tools")."""
    text = _strip_number(heading).rstrip("?.!:")
    text = re.sub(r"^(?:how to)\s+", "", text, flags=re.I)
    words = text.split()
    if words and words[0].lower() in VERBS:
        words[0] = _gerund(words[0])
    return _prose_case(" ".join(words)) or "this part"


def _classify(heading: str, voice: Voice, sources: list[Source]) -> SectionPlan:
    plain = _strip_number(heading)
    lowered = plain.lower()
    for source in sources:
        short = _short_title(source.title)
        if short and short.lower() in lowered:
            return SectionPlan(plain, "source", ARCHETYPES["source"].focus, source)
    if voice.reader and voice.reader.lower() in lowered:
        return SectionPlan(plain, "audience", ARCHETYPES["audience"].focus)
    values = voice.values
    for key in CLASSIFY_ORDER:
        archetype = ARCHETYPES[key]
        for table in (archetype.headings, archetype.keyword_headings):
            if any(_fill(option, values).lower() == lowered for options in table.values() for option in options):
                return SectionPlan(plain, key, archetype.focus)
    for key in CLASSIFY_ORDER:
        if any(fragment in lowered for fragment in ARCHETYPES[key].matches):
            return SectionPlan(plain, key, ARCHETYPES[key].focus)
    return SectionPlan(plain, "custom", _focus_from_heading(plain))


def _pick(rng: random.Random, options: tuple[str, ...], short: bool) -> str:
    if short:
        return min(options, key=lambda option: (len(option.split()), options.index(option)))
    return options[rng.randrange(len(options))]


def _plan_article(brief: Brief, research: Research) -> tuple[str, list[SectionPlan]]:
    """The title and the sections the offline writer proposes for a brief (its outline)."""
    rng = _seeded("outline", brief, research)
    voice = Voice.for_brief(brief)
    keywords = KeywordPlan.for_target(voice, brief.word_count)
    count = _section_count(brief.word_count)
    short = brief.word_count < 400
    sources = [source for source in _sources(research) if _short_title(source.title)
               and (keywords.maximum >= 6 or not voice.occurrences(source.title))]
    source_count = min(len(sources), max(1, count // 3)) if sources else 0
    audience = 1 if voice.reader and count >= 5 else 0
    keys = list(STYLE_PLANS[voice.style][: count - source_count - audience])
    if audience:
        keys.insert(len(keys) - 1, "audience")
    for index, source in enumerate(sources[:source_count]):
        keys.insert(min(len(keys), 1 + 2 * index), source)

    plans, used = [], set()
    values = voice.values
    keyword_heading = bool(voice.keyword) and keywords.heading_allowed
    for key in keys:
        if isinstance(key, Source):
            template = _pick(rng, ARCHETYPES["source"].headings[voice.style], short)
            heading = _title_case(_fill(template, {"Src": _short_title(key.title)}))
            plan = SectionPlan(heading, "source", ARCHETYPES["source"].focus, key)
        else:
            archetype = ARCHETYPES[key]
            variants = archetype.headings[voice.style]
            if keyword_heading and archetype.keyword_headings:
                variants = archetype.keyword_headings[voice.style]
                keyword_heading = False
            heading = _title_case(_fill(_pick(rng, variants, short), values))
            plan = SectionPlan(heading, key, archetype.focus)
        if heading.lower() not in used:
            used.add(heading.lower())
            plans.append(plan)
        if keyword_heading and voice.occurrences(heading):
            keyword_heading = False

    if brief.title.strip():
        title = re.sub(r"\s+", " ", brief.title).strip()
    else:
        topic_words = brief.topic.split()
        question = re.match(r"(?:how|why|what|when|where|who|which|should|can|is|are|do|does)\b", brief.topic.strip(),
                            re.IGNORECASE)
        fits = len(topic_words) <= 7 and "?" not in brief.topic and not question
        if voice.keyword:
            short_enough = brief.word_count >= 400 or len(topic_words) <= 4
            base = brief.topic if fits and short_enough and voice.occurrences(brief.topic) else voice.keyword
        else:
            base = brief.topic if fits else voice.kw
        options = TITLES[voice.style]
        if base.split()[0].lower().endswith("ing"):  # not "Understanding Using …"
            options = tuple(option for option in options if not option.startswith("Understanding")) or options
        template = _pick(rng, options, short)
        base = base.strip().rstrip("?.!")
        title = _title_case(_fill(template, {"Base": base, "N": str(len(plans))} | _agreement(base)))
    return title, plans


# ---------------------------------------------------------------------------------------------
# Drafting: parts made of paragraphs of sentences, filled to a budget and fitted to the target.
# ---------------------------------------------------------------------------------------------


@dataclass
class Part:
    kind: str  # intro, section, conclusion
    heading: str = ""  # the heading text after "## " ("" for the untitled introduction)
    blocks: list = field(default_factory=list)
    writer: Writer | None = None
    weight: float = 1.0
    tail: Sentence | None = None  # the closing line of a conclusion, always last
    sizes: tuple[int, int] = (3, 5)  # sentences per paragraph
    list_block: Raw | None = None  # a step list placed after the first paragraph

    @property
    def heading_words(self) -> int:
        return _count("## " + self.heading) if self.heading else 0

    @property
    def body_words(self) -> int:
        body = sum(block.words for block in self.blocks)
        return body + (self.tail.words if self.tail else 0)

    @property
    def words(self) -> int:
        return self.heading_words + self.body_words

    @property
    def kw_count(self) -> int:
        found = 0
        for block in self.blocks:
            found += block.kw if isinstance(block, Raw) else sum(s.kw for s in block.sentences)
        return found + (self.tail.kw if self.tail else 0)

    def paragraphs(self) -> list[Paragraph]:
        return [block for block in self.blocks if isinstance(block, Paragraph)]

    def sentence_count(self) -> int:
        return sum(len(p.sentences) for p in self.paragraphs())

    def add(self, sentence: Sentence, rng: random.Random, *, overflow: bool = False) -> None:
        """Append a sentence to the last paragraph written here while it has room (any room when
        `overflow`, and always in an introduction or conclusion that has two paragraphs already),
        else start a new paragraph; a pending step list goes after the first paragraph."""
        last = self.blocks[-1] if self.blocks else None
        if isinstance(last, Paragraph) and last.original is None and all(s.new for s in last.sentences):
            capped = self.kind != "section" and len(self.paragraphs()) >= (2 if self.kind == "intro" else 3)
            if overflow or capped or len(last.sentences) < last.size:
                last.sentences.append(sentence)
                return
        if not self.sentence_count():
            sentence.anchor = True
        elif self.list_block is not None and self.list_block not in self.blocks:
            self.blocks.append(self.list_block)
        self.blocks.append(Paragraph([sentence], size=rng.randint(*self.sizes)))

    def remove(self, paragraph: Paragraph, sentence: Sentence) -> None:
        paragraph.sentences.remove(sentence)
        paragraph.original = None
        if not paragraph.sentences:
            self.blocks.remove(paragraph)


class Draft:
    def __init__(self, title: str, parts: list[Part], voice: Voice, keywords: KeywordPlan, rng: random.Random,
                 *, preamble: str = ""):
        self.title = title
        self.parts = parts
        self.voice = voice
        self.keywords = keywords
        self.rng = rng
        self.preamble = preamble

    @property
    def title_words(self) -> int:
        return _count("# " + self.title) if self.title else 0

    def words(self) -> int:
        preamble = count_words(self.preamble) if self.preamble else 0
        return preamble + self.title_words + sum(part.words for part in self.parts)

    def kw_count(self) -> int:
        headings = self.voice.occurrences(self.title) + sum(self.voice.occurrences(p.heading) for p in self.parts)
        return headings + sum(part.kw_count for part in self.parts)

    def render(self) -> str:
        blocks = [self.preamble] if self.preamble else []
        if self.title:
            blocks.append(f"# {self.title}")
        for part in self.parts:
            if part.heading:
                blocks.append(f"## {part.heading}")
            rendered = [block.render() for block in part.blocks]
            if part.tail:
                if part.blocks and isinstance(part.blocks[-1], Paragraph):
                    rendered[-1] = rendered[-1] + " " + part.tail.text
                else:
                    rendered.append(part.tail.text)
            blocks.extend(text for text in rendered if text.strip())
        return "\n\n".join(blocks) + "\n"


def _expected_kw(draft: Draft, target: int, reserve: int) -> bool:
    """Whether the next sentence should carry the keyword to keep density on plan."""
    progress = min(1.0, draft.words() / max(1, target))
    return draft.kw_count() + reserve < draft.keywords.want * progress - 0.25


def _fill_part(draft: Draft, part: Part, budget: int, target: int, reserve: int) -> None:
    """Fill a part to about `budget` words; sentences it must say (a source's first citation, a
    keyword placement) are said even when the budget is smaller."""
    while part.writer and (part.body_words < budget or part.writer.owes()):
        remaining = budget - part.body_words
        room = max(0, draft.keywords.maximum - reserve - draft.kw_count())
        candidate = part.writer.take(_expected_kw(draft, target, reserve), room)
        if candidate is None:
            return
        if part.sentence_count() and candidate.sentence.words - remaining > remaining and not candidate.recipe.keep:
            return
        part.add(part.writer.commit(candidate), draft.rng)


def _removable(draft: Draft, *, revise: bool, originals: bool = True) -> list[tuple[Part, Paragraph, Sentence]]:
    """Sentences that may be dropped without losing a placement, a citation or a paragraph's lead
    (nor, unless `originals`, a sentence of the article under revision)."""
    found = []
    floor = draft.keywords.minimum
    total_kw = draft.kw_count()
    for part in draft.parts:
        for paragraph in part.paragraphs():
            for index, sentence in enumerate(paragraph.sentences):
                if sentence.keep or sentence.anchor or (revise and index == 0) or not (originals or sentence.new):
                    continue
                if sentence.kw and total_kw - sentence.kw < floor:
                    continue
                found.append((part, paragraph, sentence))
    return found


def _grow(draft: Draft, target: int, parts: list[Part], *, slack: int = 6) -> None:
    """Add sentences to the parts furthest below their share until the draft is about `target`
    words. When every frame is spent under the repetition limit, the limit is eased a little:
    a slightly repetitive article is better than one that is far too short."""
    exhausted: list[Part] = []
    eased = 0
    while draft.words() < target - slack:
        open_parts = [part for part in parts if part.writer and part not in exhausted]
        if not open_parts:
            writers = [part.writer for part in parts if part.writer]
            if eased >= 3 or not writers:
                return
            eased += 1
            writers[0].shared.trigram_limit += 2
            exhausted.clear()
            continue
        part = min(open_parts, key=lambda p: (p.body_words / p.weight, parts.index(p)))
        room = max(0, draft.keywords.maximum - draft.kw_count())
        candidate = part.writer.take(_expected_kw(draft, target, 0), room)
        if candidate is None:
            exhausted.append(part)
            continue
        gap = target - draft.words()
        if candidate.sentence.words - gap > gap:
            return
        part.add(part.writer.commit(candidate), draft.rng)


def _shrink(draft: Draft, target: int, *, revise: bool, slack: int = 6) -> None:
    while draft.words() > target + slack:
        excess = draft.words() - target
        if revise:
            dropped = _drop_paragraph(draft, excess)
            if dropped:
                continue
        options = _removable(draft, revise=revise)
        if not options:
            return
        heaviest = {}
        for part, _, _ in options:
            heaviest[id(part)] = part.body_words / part.weight * (0.6 if part.kind != "section" else 1.0)
        part_id = max(heaviest, key=lambda key: heaviest[key])
        mine = [option for option in options if id(option[0]) == part_id]
        fitting = [option for option in mine if option[2].words <= excess + slack] or mine
        part, paragraph, sentence = fitting[-1]
        part.remove(paragraph, sentence)


def _drop_paragraph(draft: Draft, excess: int) -> bool:
    """When shortening a lot, drop whole paragraphs of the longest sections rather than thinning all."""
    best = None
    for part in draft.parts:
        paragraphs = part.paragraphs()
        if part.kind != "section" or len(paragraphs) < 2:
            continue
        for paragraph in paragraphs[1:]:
            if any(s.keep for s in paragraph.sentences) or paragraph.words > excess:
                continue
            kw = sum(s.kw for s in paragraph.sentences)
            if kw and draft.kw_count() - kw < draft.keywords.minimum:
                continue
            score = (part.body_words, paragraph.words)
            if best is None or score > best[0]:
                best = (score, part, paragraph)
    if best is None or best[2].words < 25:
        return False
    best[1].blocks.remove(best[2])
    return True


def _settle(draft: Draft, target: int, parts: list[Part], *, revise: bool, originals: bool = True) -> None:
    """Close the last few words of gap exactly: add, drop or swap one sentence at a time."""
    for _ in range(12):
        gap = target - draft.words()
        if gap == 0:
            return
        kw_total = draft.kw_count()
        removals = _removable(draft, revise=revise, originals=originals)
        swappable = list(removals)
        if not revise:
            swappable += [(part, paragraph, sentence) for part in parts if part.writer
                          for paragraph in part.paragraphs() for sentence in paragraph.sentences
                          if sentence.anchor and not sentence.keep]
        depth = 25 if target < 400 else 10
        additions = [(part, candidate) for part in parts if part.writer for candidate in part.writer.pool(depth)]
        additions = [(p, c) for p, c in additions if kw_total + c.sentence.kw <= draft.keywords.maximum]
        best = (abs(gap), 0, None)

        def consider(new_gap: int, steps: int, action) -> None:
            nonlocal best
            if (abs(new_gap), steps) < best[:2]:
                best = (abs(new_gap), steps, action)

        for part, paragraph, sentence in removals:
            consider(gap + sentence.words, 1, ("drop", part, paragraph, sentence, None, None))
        for part in parts:
            for paragraph in part.paragraphs():
                for sentence in paragraph.sentences:
                    if sentence.origin and sentence.new and not sentence.kw:
                        for other in sentence.origin[0].variants_of(sentence):
                            consider(gap + sentence.words - other.words, 1,
                                     ("variant", part, paragraph, sentence, None, other))
        for part, candidate in additions:
            consider(gap - candidate.sentence.words, 1, ("add", part, None, None, part, candidate))
        by_part = {}
        for part, candidate in additions:
            by_part.setdefault(id(part), []).append((part, candidate))
        for part, paragraph, sentence in swappable:
            pool = by_part.get(id(part), []) if sentence.anchor else additions
            for other, candidate in pool:
                if sentence.kw > candidate.sentence.kw and kw_total - sentence.kw + candidate.sentence.kw < \
                        draft.keywords.minimum:
                    continue
                consider(gap + sentence.words - candidate.sentence.words, 2,
                         ("swap", part, paragraph, sentence, other, candidate))
        if best[2] is None:
            return
        kind, part, paragraph, sentence, other, candidate = best[2]
        if kind == "variant":
            sentence.origin[0].replace(sentence, candidate)
            paragraph.sentences[paragraph.sentences.index(sentence)] = candidate
            paragraph.original = None
        elif kind == "drop":
            part.remove(paragraph, sentence)
        elif kind == "add":
            other.add(candidate.writer.commit(candidate), draft.rng, overflow=True)
        else:
            new = candidate.writer.commit(candidate)
            if other is part:
                new.anchor = sentence.anchor
                paragraph.sentences[paragraph.sentences.index(sentence)] = new
                paragraph.original = None
            else:
                part.remove(paragraph, sentence)
                other.add(new, draft.rng, overflow=True)


def _merge_short_paragraphs(parts: list[Part]) -> None:
    """A one-sentence paragraph left at the end of a part joins the paragraph before it."""
    for part in parts:
        if len(part.blocks) >= 2 and all(isinstance(block, Paragraph) and block.original is None
                                         for block in part.blocks[-2:]):
            if len(part.blocks[-1].sentences) == 1 and part.blocks[-2].sentences:
                part.blocks[-2].sentences.extend(part.blocks.pop().sentences)


def _rebalance_keyword(draft: Draft, parts: list[Part]) -> None:
    """Swap sentences until the keyword count is within the plan's bounds."""
    for _ in range(40):
        kw_total = draft.kw_count()
        if draft.keywords.minimum <= kw_total <= draft.keywords.maximum:
            return
        raise_it = kw_total < draft.keywords.minimum
        options = [(part, paragraph, sentence) for part in parts if part.writer
                   for paragraph in part.paragraphs() for sentence in paragraph.sentences
                   if not sentence.keep and (sentence.kw == 0) == raise_it]
        done = False
        for part, paragraph, sentence in reversed(options):
            candidate = part.writer.take(prefer_kw=raise_it)
            if candidate is None or (candidate.sentence.kw > 0) != raise_it:
                continue
            new = part.writer.commit(candidate)
            new.anchor = sentence.anchor
            paragraph.sentences[paragraph.sentences.index(sentence)] = new
            paragraph.original = None
            done = True
            break
        if not done:
            return


def _fit(draft: Draft, target: int, parts: list[Part], *, revise: bool, stop: StopCheck,
         settle_parts: list[Part]) -> None:
    """Bring the draft to `target` words: grow `parts`, shrink anywhere, then settle exactly.
    A revision that lengthens never drops the article's own sentences to fine-tune."""
    originals = not revise or draft.words() > target
    _grow(draft, target, parts)
    stop()
    _shrink(draft, target, revise=revise)
    stop()
    if draft.voice.keyword:
        _rebalance_keyword(draft, settle_parts)
    _settle(draft, target, settle_parts, revise=revise, originals=originals)


# ---------------------------------------------------------------------------------------------
# What each part says: recipes for sections, the introduction and the conclusion.
# ---------------------------------------------------------------------------------------------


def _sizes(voice: Voice, kind: str) -> tuple[int, int]:
    if voice.style == "listicle":
        return (2, 3)
    if kind != "section":
        return (3, 4)
    return {"casual": (2, 4), "friendly": (2, 4), "academic": (4, 5)}.get(voice.tone, (3, 5))


def _recipes(rng: random.Random, category: str, templates: Iterable[str], voice: Voice, focus: str,
             **flags) -> list[Recipe]:
    return [Recipe(category, template, **flags) for template in _shuffled(rng, templates)
            if _usable(template, voice, focus)]


UNNAMED_SOURCES = ("one of the sources", "another source", "a further source", "one more source")


def _reference(source: Source, name: bool) -> str:
    """How the text names a source: its title, else its site, else a plain "one of the sources"."""
    title = _clean_title(source.title) if name else ""
    if title:
        return f"*{title}*"
    site = re.match(r"https?://(?:www\.)?([^/\s:]+)", source.url or "")
    if site and name:
        return f"a source on {site.group(1)}"
    return UNNAMED_SOURCES[(source.number - 1) % len(UNNAMED_SOURCES)]


def _citation(voice: Voice, rng: random.Random, source: Source, focus: str, *, quote: bool, keep: bool,
              taken: set, name: bool = True) -> Recipe:
    """A sentence that quotes or points to a source and ends with its `[n]` citation; without
    `name`, the source is not named (its title would spend the keyword budget of a short piece).
    `taken` holds the citations already planned, so that no two read alike."""
    reference = _reference(source, name)
    text = _clean_quote(source.quote) if quote else ""
    if text:
        frames = QUOTE_FRAMES if reference.startswith("*") else QUOTE_FRAMES[2:]
    else:
        frames = TITLE_FRAMES if focus else TITLE_FRAMES_UNFOCUSED
    frames = _shuffled(rng, frames) + list(TITLE_FRAMES_UNFOCUSED)
    for frame in frames:
        sentence = _fill(frame, {"title": reference, "quote": text, "n": str(source.number),
                                 "focus": voice.fill(focus)})
        sentence = _capitalize(sentence)
        sentence = sentence if sentence[-1:] in ".!?" else sentence + "."
        if _normalized(sentence) not in taken:
            break
    taken.add(_normalized(sentence))
    return Recipe("cite", sentence, full=True, keep=keep, ordered=keep)


def _facts(research: Research, sources: list[Source]) -> list[str]:
    """Prose sentences from the research notes, with only citations of sources that exist."""
    valid = {source.number for source in sources}
    quotes = [_normalized(_clean_quote(source.quote))[:60] for source in sources if source.quote]
    notes = re.sub(r"```.*?```", " ", research.notes or "", flags=re.DOTALL)
    items = []
    for block in re.split(r"\n\s*\n", notes):
        for line in block.splitlines():
            line = line.strip()
            if not line or line.startswith(("#", "|", "<", "---")):
                continue
            if re.match(r"^(?:[-*+]\s+|\d+[.)]\s+|>\s*)", line) or not items:
                items.append(re.sub(r"^(?:[-*+]\s+|\d+[.)]\s+|>\s*)", "", line))
            else:
                items[-1] += " " + line
    found, seen = [], set()
    for item in items:
        item = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", item).replace("**", "").replace("__", "")
        for piece in SENTENCE_BREAK.split(item):
            numbers = [int(n) for n in CITATION.findall(piece)]
            body = re.sub(r"\s+", " ", CITATION.sub("", piece)).strip()
            if not re.search(r"[A-Za-z][.!?]$", body) or not (body[0].isupper() or body[0] in "“\""):
                continue
            if re.search(r"https?://|www\.|[{}]", body) or PLACEHOLDER.search(body):
                continue
            if not 8 <= count_words(body) <= 45:
                continue
            key = _normalized(body)
            if key in seen or any(quote and (quote in key or key[:60] in quote) for quote in quotes):
                continue
            seen.add(key)
            cited = list(dict.fromkeys(n for n in numbers if n in valid))
            if cited:
                body = body[:-1] + " " + "".join(f"[{n}]" for n in cited) + body[-1]
            found.append(body)
    return found


@dataclass
class Frames:
    """The frames one part may use. Frames without `{focus}` read the same in every part, so
    they are dealt out, each to one part, rather than used up by whichever part comes first."""

    general: list[str] = field(default_factory=list)
    tone: list[str] = field(default_factory=list)
    style: list[str] = field(default_factory=list)


def _deal(voice: Voice, rng: random.Random, kinds: list[str]) -> list[Frames]:
    """Frames for parts of the given kinds (intro, section, conclusion), in that order."""
    frames = [Frames() for _ in kinds]
    styled = [i for i, kind in enumerate(kinds) if kind == "section" or (
        kind == "intro" and voice.style in ("narrative", "thought_leadership", "educational"))]
    for pool, attribute, receivers in (
        (GENERAL_POINTS, "general", list(range(len(kinds)))),
        (TONE_POINTS[voice.tone], "tone", list(range(len(kinds)))),
        (STYLE_POINTS[voice.style], "style", styled),
    ):
        turn = 0
        for template in _shuffled(rng, pool):
            if "{focus}" in template:
                for index in receivers:
                    getattr(frames[index], attribute).append(template)
            elif receivers:
                getattr(frames[receivers[turn % len(receivers)]], attribute).append(template)
                turn += 1
    return frames


def _section_recipes(voice: Voice, rng: random.Random, plan: SectionPlan, frames: Frames, *, ordinal: int,
                     cites: list[Recipe], facts: list[str], opener: bool = True) -> list[Recipe]:
    archetype = ARCHETYPES[plan.archetype]
    focus = plan.focus
    if plan.source:  # "a modest goal for this evidence": focus frames do not fit a source's section
        frames = Frames(*([t for t in pool if "{focus}" not in t] for pool in (frames.general, frames.tone,
                                                                                frames.style)))
    recipes = []
    if opener:
        own = [t for t in archetype.openers if _usable(t, voice, focus)]
        styled = [t for t in STYLE_OPENERS.get(voice.style, ()) if _usable(t, voice, focus)]
        options = styled if styled and (voice.style in ("narrative", "listicle") or not own or ordinal % 2) else own
        if options and not (plan.source and cites):
            recipes.append(Recipe("opener", options[(ordinal + len(options) // 2) % len(options)], leadable=False,
                                  ordered=True))
    recipes += cites
    points = _recipes(rng, "archetype", archetype.points, voice, focus)
    if plan.archetype == "example":  # a worked example is a story: its steps keep their order
        points.sort(key=lambda recipe: archetype.points.index(recipe.template))
    names = [focus] if plan.source else [focus, *(_fill(name, {"focus": focus})
                                                  for name in ALTERNATIVE_FOCUS.get(plan.archetype, ()))]
    pools = {
        "archetype": (4.0, points),
        "general": (4.0, _recipes(rng, "general", frames.general, voice, focus)),
        "style": (2.5, _recipes(rng, "style", frames.style, voice, focus, leadable=False)),
        "tone": (1.5, _recipes(rng, "tone", frames.tone, voice, focus, leadable=False)),
        "fact": (2.5, [Recipe("fact", fact, full=True) for fact in facts]),
    }
    turn = 0
    for _, recipe in _mixture(rng, pools):
        if "{focus}" in recipe.template:  # the focus goes by several names, so no name is overused
            recipe.focus = names[turn % len(names)]
            turn += 1
        recipes.append(recipe)
    if len(names) > 1:  # long pieces: each frame once more under each other name
        reserve = [template for template in (*archetype.points, *frames.general, *frames.style)
                   if "{focus}" in template and _usable(template, voice, focus)]
        for name in names:
            recipes += [Recipe("reserve", template, focus=name) for template in _shuffled(rng, reserve)]
    return recipes


def _previews(voice: Voice, plans: list[SectionPlan]) -> list[str]:
    found = []
    for plan in plans[:4]:
        preview = ARCHETYPES[plan.archetype].preview or plan.focus
        preview = voice.fill(preview)
        if preview not in found:
            found.append(preview)
    return found


def _intro_recipes(voice: Voice, rng: random.Random, frames: Frames, *, hook: str, audience: bool, topic: bool,
                   previews: list[str]) -> list[Recipe]:
    recipes = [Recipe("hook", hook, leadable=False, keep=True, ordered=True)]
    if voice.style in OPENING_LINES and (audience or topic):
        recipes.append(Recipe("opening", rng.choice(OPENING_LINES[voice.style]), leadable=False, ordered=True))
    if audience:
        recipes.append(Recipe("audience", rng.choice(AUDIENCE_LINES), leadable=False, keep=True, ordered=True))
    if topic:
        recipes.append(Recipe("topic", rng.choice(TOPIC_LINES), leadable=False, ordered=True))
    if len(previews) >= 2:
        line = _fill(rng.choice(PREVIEW_LINES), {"list": _join_list(previews)})
        recipes.append(Recipe("preview", line, leadable=False, ordered=True))
    pools = {
        "intro": (3.0, _recipes(rng, "intro", INTRO_POINTS, voice, "", leadable=False)),
        "general": (3.0, _recipes(rng, "general", frames.general, voice, "")),
        "tone": (2.0, _recipes(rng, "tone", frames.tone, voice, "", leadable=False)),
        "style": (2.0, _recipes(rng, "style", frames.style, voice, "", leadable=False)),
    }
    return recipes + [recipe for _, recipe in _mixture(rng, pools)]


def _conclusion_recipes(voice: Voice, rng: random.Random, frames: Frames, *, previews: list[str],
                        keyword: bool = True) -> list[Recipe]:
    lines = CONCLUSION_KEYWORD_LINES if keyword else CONCLUSION_PLAIN_LINES
    recipes = [Recipe("keyword", rng.choice(lines), leadable=False, keep=True, ordered=True)]
    if len(previews) >= 2:
        line = _fill(rng.choice(RECAP_LINES), {"list": _join_list(previews)})
        recipes.append(Recipe("recap", line, leadable=False, ordered=True))
    pools = {
        "conclusion": (3.0, _recipes(rng, "conclusion", CONCLUSION_POINTS, voice, "", leadable=False)),
        "general": (3.0, _recipes(rng, "general", frames.general, voice, "")),
        "tone": (2.0, _recipes(rng, "tone", frames.tone, voice, "", leadable=False)),
    }
    return recipes + [recipe for _, recipe in _mixture(rng, pools)]


def _hook(voice: Voice, rng: random.Random, *, keyword: bool, reader: bool) -> str:
    with_kw_reader, with_kw, with_reader, plain = HOOKS[voice.style]
    if keyword:
        options = with_kw_reader if reader and voice.reader else with_kw
    else:
        options = with_reader if reader and voice.reader else plain
    return rng.choice(options)


def _step_list(voice: Voice, rng: random.Random, shared: Shared) -> Raw:
    items = rng.sample(STEP_ITEMS, 5)
    for item in items:
        shared.texts.add(_normalized(item))
        shared.mains.add(_normalized(item))
    text = "\n".join(f"{number}. {item}" for number, item in enumerate(items, start=1))
    return Raw(text, count_words(text), voice.occurrences(text))


# ---------------------------------------------------------------------------------------------
# Revising: the article parsed back into parts, phrases removed, sections added.
# ---------------------------------------------------------------------------------------------

RAW_LINE = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|>|\||<|```|~~~|#{3,6}\s|\s{4}|!\[)")


def _split_blocks(markdown: str) -> list[str]:
    """Blocks separated by blank lines; fenced code stays whole and every heading is its own block."""
    blocks, current, fence = [], [], None
    for line in markdown.replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        if fence:
            current.append(line)
            if stripped.startswith(fence):
                blocks.append("\n".join(current))
                current, fence = [], None
            continue
        if stripped.startswith(("```", "~~~")):
            if current:
                blocks.append("\n".join(current))
            current, fence = [line], stripped[:3]
            continue
        if not stripped:
            if current:
                blocks.append("\n".join(current))
            current = []
        elif re.match(r"^#{1,2}\s", stripped):
            if current:
                blocks.append("\n".join(current))
            blocks.append(stripped)
            current = []
        else:
            current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def _paragraph(text: str, voice: Voice, cited: set) -> Paragraph:
    joined = " ".join(line.strip() for line in text.splitlines())
    found = []
    for index, piece in enumerate(SENTENCE_BREAK.split(joined)):
        numbers = set(CITATION.findall(piece)) - cited
        cited.update(numbers)
        found.append(Sentence(piece, count_words(piece), voice.occurrences(piece), keep=bool(numbers),
                              anchor=index == 0, new=False))
    return Paragraph(found, size=len(found), original=text)


def _parse(markdown: str, voice: Voice) -> tuple[str, str, list[Part]]:
    preamble, title = [], ""
    parts = [Part("intro")]
    cited: set = set()
    for block in _split_blocks(markdown):
        if block.startswith("# ") and not title and len(parts) == 1 and not parts[0].blocks:
            title = block[2:].strip()
        elif block.startswith("## "):
            heading = block[3:].strip()
            kind = "intro" if INTRODUCTION_HEADING.match(heading) and len(parts) == 1 else "section"
            if kind == "intro" and not parts[0].blocks:
                parts[0].heading = heading
            else:
                parts.append(Part(kind, heading))
        elif not title and len(parts) == 1 and not parts[0].blocks and block.startswith("#"):
            preamble.append(block)
        elif any(RAW_LINE.match(line) for line in block.splitlines()):
            parts[-1].blocks.append(Raw(block, count_words(block), voice.occurrences(block)))
        else:
            parts[-1].blocks.append(_paragraph(block, voice, cited))
    for part in reversed(parts[1:]):
        if CONCLUSION_HEADING.match(_strip_number(part.heading)):
            part.kind = "conclusion"
            break
    if not parts[0].blocks and not parts[0].heading:
        parts[0].kind = "intro"
    return "\n\n".join(preamble), title, parts


def _phrase_pattern(phrase: str) -> re.Pattern:
    body = r"\s+".join(map(re.escape, phrase.split()))
    start = r"(?<!\w)" if phrase[:1].isalnum() else ""
    end = r"(?!\w)" if phrase[-1:].isalnum() else ""
    return re.compile(start + body + end, re.IGNORECASE)


FUNCTION_WORDS = {"a", "an", "the", "of", "to", "for", "with", "in", "on", "at", "by", "from", "about", "as",
                  "what", "which", "that", "this", "these", "those", "its", "their", "our", "your", "and", "or",
                  "is", "are", "was", "were", "be", "into", "than", "such", "like", "very", "more", "most"}
INTRODUCTORY = re.compile(r"^(?:according to|as|in|for|from|with|based on|per|like|unlike|after|before)\b[^,]{0,40}$",
                          re.IGNORECASE)


def _cut(text: str, pattern: re.Pattern) -> str | None:
    """The text with every match removed and the gap mended, or None when what is left would
    no longer be a sentence ("a checklist for saves time"): the caller drops it."""
    while True:
        match = pattern.search(text)
        if not match:
            return text
        before, after = text[:match.start()], text[match.end():]
        left = re.findall(r"[A-Za-z']+", before)
        right = after.lstrip()
        if right[:1] == "," and INTRODUCTORY.match(before.strip()):
            before, after = "", right[1:]  # "According to [insert source], growth…" → "Growth…"
        elif left and left[-1].lower() in FUNCTION_WORDS:
            if right[:1].isalnum():
                return None
            if right[:1] == ",":
                after = right[1:]  # "we look at the basics, what…" → "we look at what…"
        text = before.rstrip() + " " + after.lstrip()


def _tidy(text: str, *, sentence: bool) -> str:
    """Mend punctuation and capitals after a phrase was cut out."""
    text = re.sub(r"\(\s*\)|\[\s*\]|“\s*”|\"\s*\"|‘\s*’|\*\*\s*\*\*", "", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"([,;:])\s*([,.;:!?])", r"\2", text)
    text = re.sub(r"(?<=[.!?])\s*\.(?=\s|$)", "", text)
    text = re.sub(r"^[\s,;:.\-–—]+", "", text).strip()
    if not sentence:
        text = re.sub(r"^(?:(?:of|to|for|with|in|on|and|or|the|a|an|at|by)\s+)+", "", text, flags=re.IGNORECASE)
        text = re.sub(r"(?:\s+(?:of|to|for|with|in|on|and|or|the|a|an|at|by))+$", "", text, flags=re.IGNORECASE)
    text = _capitalize(text.strip())
    if sentence and text and text[-1] not in ".!?”’\"')*":
        text += "."
    return text


def _remove_phrase(draft: Draft, phrase: str) -> None:
    pattern = _phrase_pattern(phrase)
    voice = draft.voice
    if draft.title and pattern.search(draft.title):
        draft.title = _tidy(pattern.sub("", draft.title), sentence=False) or draft.title
    if draft.preamble and pattern.search(draft.preamble):
        draft.preamble = pattern.sub("", draft.preamble).strip()
    for part in draft.parts:
        if part.heading and pattern.search(part.heading):
            number = re.match(r"^\s*\d+[.)]\s*", part.heading)
            heading = _tidy(pattern.sub("", _strip_number(part.heading)), sentence=False)
            part.heading = (number.group(0) if number else "") + (heading or "Further Considerations")
        for block in list(part.blocks):
            if isinstance(block, Raw):
                if not pattern.search(block.text):
                    continue
                lines = []
                for line in block.text.splitlines():
                    marker = re.match(r"^\s*(?:[-*+]\s+|\d+[.)]\s+|>\s*)?", line).group(0)
                    rest = _tidy(pattern.sub("", line[len(marker):]), sentence=False) if pattern.search(line) else \
                        line[len(marker):]
                    if rest.strip() or not pattern.search(line):
                        lines.append(marker + rest)
                block.text = "\n".join(lines)
                block.words, block.kw = count_words(block.text), voice.occurrences(block.text)
                if not block.text.strip():
                    part.blocks.remove(block)
                continue
            for sentence in list(block.sentences):
                if not pattern.search(sentence.text):
                    continue
                text = _cut(sentence.text, pattern)
                text = _tidy(text, sentence=True) if text is not None else ""
                if count_words(text) < 3:
                    block.sentences.remove(sentence)
                else:
                    block.sentences[block.sentences.index(sentence)] = Sentence(
                        text, count_words(text), voice.occurrences(text), keep=sentence.keep,
                        anchor=sentence.anchor, new=False)
                block.original = None
            if not block.sentences:
                part.blocks.remove(block)


# ---------------------------------------------------------------------------------------------
# The model.
# ---------------------------------------------------------------------------------------------


def _prompt_text(brief: Brief, research: Research, *extra: str) -> str:
    """What a chat model would have been sent for the same job (for the usage estimate)."""
    sources = "\n".join(f"[{s.number}] {s.title} {s.url} {s.quote}" for s in research.sources)
    return "\n".join([json.dumps(asdict(brief), sort_keys=True), research.notes or "", sources, *extra])


class OfflineTextModel(TextModel):
    """Writes, outlines and revises without a network; offers no critique."""

    key = "offline"

    def outline(self, brief: Brief, research: Research, *, stop: StopCheck = no_stop_check) -> OutlineResult:
        stop()
        title, plans = _plan_article(brief, research)
        outline = Outline(title=title, sections=tuple(plan.heading for plan in plans))
        usage = estimate_usage(_prompt_text(brief, research), "\n".join((title, *outline.sections)))
        return OutlineResult(outline=outline, usage=usage)

    def write(
        self, brief: Brief, research: Research, outline: Outline, *, stop: StopCheck = no_stop_check
    ) -> TextResult:
        stop()
        voice = Voice.for_brief(brief)
        rng = _seeded("write", brief, research, outline)
        target = brief.word_count
        keywords = KeywordPlan.for_target(voice, target)
        sources = _sources(research)
        title = re.sub(r"\s+", " ", outline.title or brief.title).strip() or _plan_article(brief, research)[0]
        plans = self._section_plans(brief, research, outline, voice, sources)
        shared = Shared(trigram_limit=trigram_limit(target))
        shared.count(" ".join((title, *(plan.heading for plan in plans))))

        cites: dict[int, list[Recipe]] = {index: [] for index in range(len(plans))}
        plain = [index for index, plan in enumerate(plans) if plan.source is None] or list(range(len(plans)))
        required = max(1, target // 60)  # a short piece cannot carry a citation of every source
        taken: set = set()
        for turn, source in enumerate(sources):
            home = next((i for i, plan in enumerate(plans) if plan.source and plan.source.number == source.number),
                        plain[turn % len(plain)])
            named = keywords.maximum >= 8 or not voice.occurrences(source.title)
            cites[home].append(_citation(voice, rng, source, plans[home].focus, quote=True, keep=turn < required,
                                         taken=taken, name=named))
            if target >= 1500 and len(plans) > 1:
                other = (home + 1 + turn) % len(plans)
                cites[other].append(_citation(voice, rng, source, plans[other].focus, quote=False, keep=False,
                                              taken=taken))
        facts = _facts(research, sources)
        frames = _deal(voice, rng, ["intro", *["section"] * len(plans), "conclusion"])

        sections = []
        for index, plan in enumerate(plans):
            recipes = _section_recipes(voice, rng, plan, frames[index + 1], ordinal=index, cites=cites[index],
                                       facts=facts[index::len(plans)])
            heading = f"{index + 1}. {plan.heading}" if voice.style == "listicle" else plan.heading
            writer = Writer(voice, shared, rng, recipes, focus=plan.focus)
            sections.append(Part("section", heading, writer=writer, sizes=_sizes(voice, "section")))

        title_has_kw = voice.occurrences(title) > 0
        hook = _hook(voice, rng, keyword=not title_has_kw or keywords.want >= 4 and keywords.maximum >= 4,
                     reader=target < 400)
        previews = _previews(voice, plans) if target >= 500 else []
        intro_recipes = _intro_recipes(
            voice, rng, frames[0], hook=hook, audience=bool(voice.reader) and target >= 400,
            topic=target >= 600 and bool(voice.keyword) and _normalized(voice.topic) != _normalized(voice.kw),
            previews=previews)
        intro = Part("intro", writer=Writer(voice, shared, rng, intro_recipes),
                     weight=0.5, sizes=_sizes(voice, "intro"))
        conclusion = Part("conclusion", "Conclusion", weight=0.5, sizes=_sizes(voice, "conclusion"),
                          writer=Writer(voice, shared, rng,
                                        _conclusion_recipes(voice, rng, frames[-1], previews=previews,
                                                            keyword=keywords.conclusion_allowed)))
        parts = [intro, *sections, conclusion]
        draft = Draft(title, parts, voice, keywords, rng)

        body = max(target - draft.words(), 14 * len(parts))
        intro_budget = min(round(body * (0.1 if target >= 600 else 0.15)), 170)
        conclusion_budget = min(round(body * (0.09 if target >= 600 else 0.15)), 160)
        section_budget = (body - intro_budget - conclusion_budget) / len(sections)
        if voice.style == "technical":
            for part, plan in zip(sections, plans):
                if plan.archetype == "steps" and section_budget >= 120:
                    part.list_block = _step_list(voice, rng, shared)
        reserve = 1 if voice.kw and keywords.conclusion_allowed else 0
        _fill_part(draft, intro, intro_budget, target, reserve)
        for part in sections:
            stop()
            budget = section_budget - (part.list_block.words if part.list_block else 0)
            _fill_part(draft, part, round(budget), target, reserve)
        stop()
        if conclusion_budget >= 35:
            closer = Writer(voice, shared, rng, [Recipe("closer", rng.choice(CLOSERS[voice.tone]), leadable=False,
                                                        keep=True)])
            found = closer.take()
            conclusion.tail = closer.commit(found) if found else None
        _fill_part(draft, conclusion, conclusion_budget, target, 0)
        _fit(draft, target, sections, revise=False, stop=stop, settle_parts=parts)
        _merge_short_paragraphs(parts)
        text = draft.render()
        prompt = _prompt_text(brief, research, outline.title, *outline.sections)
        return TextResult(text=text, usage=estimate_usage(prompt, text))

    def revise(
        self, brief: Brief, research: Research, article: str, revision: Revision, *, stop: StopCheck = no_stop_check
    ) -> TextResult:
        """The article with the revision applied and everything else left as it was.

        Only the revision's structured fields are acted on; its findings and the reviewer's
        feedback are words for people and chat models, and never reach the article. In order:
        phrases are cut out (a sentence that no longer reads is dropped), requested sections are
        written before the conclusion (citing sources not cited yet), the remaining uncited
        sources are cited in the existing sections when asked, the keyword is placed (and thinned
        out when overused), the audience is named, then the length is fitted — to
        `target_words`, or, without one, back to the brief's target if the changes left the
        article outside the brief's range. `follow_tone` and `stay_on_topic` need nothing more:
        every sentence this writer adds is in the brief's tone and about its topic.
        Lengthening adds paragraphs inside sections and never drops the article's sentences;
        shortening drops whole paragraphs, then the least important sentences (never a
        paragraph's first sentence, the first citation of a source or a keyword placement).
        """
        stop()
        voice = Voice.for_brief(brief)
        rng = _seeded("revise", brief, research, article, replace(revision, findings=(), feedback=""))
        sources = _sources(research)
        preamble, title, parts = _parse(article, voice)
        banned = tuple(phrase.strip() for phrase in revision.remove_phrases if phrase.strip())
        shared = Shared(banned=tuple(_phrase_pattern(phrase) for phrase in banned), existing=_normalized(article),
                        trigram_limit=trigram_limit(revision.target_words or max(count_words(article), 100)))
        shared.count(article)
        for part in parts:
            for paragraph in part.paragraphs():
                shared.texts.update(_normalized(s.text) for s in paragraph.sentences)
        current = count_words(article)
        draft = Draft(title, parts, voice, KeywordPlan.for_target(voice, revision.target_words or current), rng,
                      preamble=preamble)
        for phrase in banned:
            _remove_phrase(draft, phrase)
        stop()

        cited = {int(n) for n in CITATION.findall(article)}
        uncited = [source for source in sources if source.number not in cited]
        facts = [fact for fact in _facts(research, sources) if _normalized(fact) not in shared.existing]
        sections = [part for part in parts if part.kind == "section"]
        frames = _deal(voice, rng, ["section"] * (len(sections) + len(revision.add_sections)) + ["conclusion"])
        for index, part in enumerate(sections):
            plan = _classify(part.heading, voice, sources)
            recipes = _section_recipes(voice, rng, plan, frames[index], ordinal=index, cites=[], opener=False,
                                       facts=facts[index::max(1, len(sections))])
            part.writer = Writer(voice, shared, rng, recipes, focus=plan.focus)
            part.sizes = _sizes(voice, "section")
        self._add_sections(draft, revision, sources, uncited, shared, frames[len(sections):],
                           target=revision.target_words or current)
        stop()

        if revision.cite_sources:
            self._cite_sources(draft, uncited, sources, shared)
        if voice.keyword and revision.keyword:
            self._place_keyword(draft, shared, too_often=revision.keyword == KeywordChange.REDUCE)
        if revision.mention_audience and voice.reader and voice.reader.lower() not in draft.render().lower():
            self._insert_intro_line(draft, shared, rng.choice(AUDIENCE_LINES))
        stop()

        target = revision.target_words
        low, high = brief.word_range
        if target is None and not low <= draft.words() <= high:
            target = brief.word_count
        if target:
            draft.keywords = KeywordPlan.for_target(voice, target)
            sections = [part for part in draft.parts if part.kind == "section" and part.writer]
            growable = sections or [part for part in draft.parts if part.writer]
            _fit(draft, target, growable, revise=True, stop=stop, settle_parts=growable)
        text = draft.render()
        return TextResult(text=text, usage=estimate_usage(_prompt_text(brief, research, article), text))

    def critique(self, brief: Brief, article: str, *, stop: StopCheck = no_stop_check) -> TextResult | None:
        return None

    @staticmethod
    def _section_plans(brief: Brief, research: Research, outline: Outline, voice: Voice,
                       sources: list[Source]) -> list[SectionPlan]:
        """The outline's headings with what each is about: the offline plan when the heading is
        one it proposed, else a guess from the heading's words. At least three sections."""
        _, proposed = _plan_article(brief, research)
        known = {plan.heading.lower(): plan for plan in proposed}
        plans: list[SectionPlan] = []
        for heading in outline.sections:
            plain = _strip_number(heading.lstrip("#").strip())
            if not plain or INTRODUCTION_HEADING.match(plain) or CONCLUSION_HEADING.match(plain):
                continue
            if plain.lower() not in {plan.heading.lower() for plan in plans}:
                plans.append(known.get(plain.lower()) or _classify(plain, voice, sources))
        for plan in proposed:
            if len(plans) >= 3:
                break
            if plan.heading.lower() not in {p.heading.lower() for p in plans}:
                plans.append(plan)
        return plans

    @staticmethod
    def _add_sections(draft: Draft, revision: Revision, sources: list[Source], uncited: list[Source],
                      shared: Shared, frames: list[Frames], *, target: int) -> None:
        voice, rng = draft.voice, draft.rng
        sections = [part for part in draft.parts if part.kind == "section"]
        numbered = bool(sections) and all(re.match(r"^\d+[.)]\s", part.heading) for part in sections)
        existing = {_normalized(_strip_number(part.heading)) for part in draft.parts if part.heading}
        average = (sum(part.body_words for part in sections) / len(sections)) if sections else 0
        budget = max(30, round(min(average or target, target / (len(sections) + 3))))
        ordinal_start = len(sections)
        for heading in revision.add_sections:
            plain = _strip_number(heading.lstrip("#").strip())
            if not plain or _normalized(plain) in existing:
                continue
            existing.add(_normalized(plain))
            if CONCLUSION_HEADING.match(plain):
                if not any(part.kind == "conclusion" for part in draft.parts):
                    recipes = _conclusion_recipes(voice, rng, frames[-1], previews=[])
                    part = Part("conclusion", plain, writer=Writer(voice, shared, rng, recipes),
                                sizes=_sizes(voice, "conclusion"))
                    draft.parts.append(part)
                    _fill_part(draft, part, min(budget, 120), target, 0)
                continue
            plan = _classify(plain, voice, sources)
            cites = [_citation(voice, rng, uncited.pop(0), plan.focus, quote=True, keep=True, taken=set(shared.texts))
                     ] if uncited else []
            ordinal = len(sections)
            recipes = _section_recipes(voice, rng, plan, frames[len(sections) - ordinal_start], ordinal=ordinal,
                                       cites=cites, facts=[])
            shown = f"{len(sections) + 1}. {plain}" if numbered else plain
            part = Part("section", shown, writer=Writer(voice, shared, rng, recipes, focus=plan.focus),
                        sizes=_sizes(voice, "section"))
            position = next((i for i, p in enumerate(draft.parts) if p.kind == "conclusion"), len(draft.parts))
            draft.parts.insert(position, part)
            sections.append(part)
            _fill_part(draft, part, budget, target, 0)

    @staticmethod
    def _cite_sources(draft: Draft, uncited: list[Source], sources: list[Source], shared: Shared) -> None:
        """Cite each source still uncited once, spreading them over the sections in turn (the
        introduction when there are none); a citation is never dropped by the length fitting."""
        voice, rng = draft.voice, draft.rng
        parts = [part for part in draft.parts if part.kind == "section"] or draft.parts[:1]
        for index, source in enumerate(list(uncited)):
            part = parts[index % len(parts)]
            focus = _classify(_strip_number(part.heading), voice, sources).focus if part.heading else ""
            recipe = _citation(voice, rng, source, focus, quote=True, keep=True, taken=set(shared.texts))
            writer = Writer(voice, shared, rng, [recipe], focus=focus)
            found = writer.take()
            if found is None:
                continue
            sentence = writer.commit(found)
            sentence.keep = True
            paragraphs = part.paragraphs()
            if paragraphs:
                paragraphs[-1].sentences.append(sentence)
                paragraphs[-1].original = None
            else:
                part.blocks.append(Paragraph([sentence], size=3))
            uncited.remove(source)

    @staticmethod
    def _insert_intro_line(draft: Draft, shared: Shared, template: str) -> None:
        writer = Writer(draft.voice, shared, draft.rng, [Recipe("intro", template, leadable=False, keep=True)])
        found = writer.take()
        if found is None:
            return
        sentence = writer.commit(found)
        intro = draft.parts[0]
        paragraphs = intro.paragraphs()
        if paragraphs:
            paragraphs[0].sentences.insert(1, sentence)
            paragraphs[0].original = None
        else:
            intro.blocks.insert(0, Paragraph([sentence], size=3))

    def _place_keyword(self, draft: Draft, shared: Shared, *, too_often: bool) -> None:
        """Put the keyword where readers and search engines look for it, and nowhere too often."""
        voice = draft.voice
        intro = draft.parts[0]
        first = intro.paragraphs()[0].render() if intro.paragraphs() else ""
        if not voice.occurrences(draft.title) and not voice.occurrences(first):
            self._insert_intro_line(draft, shared, draft.rng.choice(INTRO_KEYWORD_LINES))
        sections = [part for part in draft.parts if part.kind == "section"]
        if sections and draft.keywords.heading_allowed and not any(voice.occurrences(p.heading) for p in sections):
            part = sections[0]
            number = re.match(r"^\s*\d+[.)]\s*", part.heading)
            plain = _strip_number(part.heading)
            archetype = ARCHETYPES[_classify(plain, voice, []).archetype]
            variants = archetype.keyword_headings.get(voice.style)
            heading = voice.fill(variants[0]) if variants else f"{_title_case(voice.kw)}: {plain}"
            part.heading = (number.group(0) if number else "") + heading
        conclusion = next((part for part in draft.parts if part.kind == "conclusion"), None)
        if conclusion and not conclusion.kw_count:
            writer = Writer(voice, shared, draft.rng, [Recipe("keyword", line, leadable=False, keep=True)
                                                       for line in _shuffled(draft.rng, CONCLUSION_KEYWORD_LINES)])
            found = writer.take()
            if found:
                sentence = writer.commit(found)
                paragraphs = conclusion.paragraphs()
                if paragraphs:
                    paragraphs[0].sentences.insert(0, sentence)
                    paragraphs[0].original = None
                else:
                    conclusion.blocks.insert(0, Paragraph([sentence], size=3))
        writers = [part for part in sections if part.writer]
        for turn in range(60):
            if draft.kw_count() >= draft.keywords.minimum or not writers:
                break
            part = writers[turn % len(writers)]
            found = part.writer.take(prefer_kw=True)
            if found is None or not found.sentence.kw:
                writers.remove(part)
                continue
            paragraphs = part.paragraphs()
            if paragraphs:
                paragraphs[-1].sentences.append(part.writer.commit(found))
                paragraphs[-1].original = None
            else:
                part.add(part.writer.commit(found), draft.rng)
        while too_often and draft.kw_count() > draft.keywords.maximum:
            options = [option for option in _removable(draft, revise=True) if option[2].kw]
            if not options:
                break
            part, paragraph, sentence = max(options, key=lambda option: option[0].body_words)
            part.remove(paragraph, sentence)
