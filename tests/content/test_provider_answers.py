"""What the chat models do with answers they cannot use as they came, against the wire-protocol servers.

An answer cut off at its token limit is reported and asked for once more with a larger limit, then
fails permanently; one stopped by the content filter fails permanently at once; a critique cut off
is kept up to its last whole sentence; a malformed stream chunk is transient, like a dropped
stream; a base URL that cannot be requested fails before any
request; and every answer received and thrown away reaches the listener with its tokens.
"""

from __future__ import annotations

import gzip
import json

import httpx
import pytest

from content.providers import http
from content.providers.base import AnswerNotice, TruncatedAnswer, Usage
from content.providers.chat import CRITIQUE_MAX_TOKENS
from tasks.exceptions import PermanentError, TransientError
from tests.content.fake_servers import Malformed, OpenAIChatServer, Raw, Reply, gzip_bomb, peak_memory
from tests.content.test_providers_chat import (
    ARTICLE,
    BRIEF,
    KEY_VARIABLE,
    OUTLINE,
    RESEARCH,
    SECRET,
    make_model,
    provider,  # noqa: F401  (fixtures: each test runs against both wire protocols)
    server,  # noqa: F401
)

CUT = ARTICLE[: len(ARTICLE) // 2]


@pytest.fixture(autouse=True)
def with_key(monkeypatch):
    monkeypatch.setenv(KEY_VARIABLE, SECRET)


def listening(provider, server, **kwargs):
    heard: list[AnswerNotice] = []
    model = make_model(provider, server, **kwargs)
    model.listener = heard.append
    return model, heard


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "one-body"])
def test_an_answer_cut_off_at_its_limit_is_reported_and_asked_again_with_twice_the_limit(provider, server, streamed):
    server.script(Reply(CUT, truncated=True, streamed=streamed, input_tokens=500, output_tokens=1364),
                  Reply(ARTICLE, streamed=streamed, input_tokens=500, output_tokens=900))
    model, heard = listening(provider, server)
    result = model.write(BRIEF, RESEARCH, OUTLINE)
    assert result.text == ARTICLE + "\n" and result.usage == Usage(500, 900)
    first, second = (request.json["max_tokens"] for request in server.requests)
    assert second == 2 * first
    [notice] = heard
    assert notice.reason == "truncated" and notice.usage == Usage(500, 1364)
    assert f"cut off at its token limit ({first:,} tokens); asking again with a limit of {second:,}" in notice.message


def test_an_answer_cut_off_twice_fails_permanently_with_the_limit_and_what_to_do(provider, server):
    server.script(Reply(CUT, truncated=True, input_tokens=500, output_tokens=1364),
                  Reply(CUT, truncated=True, input_tokens=500, output_tokens=2728))
    model, heard = listening(provider, server)
    with pytest.raises(TruncatedAnswer) as caught:
        model.write(BRIEF, RESEARCH, OUTLINE)
    limit = server.requests[1].json["max_tokens"]
    assert str(caught.value).endswith(f"answer was cut off at its token limit ({limit:,} tokens); raise the limit "
                                      "(the model's context window in the catalog) or shorten the target length.")
    assert isinstance(caught.value, PermanentError) and caught.value.text == CUT
    assert len(server.requests) == 2
    assert [(n.reason, n.usage) for n in heard] == [("truncated", Usage(500, 1364)), ("truncated", Usage(500, 2728))]


def test_no_larger_limit_is_tried_when_the_context_window_leaves_no_room(provider, server):
    server.script(Reply(CUT, truncated=True), Reply(ARTICLE))
    model, heard = listening(provider, server)
    model.entry.context_window = 1300  # the prompt (~800 tokens) leaves about 500 for the answer
    with pytest.raises(TruncatedAnswer, match="cut off at its token limit"):
        model.write(BRIEF, RESEARCH, OUTLINE)
    assert len(server.requests) == 1 and [n.reason for n in heard] == ["truncated"]


