"""The chat text models against local servers speaking the OpenAI and Anthropic wire protocols."""

from __future__ import annotations

import json
import time

import pytest

from content.providers.anthropic import AnthropicModel
from content.providers.base import (
    REVIEW_REASONS,
    TOKENS_PER_WORD,
    Brief,
    KeywordChange,
    Outline,
    Research,
    Revision,
    Source,
)
from content.providers.chat import LENGTH_HEADROOM, TOKEN_ALLOWANCE, clean_article, parse_outline
from content.providers.openai_compatible import OpenAICompatibleModel
from content.revisions import review_revision
from tasks.control_characters import first_hidden_character
from tasks.exceptions import PermanentError, TaskCancelled, TransientError
from tasks.models import ModelCatalogEntry
from tests.content.fake_servers import AnthropicServer, Fail, Hang, OpenAIChatServer, Raw, Reply, StreamError

KEY_VARIABLE = "PRESSROOM_TEST_API_KEY"
SECRET = "sk-test-0123456789abcdef"

BRIEF = Brief(
    topic="Composting at home",
    word_count=800,
    style="how-to",
    tone="friendly",
    target_audience="first-time gardeners",
    primary_keyword="home composting",
)
RESEARCH = Research(
    notes="Greens bring nitrogen, browns bring carbon.",
    sources=(
        Source(number=1, title="Garden Weekly: Composting", url="https://example.org/compost", quote="Turn it weekly."),
    ),
)
OUTLINE = Outline(title="Composting at home", sections=("Greens and browns", "Turning the heap", "When it is ready"))
ARTICLE = (
    "# Composting at home\n\nHome composting is easy [1].\n\n## Greens and browns\n\nMix them.\n\n"
    "## Turning the heap\n\nWeekly.\n\n## When it is ready\n\nIt smells of earth.\n\n## Conclusion\n\nStart today."
)

PROVIDERS = {
    "openai": (OpenAICompatibleModel, OpenAIChatServer, "openai_compatible", "/v1"),
    "anthropic": (AnthropicModel, AnthropicServer, "anthropic", ""),
}


@pytest.fixture(params=sorted(PROVIDERS))
def provider(request):
    return request.param


@pytest.fixture
def server(provider):
    with PROVIDERS[provider][1]() as server:
        yield server


@pytest.fixture
def with_key(monkeypatch):
    monkeypatch.setenv(KEY_VARIABLE, SECRET)


def make_model(provider: str, server, *, key_variable: str = KEY_VARIABLE, timeout: float | None = None):
    model_class, _, kind, suffix = PROVIDERS[provider]
    entry = ModelCatalogEntry(
        key="test-model",
        display_name="Test model",
        provider=kind,
        provider_model_id="fake-model-1",
        base_url=server.url + suffix,
        api_key_env=key_variable,
        context_window=16000,
    )
    return model_class(entry, timeout=timeout)


class StopAfter:
    """A stop check that lets `calls` calls through, then cancels the task."""

    def __init__(self, calls: int):
        self.calls, self.remaining = 0, calls

    def __call__(self):
        self.calls += 1
        if self.calls > self.remaining:
            raise TaskCancelled("cancelled by the test")


# --- Both protocols ------------------------------------------------------------------------------


def test_streamed_article_is_assembled_with_usage_from_the_stream(provider, server, with_key):
    server.script(Reply(ARTICLE, input_tokens=321, output_tokens=123))
    result = make_model(provider, server).write(BRIEF, RESEARCH, OUTLINE)
    assert result.text == ARTICLE + "\n"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (321, 123)


def test_request_carries_model_stream_flag_and_prompts(provider, server, with_key):
    server.script(Reply(ARTICLE))
    make_model(provider, server).write(BRIEF, RESEARCH, OUTLINE)
    [request] = server.requests
    body = request.json
    assert body["model"] == "fake-model-1"
    assert body["stream"] is True
    # The article's words at the one tokens-per-word ratio the estimate uses, with the headroom.
    assert body["max_tokens"] == int(BRIEF.word_count * LENGTH_HEADROOM * TOKENS_PER_WORD + TOKEN_ALLOWANCE)
    if provider == "openai":
        system, user = body["messages"]
        assert system["role"] == "system"
        system_text = system["content"]
        assert body["stream_options"] == {"include_usage": True}
    else:
        [user] = body["messages"]
        system_text = body["system"]
    assert user["role"] == "user"
    assert "professional writer" in system_text and "first-time gardeners" in system_text
    assert "Never invent sources" in system_text and '"home composting"' in system_text
    for heading in OUTLINE.sections:
        assert f"## {heading}" in user["content"]
    assert "[1] Garden Weekly: Composting — https://example.org/compost" in user["content"]
    assert "between 720 and 880" in user["content"]


