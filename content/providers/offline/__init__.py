"""The offline writer: the default text model, needing no network and no key.

It does not invent prose. It writes from what the research stage gathered — the editor's pasted
notes, fetched pages, search results and our related posts — by selecting the sentences that
matter for the brief, ordering them into sections and citing each public source it uses (an
extractive summary). With no material it writes a labelled outline that cannot be approved.

Modules, in the order the imports flow: `material` (collect sentences, knowing which are
private), `ranking` (score them for the brief), `outline` (the plan without material),
`composer` (select, group, order, render; parse an article back), `writer` (`OfflineTextModel`).
Only the provider registry imports this package.
"""

from content.providers.offline.writer import OfflineTextModel

__all__ = ["OfflineTextModel"]