def test_a_critique_cut_off_is_kept_up_to_its_last_whole_sentence(provider, server):
    server.script(Reply("The piece serves beginners well. It never says when the compost is rea",
                        truncated=True, input_tokens=300, output_tokens=CRITIQUE_MAX_TOKENS))
    model, heard = listening(provider, server)
    result = model.critique(BRIEF, ARTICLE)
    assert result.text == "The piece serves beginners well."
    assert result.usage == Usage(300, CRITIQUE_MAX_TOKENS), "kept, so its tokens travel with the result"
    assert len(server.requests) == 1
    [notice] = heard
    assert notice.reason == "truncated" and notice.usage is None and "kept up to its last whole sentence" in notice.message


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "one-body"])
def test_an_answer_stopped_by_the_content_filter_fails_permanently_and_is_reported_with_its_tokens(
        provider, server, streamed):
    server.script(Reply(CUT, filtered=True, streamed=streamed, input_tokens=500, output_tokens=40), Reply(ARTICLE))
    model, heard = listening(provider, server)
    with pytest.raises(PermanentError, match="the partial answer is not used. Rephrase the brief."):
        model.write(BRIEF, RESEARCH, OUTLINE)
    assert len(server.requests) == 1, "a larger limit cannot mend a filtered answer"
    assert [(n.reason, n.usage) for n in heard] == [("filtered", Usage(500, 40))]


@pytest.mark.parametrize("shape", [False, True], ids=["invalid-json", "wrong-shape"])
def test_a_malformed_stream_chunk_is_transient_like_a_dropped_stream(provider, server, shape):
    server.script(Malformed(shape=shape))
    problem = " not " if shape else "invalid JSON"
    with pytest.raises(TransientError, match=rf"sent a malformed stream chunk \(.*{problem}.*tried again"):
        make_model(provider, server).critique(BRIEF, ARTICLE)


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "one-body"])
@pytest.mark.parametrize("tokens", ["many", -5, 10**30, 2.5, True], ids=["text", "negative", "10**30", "fraction",
                                                                       "boolean"])
def test_a_token_count_that_is_not_one_fails_the_call_permanently_naming_it(provider, server, tokens, streamed):
    # Charged as a cost, a negative count paid the budget back; 10**30 failed later in its column.
    server.script(Reply(ARTICLE, input_tokens=tokens, streamed=streamed))
    with pytest.raises(PermanentError, match=r"reported a token count that is not one: "):
        make_model(provider, server).critique(BRIEF, ARTICLE)


@pytest.mark.parametrize("content", [[{"type": "text", "text": "Hi"}], {"text": "Hi"}, 12345],
                         ids=["list", "object", "number"])
def test_answer_text_of_the_wrong_type_fails_permanently_naming_the_provider(provider, server, content):
    # OpenAI's message.content, Anthropic's text block's text.
    server.script(Reply(content, streamed=False))
    with pytest.raises(PermanentError, match=r"^.*\(Test model\) answered in an unexpected shape: .* is "
                                             rf"{type(content).__name__}, not text\.$"):
        make_model(provider, server).write(BRIEF, RESEARCH, OUTLINE)


@pytest.mark.parametrize("piece", [{"evil": "<script>alert(1)</script>"}, ["a", {"b": 1}], 7],
                         ids=["object", "list", "number"])
def test_streamed_text_of_the_wrong_type_is_a_malformed_chunk_never_stored(provider, server, piece):
    # OpenAI's delta.content, Anthropic's text_delta text: once stored as str(piece), the article.
    server.script(Reply("", chunks=["# Title\n\n", piece]))
    with pytest.raises(TransientError, match=r"sent a malformed stream chunk \(its (delta content|text) is not text"):
        make_model(provider, server).write(BRIEF, RESEARCH, OUTLINE)


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "one-body"])
def test_nul_and_lone_surrogates_in_an_answer_are_dropped_before_it_is_stored(provider, server, streamed):
    # PostgreSQL refuses NUL in text; a lone surrogate has no UTF-8 form.
    server.script(Reply(ARTICLE.replace("easy", "ea\x00sy\ud800"), streamed=streamed))
    assert make_model(provider, server).write(BRIEF, RESEARCH, OUTLINE).text == ARTICLE + "\n"