def test_authentication_headers_follow_the_protocol(provider, server, with_key):
    server.script(Reply("Fine."))
    make_model(provider, server).critique(BRIEF, ARTICLE)
    headers = server.requests[0].headers
    if provider == "openai":
        assert headers["authorization"] == f"Bearer {SECRET}"
        assert "x-api-key" not in headers
    else:
        assert headers["x-api-key"] == SECRET
        assert headers["anthropic-version"] == "2023-06-01"
        assert "authorization" not in headers
    assert headers["content-type"] == "application/json"


def test_rejected_key_is_permanent_and_names_the_variable_not_the_key(provider, server, with_key):
    server.script(Fail(401, "Incorrect API key provided: {key}", error_type="invalid_request_error"))
    with pytest.raises(PermanentError) as caught:
        make_model(provider, server).critique(BRIEF, ARTICLE)
    message = str(caught.value)
    assert KEY_VARIABLE in message and "401" in message
    assert SECRET not in message
    assert SECRET not in repr(caught.value.__cause__) + repr(caught.value.__context__)


def test_rate_limit_is_transient_with_the_servers_retry_after(provider, server, with_key):
    server.script(Fail(429, "Slow down", headers={"Retry-After": "1"}))
    with pytest.raises(TransientError) as caught:
        make_model(provider, server).critique(BRIEF, ARTICLE)
    assert caught.value.retry_after == 1


@pytest.mark.parametrize("retry_after", ["Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
                                         "Mon, 01 Jan 2026 00:00:00 +99999999999999999999"],
                         ids=["year", "offset"])
def test_a_rate_limit_whose_retry_after_date_overflows_the_parser_is_transient_without_a_hint(
        provider, server, with_key, retry_after):
    # email.utils raised OverflowError, which left the provider as an "Unexpected error" and
    # failed the task at once instead of retrying it.
    server.script(Fail(429, "Slow down", headers={"Retry-After": retry_after}))
    with pytest.raises(TransientError, match="429") as caught:
        make_model(provider, server).critique(BRIEF, ARTICLE)
    assert caught.value.retry_after is None


def test_server_error_is_transient(provider, server, with_key):
    server.script(Fail(500, "Internal error"))
    with pytest.raises(TransientError, match="500"):
        make_model(provider, server).critique(BRIEF, ARTICLE)


def test_hanging_server_is_transient_within_the_client_timeout(provider, server, with_key):
    server.script(Hang(5))
    started = time.monotonic()
    with pytest.raises(TransientError, match="did not answer in time"):
        make_model(provider, server, timeout=1).critique(BRIEF, ARTICLE)
    assert time.monotonic() - started < 3


def test_stream_cut_off_before_any_text_is_transient(provider, server, with_key):
    server.script(Reply("", chunks=[], complete=False))
    with pytest.raises(TransientError, match="before any text"):
        make_model(provider, server).critique(BRIEF, ARTICLE)


def test_stream_cut_off_mid_answer_is_transient_not_a_short_article(provider, server, with_key):
    server.script(Reply(ARTICLE, complete=False))
    with pytest.raises(TransientError, match="before the answer was complete"):
        make_model(provider, server).write(BRIEF, RESEARCH, OUTLINE)


def test_missing_key_variable_fails_before_any_request(provider, server, monkeypatch):
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    server.script(Reply("never sent"))
    with pytest.raises(PermanentError, match=KEY_VARIABLE):
        make_model(provider, server).write(BRIEF, RESEARCH, OUTLINE)
    assert server.requests == []


