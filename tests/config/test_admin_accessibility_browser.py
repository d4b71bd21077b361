"""The oversight hub for people who use a keyboard, a screen reader, zoom or a small screen.

axe-core (vendored in tests/vendor/axe.min.js, as the blog's browser tests use it; injected into
contexts that bypass the CSP) runs its WCAG 2.1 A and AA rules in Debian's Chromium on every page
the project adds to the admin or changes, as a superuser, an editor and a reviewer, light and dark,
at 1366, 390 and 320 px (320 px is 1280 px at 400 % zoom: nothing may scroll the page sideways).
A keyboard alone then briefs a task, watches it run, rejects it with feedback, approves the
revision and publishes it, with the focus always visible and the run announced to screen readers
once per step, not once per progress tick. Screenshots go to var/screenshots/admin-a11y/.
Daphne serves the test database; database work runs before the browser starts or in a thread of
its own (tests/tasks/test_admin_browser.py says why).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD
from tests.processes import WebServer
from tests.tasks.test_admin_browser import _outside_the_browser_loop
from tests.tasks.test_admin_live_progress import chromium  # noqa: F401 (fixture)

BASE_DIR = Path(__file__).resolve().parents[2]
SCREENSHOTS = BASE_DIR / "var" / "screenshots" / "admin-a11y"
AXE = BASE_DIR / "tests" / "vendor" / "axe.min.js"
AXE_RUN = """async () => (await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']}))
    .violations.map((v) => ({id: v.id, nodes: v.nodes.map((n) => n.target.join(' '))}))"""
EDITOR, REVIEWER, ROOT = "mig_editor", "mig_reviewer", "mig_root"  # tests/populated.py


@pytest.fixture
def oversight(tmp_path):
    """tests/populated.py's site in use (tasks in every status, reviews, posts, a webhook switched
    off after failures, budgets), a task awaiting review, and the page of a locked-out login."""
    from content.models import ContentVersion
    from publishing.models import Post
    from publishing.webhooks.models import WebhookSubscription
    from tasks.models import CostBudget, GenerationTask
    from tests.editorial import completed_task
    from tests.populated import populate

    from publishing.models import Tag

    populate()
    pending = completed_task(created_by=User.objects.get(username=EDITOR), title="Awaiting review", slug="awaiting")
    # The hand-written post's form with its name boxes filled: a category and two tags.
    Post.objects.get(task=None).tags.set(Tag.objects.filter(name__in=["compost", "Winter"]))
    failed = GenerationTask.objects.filter(status="failed").first()
    task_page = "admin:tasks_generationtask_change"
    pages = {
        "dashboard": reverse("admin:index"),
        "tasks": reverse("admin:tasks_generationtask_changelist"),
        "brief": reverse("admin:tasks_generationtask_add"),
        "task-running": reverse(task_page, args=[GenerationTask.objects.get(status="running").pk]),
        "task-failed": reverse(task_page, args=[failed.pk]),
        "task-awaiting-review": reverse(task_page, args=[pending.pk]),
        "task-published": reverse(task_page, args=[Post.objects.exclude(task=None).first().task_id]),
        "versions": reverse("admin:content_contentversion_changelist"),
        "version": reverse("admin:content_contentversion_change", args=[ContentVersion.objects.filter(task=pending)
                                                                         .last().pk]),
        "diff": reverse("admin:tasks_generationtask_diff", args=[pending.pk]),
        "posts": reverse("admin:publishing_post_changelist"),
        "post": reverse("admin:publishing_post_change", args=[Post.objects.get(task=None).pk]),
        "post-add": reverse("admin:publishing_post_add"),
        "webhooks": reverse("admin:publishing_webhooksubscription_changelist"),
        "webhook-disabled": reverse("admin:publishing_webhooksubscription_change",
                                    args=[WebhookSubscription.objects.get(name="Old receiver").pk]),
        "budgets": reverse("admin:tasks_costbudget_changelist"),
        "budget": reverse("admin:tasks_costbudget_change", args=[CostBudget.objects.first().pk]),
        "budget-add": reverse("admin:tasks_costbudget_add"),
        "budget-changes": reverse("admin:tasks_costbudgetchange_changelist"),
        "analytics": reverse("admin:feedback_analytics"),
        "task-delete": reverse("admin:tasks_generationtask_delete", args=[failed.pk]),
    }
    client = Client()
    for _ in range(6):  # PRESSROOM_LOGIN_FAILURE_LIMIT is 5
        locked = client.post(reverse("admin:login"), {"username": "someone", "password": "wrong"})
    assert locked.status_code == 429
    with WebServer(tmp_path) as server:
        yield {"server": server, "pages": pages, "locked_html": locked.content.decode(), "pending": pending}


def _log_in_by_keyboard(page, url: str, username: str) -> None:
    page.goto(f"{url}{reverse('admin:login')}?next=/admin/")
    page.wait_for_function("() => document.activeElement.id === 'id_username'")  # focused as the page opens
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/admin/")


def _axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(AXE_RUN)


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def _sweep(chromium, site, *, username, width, scheme, only=None, screenshots=False) -> dict:  # noqa: F811
    """axe's violations and the page's width beyond the window, by page, for every page `username`
    may open (a 403 is the authorization matrix's business, tests/security/), or those named in `only`."""
    server, found = site["server"], {}
    context = chromium.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme, bypass_csp=True)
    page = context.new_page()
    pages = {name: path for name, path in site["pages"].items() if only is None or name in only}
    if username == ROOT:  # the login pages, once per sweep of the superuser
        page.goto(f"{server.url}{reverse('admin:login')}")
        found["login"] = _check(page, width, screenshots and f"login-{scheme}-{width}")
        page.goto(f"{server.url}/robots.txt")  # the locked-out page, as the server answered it
        page.set_content(site["locked_html"], wait_until="load")
        found["locked-out"] = _check(page, width, screenshots and f"locked-out-{scheme}-{width}")
    _log_in_by_keyboard(page, server.url, username)
    for name, path in pages.items():
        if page.goto(f"{server.url}{path}").status == 403:
            continue
        found[name] = _check(page, width, screenshots and f"{username}-{name}-{scheme}-{width}")
    context.close()
    return {name: problems for name, problems in found.items() if problems}