def test_nul_and_lone_surrogates_escaped_in_an_outline_are_dropped(provider, server):
    server.script(Reply('{"title": "Com\\u0000post\\ud800", "sections": ["Gre\\u0000ens", "Turning", "Ready"]}'))
    outline = make_model(provider, server).outline(BRIEF, RESEARCH)
    assert (outline.outline.title, outline.outline.sections) == ("Compost", ("Greens", "Turning", "Ready"))


DEEP = "[" * 100_000 + "]" * 100_000  # JSON nested deeper than Python's parser can follow
# The same inside an outline's text, short enough for the outline's token limit (800 tokens take
# at most 12,800 characters; a longer answer is refused before it is parsed).
DEEP_OUTLINE = "[" * 5_000 + "]" * 5_000


def test_an_error_body_nested_too_deep_to_parse_keeps_a_server_error_transient(provider, server):
    server.script(Raw(500, '{"error": ' + DEEP + "}"))
    with pytest.raises(TransientError, match=r"answered HTTP 500: \{\"error\": \[\[\["):
        make_model(provider, server).critique(BRIEF, ARTICLE)


def test_a_stream_chunk_nested_too_deep_to_parse_is_a_malformed_chunk(provider, server):
    server.script(Raw(200, f"data: {DEEP}\n\n", content_type="text/event-stream"))
    with pytest.raises(TransientError, match=r"sent a malformed stream chunk \(invalid JSON\)"):
        make_model(provider, server).critique(BRIEF, ARTICLE)


def test_a_body_nested_too_deep_to_parse_is_malformed_json(provider, server):
    server.script(Raw(200, DEEP))
    with pytest.raises(PermanentError, match="sent malformed JSON"):
        make_model(provider, server).critique(BRIEF, ARTICLE)


def test_an_outline_nested_too_deep_to_parse_is_one_that_cannot_be_read(provider, server):
    server.script(Reply('{"sections": ' + DEEP_OUTLINE + "}"))
    with pytest.raises(PermanentError, match="could not be read"):
        make_model(provider, server).outline(BRIEF, RESEARCH)


def test_an_empty_answer_is_reported_with_its_tokens_and_retried(provider, server):
    server.script(Reply("", chunks=[" "], input_tokens=400, output_tokens=3))
    model, heard = listening(provider, server)
    with pytest.raises(TransientError, match="returned no text"):
        model.write(BRIEF, RESEARCH, OUTLINE)
    assert [(n.reason, n.usage) for n in heard] == [("empty", Usage(400, 3))]


def test_an_outline_that_cannot_be_read_is_reported_with_its_tokens(provider, server):
    server.script(Reply("I would rather not plan this article.", input_tokens=250, output_tokens=9))
    model, heard = listening(provider, server)
    with pytest.raises(PermanentError, match="could not be read"):
        model.outline(BRIEF, RESEARCH)
    assert [(n.reason, n.usage) for n in heard] == [("unreadable", Usage(250, 9))]


@pytest.mark.parametrize("base_url, problem", [
    ("", "has no base URL"),
    ("api.openai.com/v1", "no http:// or https:// scheme"),
    ("ftp://files.example.com/v1", "scheme 'ftp' is not http or https"),
    ("http://127.0.0.1:99999/v1", "not a valid URL"),
    ("http:///v1", "names no host"),
])
def test_an_unusable_base_url_fails_permanently_before_any_request(base_url, problem):
    with OpenAIChatServer(Reply("never sent")) as server:
        model = make_model("openai", server)
        model.entry.base_url = base_url
        with pytest.raises(PermanentError, match=problem) as caught:
            model.write(BRIEF, RESEARCH, OUTLINE)
        assert not isinstance(caught.value, TransientError)
        assert server.requests == []
    assert "admin → Tasks → Model catalog entries" in str(caught.value)