@pytest.mark.parametrize("pasted", ["\u2013", "\u00a0", "\x7f"], ids=["en-dash", "no-break-space", "delete"])
def test_key_with_a_character_no_header_can_carry_fails_naming_the_variable_before_any_request(
        provider, server, monkeypatch, pasted):
    monkeypatch.setenv(KEY_VARIABLE, f"sk-test{pasted}0123")
    server.script(Reply("never sent"))
    with pytest.raises(PermanentError, match=f"{KEY_VARIABLE} holds a character an HTTP header cannot carry"):
        make_model(provider, server).write(BRIEF, RESEARCH, OUTLINE)
    assert server.requests == []


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "one-body"])
def test_usage_is_estimated_when_the_server_sends_none(provider, server, with_key, streamed):
    server.script(Reply("x" * 400, chunks=["x" * 200, "x" * 200], usage=False, streamed=streamed))
    result = make_model(provider, server).critique(BRIEF, ARTICLE)
    assert result.usage.output_tokens == 100
    assert result.usage.input_tokens > 100


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "one-body"])
def test_the_side_of_the_usage_the_server_leaves_out_is_estimated(provider, server, with_key, streamed):
    server.script(Reply("x" * 400, input_tokens=None, output_tokens=40, streamed=streamed),
                  Reply("x" * 400, input_tokens=900, output_tokens=None, streamed=streamed))
    model = make_model(provider, server)
    first, second = model.critique(BRIEF, ARTICLE), model.critique(BRIEF, ARTICLE)
    assert first.usage.input_tokens > 100 and first.usage.output_tokens == 40
    assert second.usage.input_tokens == 900 and second.usage.output_tokens == 100


def test_stop_check_ends_a_slow_stream_promptly(provider, server, with_key):
    server.script(Reply(" ".join(f"word{index}" for index in range(50)), delay=0.2))
    stop = StopAfter(4)  # one check before the request, then three chunks
    started = time.monotonic()
    with pytest.raises(TaskCancelled):
        make_model(provider, server).write(BRIEF, RESEARCH, OUTLINE, stop=stop)
    assert time.monotonic() - started < 2.5  # the whole stream takes ten seconds
    assert stop.calls == 5


def test_answer_sent_as_one_json_body_is_read(provider, server, with_key):
    server.script(Reply("A short critique.", streamed=False, input_tokens=9, output_tokens=4))
    result = make_model(provider, server).critique(BRIEF, ARTICLE)
    assert result.text == "A short critique."
    assert (result.usage.input_tokens, result.usage.output_tokens) == (9, 4)


def test_outline_is_read_from_json(provider, server, with_key):
    answer = (
        '```json\n{"title": "Compost Made Simple", "sections": ["Greens and browns", "Turning", "Introduction"]}\n```'
    )
    server.script(Reply(answer))
    result = make_model(provider, server).outline(BRIEF, RESEARCH)
    assert result.outline == Outline(title="Compost Made Simple", sections=("Greens and browns", "Turning"))
    assert '{"title": "The article title", "sections"' in server.requests[0].json["messages"][-1]["content"]


def test_outline_is_read_from_a_markdown_list(provider, server, with_key):
    answer = (
        "Here is a plan.\n\n# Compost Made Simple\n\n"
        "1. **Greens and browns**\n   - nitrogen\n2. Turning the heap\n3. Conclusion\n"
    )
    server.script(Reply(answer))
    result = make_model(provider, server).outline(BRIEF, RESEARCH)
    assert result.outline == Outline(title="Compost Made Simple", sections=("Greens and browns", "Turning the heap"))


def test_outline_that_cannot_be_read_is_permanent(provider, server, with_key):
    server.script(Reply("I would rather not plan this article."))
    with pytest.raises(PermanentError, match="returned an outline that could not be read"):
        make_model(provider, server).outline(BRIEF, RESEARCH)


def test_revision_sends_the_article_and_each_change(provider, server, with_key):
    server.script(Reply(ARTICLE))
    revision = Revision(
        findings=("Expand to 900–1,000 words.",), target_words=950, add_sections=("Common mistakes",),
        remove_phrases=("[insert example]",), keyword=KeywordChange.REDUCE,
    )
    result = make_model(provider, server).revise(BRIEF, RESEARCH, ARTICLE, revision)
    assert result.text.startswith("# Composting at home")
    prompt = server.requests[0].json["messages"][-1]["content"]
    assert "Findings of the quality check:\n- Expand to 900–1,000 words." in prompt and "about 950 words" in prompt
    assert '"## Common mistakes"' in prompt and '"[insert example]"' in prompt
    assert 'Use the primary keyword "home composting" less often' in prompt
    assert "reviewer" not in prompt
    assert ARTICLE in prompt


