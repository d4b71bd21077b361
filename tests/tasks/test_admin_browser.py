"""The oversight hub in a real browser: the brief form's live estimate, approving from the task
page, the diff of two versions, and screenshots of each page (var/screenshots/) to look at.

Daphne serves the site on the test database; Debian's Chromium is driven through Playwright. All
database work happens in the fixture before the browser starts (Playwright's sync API runs an
event loop in this thread, where Django refuses queries); the checks that need the database run
after the browser context is closed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from content.models import ApprovalEvent
from content.services.versions import version_create
from publishing.roles import EDITORS, REVIEWERS
from tasks.models import GenerationTask, ModelCatalogEntry
from tests.factories import make_task, make_user
from tests.processes import WebServer
from tests.seed import ensure_seed_data
from tests.tasks.test_admin_live_progress import _log_in, chromium  # noqa: F401 (fixture)

SCREENSHOTS = Path(__file__).parents[2] / "var" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}
ARTICLE = """# Heat pumps in old houses

Old houses can run a heat pump well when the radiators are sized for a lower flow temperature.

## What to measure first

Measure the heat loss of each room before you buy anything [1].

## Radiators and flow temperature

Larger radiators let the pump run at 45 °C instead of 70 °C.

## Sources

1. [Energy Saving Trust](https://example.com/est)
"""


def _outside_the_browser_loop(read):
    """Run a database read in a thread of its own: this thread runs Playwright's event loop."""
    def run():
        try:
            return read()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def _signed_in_page(chromium, server, user, path: str):
    """A new browser context at `path`, signed in as `user`; the caller closes `page.context`."""
    page = chromium.new_context(viewport=VIEWPORT).new_page()
    _log_in(page, server.url, user)
    page.goto(f"{server.url}{path}")
    return page


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def _completed_task(editor, *, title: str) -> GenerationTask:
    task = make_task(created_by=editor, title=title, topic="Heat pumps in houses built before 1950",
                     status="completed", phase="", progress=100, finished_at=timezone.now(),
                     actual_cost=Decimal("0.0123"), category="Energy", tags=["heat pumps"])
    report = {
        "score": 84, "word_count": 55, "word_range": [55, 70], "within_tolerance": True,
        "checks": [
            {"name": "word_count", "points": 25, "max_points": 25, "findings": []},
            {"name": "structure", "points": 15, "max_points": 20,
             "findings": ["Add a conclusion section that sums up the advice."]},
            {"name": "citations", "points": 5, "max_points": 5, "findings": []},
        ],
    }
    version_create(task=task, phase="format", title=title, body=ARTICLE.replace("45 °C", "50 °C"),
                   quality_score=79, quality_report=report)
    version_create(
        task=task, phase="format", title=title, body=ARTICLE, quality_score=84, quality_report=report,
        excerpt="What to check before a heat pump goes into an old house.",
        seo={"seo_title": f"{title} | Pressroom", "meta_description": "Measure heat loss, size radiators.",
             "slug": "heat-pumps-in-old-houses", "reading_time_minutes": 1,
             "toc": [{"id": "what-to-measure-first", "title": "What to measure first", "level": 2},
                     {"id": "radiators-and-flow-temperature", "title": "Radiators and flow temperature", "level": 2}]},
        sources=[{"number": 1, "title": "Energy Saving Trust", "url": "https://example.com/est"}],
    )
    return task


@pytest.fixture
def hub(tmp_path):
    ensure_seed_data()
    editor = make_user("hub-editor")
    editor.groups.add(Group.objects.get(name=EDITORS))
    reviewer = make_user("hub-reviewer")
    reviewer.groups.add(Group.objects.get(name=REVIEWERS))
    # A priced model that needs no key, so the estimate moves with the word count.
    ModelCatalogEntry.objects.create(
        key="house-llm", display_name="House LLM", provider="openai_compatible", provider_model_id="house",
        base_url="https://llm.example.com/v1", input_price_per_million=Decimal("2.50"),
        output_price_per_million=Decimal("10.00"),
    )
    task = _completed_task(editor, title="Heat pumps in old houses: what to check before you buy")
    for index, status in enumerate(["running", "queued", "failed"]):
        make_task(created_by=editor, status=status, progress=40 if status == "running" else 0,
                  phase="draft" if status == "running" else "",
                  finished_at=timezone.now() if status == "failed" else None,
                  title=f"A rather long working title for task number {index} that would wrap word by word")
    with WebServer(tmp_path) as server:
        yield server, editor, reviewer, task


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_editor_creates_a_task_and_sees_the_estimate_follow_the_word_count(hub, chromium):  # noqa: F811
    server, editor, _, _ = hub
    page = _signed_in_page(chromium, server, editor, reverse("admin:tasks_generationtask_add"))
    estimate = page.locator("output.task-estimate")

    disabled = page.eval_on_selector_all("select[name=model] option:disabled", "options => options.map(o => o.text)")
    page.select_option("select[name=model]", label=page.locator("select[name=model] option", has_text="House LLM")
                       .first.text_content())
    page.wait_for_function("() => document.querySelector('output.task-estimate').textContent !== '$0.00 (estimate)'")
    before = estimate.text_content()
    page.fill("input[name=word_count]", "4000")
    page.wait_for_function(f"() => document.querySelector('output.task-estimate').textContent !== {before!r}")
    after = estimate.text_content()
    page.fill("input[name=topic]", "Heat pumps for houses built before 1950")
    page.fill("textarea[name=research_notes]", "Radiators sized for 70 °C need checking.")
    page.fill("textarea[name=source_urls]", "https://example.com/heat-pumps")
    page.locator("input[name=word_count_tolerance]").fill("15")
    tolerance_shown = page.locator(".range-with-value output").text_content()
    _shot(page, "new-task-form")
    page.select_option("select[name=task_type]", "image_generation")
    word_count_hidden = page.locator(".form-row.field-word_count").is_hidden()
    page.select_option("select[name=task_type]", "blog_post")
    page.click("input[name=_save]")
    page.wait_for_url(f"{server.url}{reverse('admin:tasks_generationtask_changelist')}")
    _shot(page, "task-list")
    page.context.close()

    assert before.endswith("(estimate)") and before.startswith("$")
    assert after != before
    assert float(after.split()[0].lstrip("$")) > float(before.split()[0].lstrip("$"))
    assert any("needs OPENAI_API_KEY" in text for text in disabled), disabled
    assert tolerance_shown == "15 %"
    assert word_count_hidden
    task = _outside_the_browser_loop(lambda: GenerationTask.objects.select_related("model").get(
        topic="Heat pumps for houses built before 1950"))
    assert (task.model.key, task.word_count, task.word_count_tolerance) == ("house-llm", 4000, 15)
    assert task.metadata["research"] == {"text": "Radiators sized for 70 °C need checking.",
                                         "urls": ["https://example.com/heat-pumps"]}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_reviewer_approves_from_the_task_page(hub, chromium):  # noqa: F811
    server, _, reviewer, task = hub
    page = _signed_in_page(chromium, server, reviewer, reverse("admin:tasks_generationtask_change", args=[task.pk]))
    _shot(page, "task-page")
    heading = page.locator(".article-preview h2").first
    heading_background = heading.evaluate("h => getComputedStyle(h).backgroundColor")
    save_buttons = page.locator("input[name=_save]").count()
    page.fill("textarea[name=approve-feedback]", "Clear and well sourced.")
    page.click("button[name=approve]")
    page.wait_for_selector(".messagelist .success")
    message = page.locator(".messagelist .success").text_content()
    review_forms_after = page.eval_on_selector_all("form[data-verb]", "forms => forms.map(f => f.dataset.verb)")
    _shot(page, "task-page-approved")
    page.context.close()

    assert save_buttons == 0, "a finished task has no Save button"
    assert heading_background in ("rgba(0, 0, 0, 0)", "transparent")
    assert "Approved" in message
    assert "approve" not in review_forms_after and "revoke_approval" in review_forms_after
    status, event = _outside_the_browser_loop(lambda: (
        GenerationTask.objects.get(pk=task.pk).approval_status,
        ApprovalEvent.objects.select_related("actor", "version").get(task=task, decision="approved"),
    ))
    assert status == "approved"
    assert (event.actor, event.feedback, event.version.number) == (reviewer, "Clear and well sourced.", 2)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_refused_reject_and_stale_edit_come_back_with_what_was_typed(hub, chromium):  # noqa: F811
    from content.services.review import task_edit_draft

    server, editor, reviewer, task = hub
    page = _signed_in_page(chromium, server, reviewer, reverse("admin:tasks_generationtask_change", args=[task.pk]))
    feedback = "The introduction repeats the title.\nThe radiator section needs a source."
    page.fill("textarea[name=reject-feedback]", feedback)
    page.click("button[name=reject]")
    page.wait_for_selector(".task-action--refused")
    kept_feedback = page.input_value("textarea[name=reject-feedback]")
    reject_errors = page.locator(".task-action--reject .errorlist").all_text_contents()
    _shot(page, "task-page-refused-reject")

    _outside_the_browser_loop(lambda: task_edit_draft(  # another tab saves an edit meanwhile
        task=GenerationTask.objects.get(pk=task.pk), by=editor, title="Heat pumps in old houses", base_version=2))
    page.click(".task-action--edit summary")
    body = page.input_value("textarea[name=edit-body]") + "\n\nA long paragraph typed in this tab.\n"
    page.fill("textarea[name=edit-body]", body)
    page.click("button[name=edit]")
    page.wait_for_selector("details.task-action--edit.task-action--refused[open]")
    kept_body = page.input_value("textarea[name=edit-body]")
    edit_errors = page.locator(".task-action--edit .errorlist").all_text_contents()
    page.locator(".task-action--edit").scroll_into_view_if_needed()
    _shot(page, "task-page-refused-edit")
    page.context.close()

    assert kept_feedback == feedback
    assert any("This field is required." in text for text in reject_errors), reject_errors
    assert kept_body.strip() == body.strip()
    assert any("changed while you were editing" in text for text in edit_errors), edit_errors
    decisions, bodies = _outside_the_browser_loop(lambda: (
        list(ApprovalEvent.objects.filter(task=task).values_list("decision", flat=True)),
        list(GenerationTask.objects.get(pk=task.pk).versions.values_list("body", flat=True)),
    ))
    assert decisions == ["edited"], "only the other tab's edit; no rejection"
    assert not any("typed in this tab" in text for text in bodies)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_reviewer_compares_two_versions_side_by_side(hub, chromium):  # noqa: F811
    server, _, reviewer, task = hub
    page = _signed_in_page(chromium, server, reviewer, reverse("admin:tasks_generationtask_change", args=[task.pk]))
    sizes = page.evaluate("() => [...document.querySelectorAll('.task-versions button.button, .task-action button.button')]"
                          ".map(b => getComputedStyle(b).fontSize + ' ' + getComputedStyle(b).paddingTop)")
    page.check("input[name=a][value='1']")
    page.check("input[name=b][value='2']")
    page.click("text=Compare A with B")
    page.wait_for_selector("table.version-diff")
    changed = page.eval_on_selector_all(
        "table.version-diff tr.diff-replace", "rows => rows.map(r => [...r.querySelectorAll('td.side')].map(td => td.textContent))"
    )
    _shot(page, "version-diff")
    page.set_viewport_size({"width": 390, "height": 844})
    _shot(page, "version-diff-phone")
    phone = page.eval_on_selector_all("table.version-diff tr.diff-replace td.side", "cells => cells.map(td => "
                                      "[Math.round(td.getBoundingClientRect().width), getComputedStyle(td, '::before').content])")
    page_width = _page_width(page)
    page.context.close()

    assert len(sizes) > 1 and len(set(sizes)) == 1, f"the page's buttons in one size: {sizes}"
    assert changed == [["Larger radiators let the pump run at 50 °C instead of 70 °C.",
                        "Larger radiators let the pump run at 45 °C instead of 70 °C."]]
    # On a phone: one column, the old line over the new, each as wide as the page allows.
    assert page_width <= 390 and [sign for _, sign in phone] == ['"− "', '"+ "'], phone
    assert all(width >= 300 for width, _ in phone), phone


LONG_WORD = "Compostingwithoutasinglespace" * 6  # 174 characters (titles hold 200), no place to break


def _contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two computed CSS colours (`rgb(…)`/`rgba(…)`)."""
    def luminance(colour: str) -> float:
        red, green, blue = (float(part) / 255 for part in colour[colour.index("(") + 1:].rstrip(")").split(",")[:3])
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def _text_under_object_tools(page) -> list:
    """The subtitle's lines of text that overlap the floated object tools (History), as boxes."""
    return page.evaluate("""() => {
        const tools = document.querySelector('.object-tools').getBoundingClientRect();
        const range = document.createRange();
        range.selectNodeContents(document.querySelector('#content > h2'));
        return [...range.getClientRects()].filter(line => line.right > tools.left && line.left < tools.right
            && line.bottom > tools.top && line.top < tools.bottom).map(line => [line.left, line.top, line.right]);
    }""")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_task_pages_fit_a_phone_long_words_wrap_and_labels_read(hub, chromium, scheme):  # noqa: F811
    server, editor, _, _ = hub

    def approved_task_with_a_long_title():
        from content.models import ApprovalEvent

        task = _completed_task(editor, title=LONG_WORD)
        GenerationTask.objects.filter(pk=task.pk).update(approval_status="approved")
        ApprovalEvent.objects.create(task=task, decision="rejected", actor=editor, reasons=["quality"],
                                     feedback="The lifetimes section is too thin and never shows a concrete example.")
        return task

    task = _outside_the_browser_loop(approved_task_with_a_long_title)
    context = chromium.new_context(viewport=VIEWPORT, color_scheme=scheme)
    page = context.new_page()
    failed = []
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    _log_in(page, server.url, editor)
    task_page = f"{server.url}{reverse('admin:tasks_generationtask_change', args=[task.pk])}"
    try:
        page.goto(task_page)
        assert _page_width(page) <= VIEWPORT["width"], "a long word pushes the task page sideways"
        assert _text_under_object_tools(page) == [], "the title runs under the History button"
        _shot(page, f"admin-task-long-title-{scheme}")
        preview_title = page.locator(".article-preview__seo-title").first
        colours = preview_title.evaluate("e => [getComputedStyle(e).color, getComputedStyle(document.body).backgroundColor]")
        assert _contrast(*colours) >= 4.5, f"search preview title {colours}"
        # The live panel's words on its own background: "Status: Completed", and an error as the
        # panel shows one (added here: this task has none).
        panel = page.locator(".live-progress").first
        panel.evaluate("e => e.insertAdjacentHTML('beforeend', '<p class=\"live-progress__error\">Failed.</p>')")
        for selector in (".live-progress__status", ".live-progress__error"):
            colours = page.locator(selector).first.evaluate(
                "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor === 'rgba(0, 0, 0, 0)'"
                " ? getComputedStyle(e.closest('.live-progress')).backgroundColor : getComputedStyle(e).backgroundColor]")
            assert _contrast(*colours) >= 4.5, f"{selector} {colours}"

        page.goto(f"{server.url}{reverse('admin:tasks_generationtask_changelist')}")
        label = page.locator(".task-approval--approved").first
        colours = label.evaluate("e => [getComputedStyle(e).color, getComputedStyle(document.body).backgroundColor]")
        assert _contrast(*colours) >= 4.5, f"the Approved label {colours}"

        page.set_viewport_size({"width": 390, "height": 844})
        for path in (task_page, f"{server.url}/admin/"):
            page.goto(path)
            assert _page_width(page) <= 390, f"{path} scrolls sideways on a phone"
        # A chart's 11-unit labels at its drawn scale: 6 px when it shrank to a phone's card.
        label_px = page.locator("svg.chart").first.evaluate(
            "svg => 11 * svg.getBoundingClientRect().width / svg.viewBox.baseVal.width")
        assert label_px >= 9, f"chart labels of {label_px:.1f} px on a phone"
        latest_day_shown = page.locator(".dash-card--chart").first.evaluate(
            "card => { const box = card.getBoundingClientRect(), svg = card.querySelector('svg.chart')"
            ".getBoundingClientRect(); return svg.right <= box.right + 1 && svg.right >= box.right - 40; }")
        assert latest_day_shown, "a chart that scrolls on a phone opens on its latest days"
        _shot(page, f"admin-dashboard-phone-{scheme}")
        page.goto(task_page)
        _shot(page, f"admin-task-phone-{scheme}")
        feedback_width = page.locator(".task-audit__feedback").first.evaluate("e => e.getBoundingClientRect().width")
        choices_tops = page.locator(".task-versions__compare").first.evaluate(
            "e => [...e.querySelectorAll('label')].map(l => Math.round(l.getBoundingClientRect().top))")
        assert feedback_width >= 150, f"the audit trail's feedback squeezed to {feedback_width} px on a phone"
        assert len(set(choices_tops)) == 1, f"a version's A and B choices on one line: {choices_tops}"
    finally:
        context.close()
    assert failed == [], f"answered 4xx/5xx: {failed}"  # the favicon included