def test_a_url_without_a_protocol_is_a_permanent_transport_error():
    error = httpx.UnsupportedProtocol("Request URL is missing an 'http://' or 'https://' protocol.")
    assert type(http.transport_error(error, provider="P")) is PermanentError
    assert type(http.transport_error(httpx.ConnectError("refused"), provider="P")) is TransientError


# --- Answers too large to hold -----------------------------------------------------------------


@pytest.fixture
def one_megabyte_answers(monkeypatch):
    monkeypatch.setattr(http, "ANSWER_MAX_BYTES", 1_000_000)


def test_a_compressed_answer_that_inflates_past_the_limit_is_refused(provider, server, one_megabyte_answers):
    """A 3 MB answer sent as 3 kB of gzip: the worker stops reading at the limit."""
    bomb = gzip.compress(b" " * 3_000_000)
    server.script(Raw(200, bomb, headers={"Content-Encoding": "gzip"}))
    with pytest.raises(PermanentError, match="sent an answer larger than 1,000,000 bytes"):
        make_model(provider, server).critique(BRIEF, ARTICLE)


@pytest.mark.parametrize("content_type", ["application/json", "text/event-stream"], ids=["one-body", "streamed"])
def test_a_compressed_answer_is_inflated_no_further_than_the_limit(provider, server, one_megabyte_answers,
                                                                   content_type):
    """50 MB sent as 50 kB of gzip: the worker holds about the limit, never the whole."""
    server.script(Raw(200, gzip_bomb(b"data: ", 50_000_000), content_type=content_type,
                      headers={"Content-Encoding": "gzip"}))
    peak = peak_memory(lambda: make_model(provider, server).critique(BRIEF, ARTICLE))
    assert peak < 8_000_000, f"a 50 MB answer took {peak:,} bytes of memory"


@pytest.mark.parametrize("coding", ["gzip, gzip", "br"])
def test_an_answer_compressed_twice_over_or_in_a_coding_not_offered_is_refused_an_error_keeps_its_status(
        provider, server, coding):
    body = gzip_bomb(b'{"choices": ', 50_000_000, layers=2)
    server.script(Raw(200, body, headers={"Content-Encoding": coding}),
                  Raw(503, body, headers={"Content-Encoding": coding}))
    with pytest.raises(PermanentError, match=r"\(Test model\) sent a body (compressed 2 times over|in the 'br')"):
        make_model(provider, server).critique(BRIEF, ARTICLE)
    with pytest.raises(TransientError, match="answered HTTP 503"):  # the body only gives the message
        make_model(provider, server).critique(BRIEF, ARTICLE)


def test_a_stream_line_that_never_ends_is_refused_at_the_limit(provider, server, one_megabyte_answers):
    server.script(Raw(200, "data: " + "x" * 3_000_000, content_type="text/event-stream"))
    with pytest.raises(PermanentError, match="sent an answer larger than 1,000,000 bytes"):
        make_model(provider, server).critique(BRIEF, ARTICLE)


def test_an_error_answer_is_read_only_as_far_as_its_message_needs(provider, server, one_megabyte_answers):
    """A 500 whose body inflates to 3 MB is still a server error, retried, not a refusal."""
    body = gzip.compress(b'{"error": {"message": "Overloaded, try later"}}' + b" " * 3_000_000)
    server.script(Raw(500, body, headers={"Content-Encoding": "gzip"}))
    with pytest.raises(TransientError, match="answered HTTP 500"):
        make_model(provider, server).critique(BRIEF, ARTICLE)