def test_reviewer_rejection_sends_reasons_feedback_and_target_length(provider, server, with_key):
    server.script(Reply(ARTICLE))
    research = Research(notes=RESEARCH.notes,
                        sources=(*RESEARCH.sources, Source(2, "Soil Survey", "https://example.org/soil")))
    feedback = "Far too long for the newsletter.\nAnd back the claims about soil."
    revision = review_revision(brief=BRIEF, article=ARTICLE, reasons=["length", "sources", "tone", "factual_error"],
                               feedback=feedback, target_words=500)
    make_model(provider, server).revise(BRIEF, research, ARTICLE, revision)
    body = server.requests[0].body.decode()
    prompt = server.requests[0].json["messages"][-1]["content"]
    assert "A human reviewer rejected this version" in prompt
    for reason in ("length", "sources", "tone", "factual_error"):
        assert f"- {reason}: {REVIEW_REASONS[reason]}" in prompt
        assert reason in body
    assert "> Far too long for the newsletter.\n> And back the claims about soil." in prompt
    assert "about 500 words (between 450 and 550)" in prompt
    assert "the sources not cited yet: [2]." in prompt
    assert "Write in a friendly tone throughout." in prompt
    assert "Address the audience (first-time gardeners)" in prompt
    assert "Findings of the quality check" not in prompt


def test_reviewer_target_length_sets_the_output_budget(provider, server, with_key):
    server.script(Reply(ARTICLE), Reply(ARTICLE))
    model = make_model(provider, server)
    model.revise(BRIEF, RESEARCH, ARTICLE, review_revision(brief=BRIEF, article=ARTICLE, reasons=["length"],
                                                           feedback="Much longer, please.", target_words=3000))
    model.revise(BRIEF, RESEARCH, ARTICLE, review_revision(brief=BRIEF, article=ARTICLE, reasons=["quality"],
                                                           feedback="Sharper, please."))
    longer, plain = (request.json["max_tokens"] for request in server.requests)
    assert longer > plain


# --- Protocol specifics --------------------------------------------------------------------------


def test_openai_compatible_server_without_key_gets_no_authorization(monkeypatch):
    with OpenAIChatServer(Reply("Fine.")) as server:
        make_model("openai", server, key_variable="").critique(BRIEF, ARTICLE)
    assert "authorization" not in server.requests[0].headers




@pytest.mark.parametrize(
    "error_type, expected", [("overloaded_error", TransientError), ("invalid_request_error", PermanentError)]
)
def test_anthropic_error_event_mid_stream_is_classified(with_key, error_type, expected):
    with AnthropicServer(StreamError(error_type, "Something happened")) as server:
        with pytest.raises(expected, match=error_type):
            make_model("anthropic", server).critique(BRIEF, ARTICLE)


def anthropic_stream_ending_in_error(data: dict) -> Raw:
    start = {"type": "message_start", "message": {"usage": {"input_tokens": 5}}}
    return Raw(200, f"event: message_start\ndata: {json.dumps(start)}\n\nevent: error\ndata: {json.dumps(data)}\n\n",
               content_type="text/event-stream")


@pytest.mark.parametrize("data, ending", [
    ({"type": "error", "message": "Overloaded"}, "reported an error without a type mid-stream: Overloaded"),
    ({"type": "error", "error": {"message": "Overloaded"}}, "reported an error without a type mid-stream: Overloaded"),
    ({"error": "Overloaded"}, "reported an error without a type mid-stream: Overloaded"),
    ({"type": "error"}, "reported an error without a type mid-stream"),
], ids=["message-beside-the-type", "error-object-without-type", "error-as-text", "nothing"])
def test_anthropic_error_event_without_an_error_type_fails_permanently_with_the_text_it_sent(with_key, data, ending):
    # Only the types in TRANSIENT_ERROR_TYPES are known to pass; one without a type is not. Before,
    # the text beside the type was lost ("reported error mid-stream") and an error that was text
    # alone was retried as a malformed chunk.
    with AnthropicServer(anthropic_stream_ending_in_error(data)) as server:
        with pytest.raises(PermanentError) as raised:
            make_model("anthropic", server).critique(BRIEF, ARTICLE)
    assert str(raised.value).endswith(ending)


def openai_stream_ending_in_error(error) -> Raw:
    chunk = {"choices": [{"index": 0, "delta": {"content": "Half"}}]}
    return Raw(200, f"data: {json.dumps(chunk)}\n\ndata: {json.dumps({'error': error})}\n\n",
               content_type="text/event-stream")