# Django's own, left as they are (docs/reliability.md, row 36); the search icon of SelectFilter2.js
# went with the post's `filter_horizontal` tags (row 38).
DJANGOS_OWN = {}


def _check(page, width: int, screenshot) -> dict:
    if screenshot:
        _shot(page, screenshot)
    # axe skips what is hidden: open what closed <details> hold (the edit form, the task's fieldsets).
    page.evaluate("() => document.querySelectorAll('details').forEach((details) => { details.open = true; })")
    problems = {}
    for violation in _axe(page):
        ours = [node for node in violation["nodes"] if DJANGOS_OWN.get(violation["id"], "\0") not in node]
        if ours:
            problems[violation["id"]] = ours
    if (page_width := page.evaluate("document.documentElement.scrollWidth")) > width:
        problems["page-scrolls-sideways"] = page_width
    return problems


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_axe_finds_no_wcag_violation_on_the_hubs_pages_light_or_dark(oversight, chromium):  # noqa: F811
    found = {scheme: _sweep(chromium, oversight, username=ROOT, width=1366, scheme=scheme, screenshots=True)
             for scheme in ("light", "dark")}

    assert found == {"light": {}, "dark": {}}


# The pages whose content depends on the role (panels, the forms of the verbs one may use); the
# superuser's sweeps open every page.
EDITORS_PAGES = {"dashboard", "tasks", "brief", "task-running", "task-failed", "task-awaiting-review", "post",
                 "post-add"}
REVIEWERS_PAGES = {"dashboard", "tasks", "task-awaiting-review", "task-published", "analytics", "budget", "budget-add",
                   "budget-changes"}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_axe_finds_none_for_editors_and_reviewers_and_nothing_scrolls_sideways_at_320_px(oversight, chromium):  # noqa: F811
    found = {
        "root 320 light": _sweep(chromium, oversight, username=ROOT, width=320, scheme="light"),
        "editor 390 dark": _sweep(chromium, oversight, username=EDITOR, width=390, scheme="dark", only=EDITORS_PAGES,
                                  screenshots=True),
        "reviewer 1366 light": _sweep(chromium, oversight, username=REVIEWER, width=1366, scheme="light",
                                      only=REVIEWERS_PAGES),
    }

    assert found == {name: {} for name in found}