STREAMS = {
    "openai": 'data: {"choices": [{"delta": {"content": "Café au lait."}, "finish_reason": "stop"}]}\n\n'
              'data: [DONE]\n\n',
    "anthropic": 'event: message_start\ndata: {"type": "message_start", "message": {"usage": {"input_tokens": 5}}}\n\n'
                 'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, '
                 '"delta": {"type": "text_delta", "text": "Café au lait."}}\n\n'
                 'event: message_delta\ndata: {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, '
                 '"usage": {"output_tokens": 4}}\n\n'
                 'event: message_stop\ndata: {"type": "message_stop"}\n\n',
}


@pytest.mark.parametrize("charset", ["bz2_codec", "base64_codec", "rot13", "idna", "utf-16", "latin-1"])
def test_a_stream_is_read_as_utf8_whatever_charset_it_declares(provider, server, charset):
    # The text is UTF-8 ("Café" as 5 bytes). Honoured, a codec that is no text encoding (or
    # cannot replace, or wants a BOM) ended the task as "Unexpected error: AssertionError: ".
    server.script(Raw(200, STREAMS[provider].encode(), content_type=f"text/event-stream; charset={charset}"))
    assert make_model(provider, server).critique(BRIEF, ARTICLE).text == "Café au lait."


def test_a_stream_of_several_choices_is_read_as_its_first_choice_alone():
    # Each chunk carries a word of two answers (index 0 and 1); joined, the article was
    # "The Buy cat cheap sat pills …", where one JSON body is read as its first choice.
    chunks = [{"choices": [{"index": 0, "delta": {"content": first}}, {"index": 1, "delta": {"content": second}}]}
              for first, second in [("The cat ", "Buy cheap "), ("sat down.", "pills now!")]]
    chunks.append({"choices": [{"index": 1, "delta": {}, "finish_reason": "stop"},
                               {"index": 0, "delta": {}, "finish_reason": "stop"}]})
    stream = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n"
    with OpenAIChatServer(Raw(200, stream, content_type="text/event-stream")) as server:
        assert make_model("openai", server).critique(BRIEF, ARTICLE).text == "The cat sat down."


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_stream_lines_end_at_cr_lf_or_crlf_even_split_between_chunks(ending):
    stream = f"data: one{ending}data: two{ending}{ending}data: three{ending}{ending}"
    chunks = [stream[index:index + 1] for index in range(len(stream))]  # a byte at a time: CR and LF apart
    response = httpx.Response(200, content=iter(chunk.encode() for chunk in chunks),
                              headers={"Content-Type": "text/event-stream"})
    assert list(http.iter_sse(response, provider="Test")) == [("message", "one\ntwo"), ("message", "three")]


def test_a_stream_that_begins_with_a_byte_order_mark_keeps_its_first_event(provider, server):
    # The SSE format strips one U+FEFF at the start of a stream. Kept, it made the first line's
    # field "\ufeffdata" and OpenAI's first event, all of the text here, was lost (Anthropic's
    # first line, "\ufeffevent", lost only a name its data repeats).
    server.script(Raw(200, b"\xef\xbb\xbf" + STREAMS[provider].encode(), content_type="text/event-stream"))
    assert make_model(provider, server).critique(BRIEF, ARTICLE).text == "Café au lait."


def test_a_byte_order_mark_split_between_chunks_is_stripped_and_none_after_the_start():
    chunks = [b"\xef", b"\xbb\xbfevent: first\ndata: one\n\n", "data: \ufefftwo\n\n\ufeffdata: three\n\n".encode()]
    response = httpx.Response(200, content=iter(chunks), headers={"Content-Type": "text/event-stream"})
    assert list(http.iter_sse(response, provider="Test")) == [("first", "one"), ("message", "\ufefftwo")]


def test_only_one_byte_order_mark_is_stripped_from_the_start_of_a_stream():
    response = httpx.Response(200, content=iter([b"\xef\xbb\xbf\xef\xbb\xbfdata: one\n\n", b"data: two\n\n"]),
                              headers={"Content-Type": "text/event-stream"})
    assert list(http.iter_sse(response, provider="Test")) == [("message", "two")]