HOSTILE_ERROR_TEXT = "Bad\x1b[31m request\r\nForged: line\u202e " + "x" * 5000
STREAM_SERVERS = {"anthropic": AnthropicServer, "openai": OpenAIChatServer}


@pytest.mark.parametrize("provider, stream, shown", [
    ("anthropic", anthropic_stream_ending_in_error(
        {"type": "error", "error": {"type": "invalid_request_error\x1b[2J", "message": HOSTILE_ERROR_TEXT}}),
     "invalid_request_error [2J mid-stream: Bad [31m request Forged: line xxx"),
    ("openai", openai_stream_ending_in_error({"type": "server_error\x1b[2J", "message": HOSTILE_ERROR_TEXT}),
     "reported an error mid-stream: Bad [31m request Forged: line xxx"),
    ("openai", openai_stream_ending_in_error(HOSTILE_ERROR_TEXT),
     "reported an error mid-stream: Bad [31m request Forged: line xxx"),
], ids=["anthropic", "openai-object", "openai-text"])
def test_a_stream_errors_text_is_shown_as_one_bounded_line(with_key, provider, stream, shown):
    with STREAM_SERVERS[provider](stream) as server:
        with pytest.raises(PermanentError) as raised:
            make_model(provider, server).critique(BRIEF, ARTICLE)
    message = str(raised.value)
    assert first_hidden_character(message) is None
    assert shown in message
    assert len(message) < 400


def test_anthropic_overloaded_status_is_transient(with_key):
    with AnthropicServer(Fail(529, "Overloaded")) as server:
        with pytest.raises(TransientError, match="529"):
            make_model("anthropic", server).critique(BRIEF, ARTICLE)


def test_anthropic_base_url_may_include_the_version(with_key):
    with AnthropicServer(Reply("Fine.")) as server:
        model = make_model("anthropic", server)
        model.entry.base_url = server.url + "/v1/"
        model.critique(BRIEF, ARTICLE)
    assert server.requests[0].path == "/v1/messages"


# --- Reading answers -----------------------------------------------------------------------------


def test_outline_parser_accepts_headings_and_section_objects():
    assert parse_outline(
        '{"title": "T", "sections": [{"heading": "One"}, {"title": "Two"}]}', fallback_title="F", provider="P"
    ) == Outline("T", ("One", "Two"))
    headings = "## Introduction\n## Why it matters\n## How to start\n"
    assert parse_outline(headings, fallback_title="F", provider="P") == Outline("F", ("Why it matters", "How to start"))


@pytest.mark.parametrize("answer", [
    json.dumps({"title": "T", "sections": ["How\x1b[31m they\u202e work\x07", "What they\ncost"]}),
    "# T\n\n## How\x1b[31m they\u202e work\x07\n## What\tthey \x1b\x1bcost\n",
], ids=["json", "markdown"])
def test_outline_sections_are_one_line_without_hidden_characters(answer):
    # They head the draft's sections in the prompt and are listed in the "Outline ready" progress
    # line; a model's ESC, BEL, right-to-left override or line break stayed in them.
    assert parse_outline(answer, fallback_title="F", provider="P").sections == ("How[31m they work", "What they cost")


def test_article_cleanup_drops_a_fence_and_a_preamble_and_keeps_a_title():
    assert clean_article("Sure! Here it is:\n\n```markdown\n# T\n\nBody.\n```", title="X") == "# T\n\nBody.\n"
    assert clean_article("Intro.\n\n## Part\n\nText.", title="X") == "# X\n\nIntro.\n\n## Part\n\nText.\n"


def test_calls_after_the_first_load_no_certificates(provider, server, with_key, monkeypatch):
    # httpx loads certifi's whole bundle into a new SSL context for every client it builds unless
    # given one: ~15 ms of CPU per model call. The process's context is built once.
    import ssl

    server.script(Reply(ARTICLE), Reply(ARTICLE), Reply(ARTICLE))
    model = make_model(provider, server)
    model.write(BRIEF, RESEARCH, OUTLINE)
    loads = []
    load_verify_locations = ssl.SSLContext.load_verify_locations

    def counting(self, *args, **kwargs):
        loads.append(args or kwargs)
        return load_verify_locations(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    model.write(BRIEF, RESEARCH, OUTLINE)
    make_model(provider, server).write(BRIEF, RESEARCH, OUTLINE)

    assert len(server.requests) == 3
    assert loads == []