# Every change of a live region's text (role=status/alert, aria-live), with the region's data-role,
# from the moment the page opens: what a screen reader would announce.
RECORD_ANNOUNCEMENTS = """
window.__announced = [];
new MutationObserver((mutations) => {
    for (const mutation of mutations) {
        const node = mutation.target.nodeType === 1 ? mutation.target : mutation.target.parentElement;
        const region = node && node.closest('[aria-live], [role=status], [role=alert]');
        if (region && !region.hidden && region.textContent.trim())
            window.__announced.push([region.dataset.role || region.className, region.textContent.trim()]);
    }
}).observe(document, {childList: true, characterData: true, subtree: true});
"""
FOCUSED = """() => { const e = document.activeElement, s = getComputedStyle(e);
    return {name: e.name || '', tag: e.tagName, text: (e.innerText || e.value || '').trim().slice(0, 60),
            ring: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none'}; }"""


def _tab_to(page, matches, *, limit: int = 150) -> list[dict]:
    """Press Tab until the focused element satisfies `matches`; every stop on the way must show
    its focus. Returns the stops."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused["tag"] == "BODY":  # past the page's last control: the browser's own, then the first again
            continue
        stops.append(focused)
        if matches(focused):
            return stops
    raise AssertionError(f"not reached by Tab in {limit} presses; the stops: {stops}")


# The error lists of a refused form that no field (or group of fields: a fieldset) points to with
# aria-describedby, and fields marked invalid that point to none: a screen reader reaching the field
# would not read its error.
UNTIED_ERRORS = """() => {
    const described = new Set([...document.querySelectorAll('[aria-describedby]')].flatMap(
        (element) => element.getAttribute('aria-describedby').split(' ')));
    const lists = [...document.querySelectorAll('.task-action--refused .errorlist')];
    return [...lists.filter((list) => !list.id || !described.has(list.id)).map((list) => list.innerText.trim()),
            ...[...document.querySelectorAll('.task-action--refused [aria-invalid=true]')].filter(
                (field) => !lists.some((list) => list.id && (field.closest(`[aria-describedby~="${list.id}"]`)
                    || (field.getAttribute('aria-describedby') || '').split(' ').includes(list.id))))
                .map((field) => field.name)];
}"""


def _worker_runs(task_id, steps) -> None:
    """What a worker would write: each (status, phase, progress) and its event, broadcast."""
    from tasks.events import emit
    from tasks.models import GenerationTask

    for status, phase, progress in steps:
        finished = {"finished_at": timezone.now()} if status == "completed" else {}
        GenerationTask.objects.filter(pk=task_id).update(status=status, phase=phase, progress=progress, **finished)
        kind = "status" if status == "completed" else ("phase" if progress % 20 == 0 else "progress")
        emit(GenerationTask.objects.get(pk=task_id), kind)


def _write_version(task_id, body: str) -> None:
    from content.services.versions import version_create
    from tasks.models import GenerationTask

    version_create(task=GenerationTask.objects.get(pk=task_id), phase="format", title="Rain gardens for clay soil",
                   body=body, body_html=f"<p>{body}</p>", excerpt=body[:80],
                   seo={"slug": "rain-gardens", "seo_title": "Rain gardens", "meta_description": "Rain gardens.",
                        "reading_time_minutes": 1, "toc": []})


RUN = [("running", "research", 5), ("running", "research", 10), ("running", "research", 15),
       ("running", "draft", 20), ("running", "draft", 25), ("running", "draft", 30), ("running", "format", 80),
       ("running", "format", 90)]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_keyboard_alone_briefs_watches_rejects_approves_and_publishes(oversight, chromium):  # noqa: F811
    from tasks.models import GenerationTask

    server = oversight["server"]
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, bypass_csp=True)
    context.add_init_script(RECORD_ANNOUNCEMENTS)
    page = context.new_page()
    stops = []
    _log_in_by_keyboard(page, server.url, EDITOR)
    # The brief: from the dashboard to the task list's Add button, the form filled by keys alone.
    stops += _tab_to(page, lambda f: f["text"] == "All tasks")
    page.keyboard.press("Enter")
    page.wait_for_url("**/generationtask/")
    stops += _tab_to(page, lambda f: f["text"].lower().startswith("add generation task"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/generationtask/add/")
    page.wait_for_selector("output.task-estimate:not(.task-estimate--updating)")
    page.evaluate("() => { window.__announced = []; }")  # what the page said as it opened
    stops += _tab_to(page, lambda f: f["name"] == "topic")
    page.keyboard.type("Rain gardens for clay soil")
    stops += _tab_to(page, lambda f: f["name"] == "word_count")
    page.keyboard.press("Control+A")
    page.keyboard.type("1500")
    page.wait_for_timeout(400)  # task-form.js asks for the estimate 250 ms after the last key
    page.wait_for_selector("output.task-estimate:not(.task-estimate--updating)")
    note_is_read = page.evaluate("() => !!document.querySelector('[data-role=estimate-note]').closest('[aria-live]')")
    estimate_said = [text for role, text in page.evaluate("() => window.__announced") if "task-estimate" in role]
    stops += _tab_to(page, lambda f: f["name"] == "_save")
    page.keyboard.press("Enter")
    page.wait_for_url("**/generationtask/")
    task_id = _outside_the_browser_loop(lambda: GenerationTask.objects.get(topic="Rain gardens for clay soil").pk)
    task_page = f"{server.url}{reverse('admin:tasks_generationtask_change', args=[task_id])}"
    # Watching it run: the worker's events reach the page over its socket.
    page.goto(task_page)
    page.wait_for_function("() => window.pressroomLive && window.pressroomLive.transport === 'websocket'")
    page.evaluate("() => { window.__announced = []; }")
    _outside_the_browser_loop(lambda: _worker_runs(task_id, RUN))
    page.wait_for_function("() => document.querySelector('[data-live-task]').dataset.progress === '90'")
    _outside_the_browser_loop(lambda: (_write_version(task_id, "Clay soil drains slowly."),
                                       _worker_runs(task_id, [("completed", "", 100)])))
    page.wait_for_selector("[data-role=ended]:not([hidden])")
    page.wait_for_timeout(300)  # the sections read again
    announced_run = page.evaluate("() => window.__announced")
    _shot(page, "journey-run-over")
    context.close()

    # The review, as the reviewer: from the dashboard's "Awaiting your review" to the task.
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, bypass_csp=True)
    page = context.new_page()
    _log_in_by_keyboard(page, server.url, REVIEWER)
    stops += _tab_to(page, lambda f: f["text"].startswith("Rain gardens"))
    page.keyboard.press("Enter")
    page.wait_for_url(task_page)
    # A target length without asking for a revision: refused, the error tied to its field, and
    # the form comes back as typed; ask for the revision and it goes through.
    stops += _tab_to(page, lambda f: f["name"] == "reject-feedback")
    page.keyboard.type("The second section needs a source.")
    stops += _tab_to(page, lambda f: f["name"] == "reject-target_words")
    page.keyboard.type("600")
    stops += _tab_to(page, lambda f: f["name"] == "reject")
    page.keyboard.press("Enter")
    page.wait_for_selector(".task-action--refused")
    errors_shown = page.locator(".task-action--refused .errorlist").all_inner_texts()
    untied_errors = page.evaluate(UNTIED_ERRORS)
    _shot(page, "journey-refused-reject")
    stops += _tab_to(page, lambda f: f["name"] == "reject-reasons")
    page.keyboard.press("Space")
    stops += _tab_to(page, lambda f: f["name"] == "reject-revise")
    page.keyboard.press("Space")
    stops += _tab_to(page, lambda f: f["name"] == "reject")
    page.keyboard.press("Enter")
    page.wait_for_selector(".messagelist .success")
    rejected_message = page.locator(".messagelist").inner_text()
    # The revision runs; then approve it and publish, by keys.
    _outside_the_browser_loop(lambda: (_worker_runs(task_id, [("running", "draft", 40)]),
                                       _write_version(task_id, "Clay soil drains slowly [1]."),
                                       _worker_runs(task_id, [("completed", "", 100)])))
    page.goto(task_page)
    compare_choices = [page.get_by_role("radio", name=f"{side}: compare {way} version {number}", exact=True).count()
                       for side, way in (("A", "from"), ("B", "to")) for number in (1, 2)]
    stops += _tab_to(page, lambda f: f["name"] == "approve")
    page.keyboard.press("Enter")
    page.wait_for_selector(".messagelist .success")
    stops += _tab_to(page, lambda f: f["name"] == "publish")
    page.keyboard.press("Enter")
    page.wait_for_selector(".messagelist .success")
    published_message = page.locator(".messagelist").inner_text()
    _shot(page, "journey-published")
    context.close()

    assert [stop for stop in stops if not stop["ring"]] == [], "every stop shows where the focus is"
    assert compare_choices == [1, 1, 1, 1], "each of the versions' A and B radios says which version it picks"
    assert note_is_read, "the estimate's note (a budget it would pass) is read with the figure"
    assert len(estimate_said) <= 1, f"the estimate is read once when it settles: {estimate_said}"
    panel = [text for role, text in announced_run if role == "announcement"]
    assert panel == ["Now at Research, 5% done.", "Now at Draft, 20% done.", "Now at Format, 80% done.",
                     "The task completed."], announced_run
    assert [role for role, _ in announced_run] == ["announcement"] * 4 + ["ended"], \
        f"nothing else speaks on a progress tick: {announced_run}"
    assert errors_shown and untied_errors == [], (errors_shown, untied_errors)
    assert "Rejected" in rejected_message, rejected_message
    assert "ublished" in published_message, published_message
    assert _outside_the_browser_loop(lambda: GenerationTask.objects.get(pk=task_id).approval_status) == "approved"


# --- the name boxes (config/admin_names.py, static/pressroom/name-search.js) -------------------

OFFERED = "(id) => [...document.getElementById(id).options].map((option) => option.value)"


def _type_and_hear(page, name: str, text: str, offered_in: str) -> tuple[list[str], str]:
    """Type `text` into the focused box `name`, wait for the search's answer; what the list offers
    and what the box's status region says."""
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    status = f"#{offered_in.removesuffix('_names')}_status"
    page.wait_for_function(f"() => document.querySelector('{status}').textContent.includes('{text}')")
    return page.evaluate(OFFERED, offered_in), page.locator(status).inner_text()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_name_boxes_offer_matches_say_how_many_and_are_worked_by_keyboard_alone(oversight, chromium):  # noqa: F811
    from publishing.models import Post

    server = oversight["server"]
    post_id = _outside_the_browser_loop(lambda: Post.objects.get(task=None).pk)
    found, stops = {}, []
    for width, scheme in ((1366, "light"), (320, "dark")):
        context = chromium.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme, bypass_csp=True)
        context.add_init_script(RECORD_ANNOUNCEMENTS)
        page = context.new_page()
        _log_in_by_keyboard(page, server.url, EDITOR)
        page.goto(f"{server.url}{reverse('admin:publishing_post_change', args=[post_id])}")
        stops += _tab_to(page, lambda f: f["name"] == "category")
        category = _type_and_hear(page, "category", "Gard", "id_category_names")
        stops += _tab_to(page, lambda f: f["text"] == "Add another tag")
        page.keyboard.press("Enter")
        added = page.evaluate("() => [document.activeElement.name, document.activeElement.getAttribute('aria-label')]")
        tag = _type_and_hear(page, "tags", "Win", "id_tags_names")
        found[f"post {scheme} {width}"] = _check(page, width, f"names-post-typed-{scheme}-{width}")
        heard = [text for role, text in page.evaluate("() => window.__announced") if "name-search-status" in role]
        # An unknown category: the form comes back with the error tied to the box.
        page.focus("#id_category")
        page.keyboard.press("Control+A")
        page.keyboard.type("Nowhere")
        stops += _tab_to(page, lambda f: f["name"] == "_continue")
        page.keyboard.press("Enter")
        page.wait_for_selector(".errorlist")
        refused = page.evaluate("() => [document.getElementById('id_category').getAttribute('aria-invalid'), "
                                "document.getElementById('id_category').getAttribute('aria-describedby'), "
                                "document.getElementById('id_category_error')?.innerText || '']")
        found[f"post refused {scheme} {width}"] = _check(page, width, f"names-post-refused-{scheme}-{width}")
        context.close()

        assert category == (["Gardening"], "1 category matches “Gard”."), category
        assert added == ["tags", "Tag 5"], added  # two tags, two empty boxes, and the one added
        assert tag == (["Winter"], "1 tag matches “Win”."), tag
        assert heard == ["1 category matches “Gard”.", "1 tag matches “Win”."], "each said once"
        assert refused[0] == "true" and "id_category_error" in refused[1], refused
        assert "No category is named “Nowhere”" in refused[2], refused

    # A reviewer's budget for a user found by part of their name.
    context = chromium.new_context(viewport={"width": 390, "height": 900}, color_scheme="dark", bypass_csp=True)
    page = context.new_page()
    _log_in_by_keyboard(page, server.url, REVIEWER)
    page.goto(f"{server.url}{reverse('admin:tasks_costbudget_add')}")
    stops += _tab_to(page, lambda f: f["name"] == "user")
    user = _type_and_hear(page, "user", "mig_ed", "id_user_names")
    found["budget dark 390"] = _check(page, 390, "names-budget-typed-dark-390")
    context.close()

    assert user == (["mig_editor"], "1 user matches “mig_ed”."), user
    assert found == {name: {} for name in found}
    assert [stop for stop in stops if not stop["ring"]] == [], "every stop shows where the focus is"
