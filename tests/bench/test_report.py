"""The one way benchmarks write their figures into a docs page and describe the machine (bench/report.py)."""

from __future__ import annotations

from bench.report import command_line, machine_description, nearest_rank, write_docs_section

PAGE = "# Performance\n\nIntro.\n\n<!-- a-benchmark:start -->\nold figures\n<!-- a-benchmark:end -->\n\nMore prose.\n"


def test_write_docs_section_replaces_only_what_lies_between_its_markers(tmp_path):
    page = tmp_path / "performance.md"
    page.write_text(PAGE + "<!-- other:start -->\nother figures\n<!-- other:end -->\n")

    write_docs_section(page, "new figures\n", marker="a-benchmark", preamble="## Never used\n\n")

    assert page.read_text() == (
        "# Performance\n\nIntro.\n\n<!-- a-benchmark:start -->\nnew figures\n<!-- a-benchmark:end -->\n\nMore prose.\n"
        "<!-- other:start -->\nother figures\n<!-- other:end -->\n"
    )


def test_write_docs_section_appends_preamble_and_markers_to_a_page_without_them(tmp_path):
    page = tmp_path / "performance.md"
    page.write_text("# Performance\n\n")

    write_docs_section(page, "figures\n", marker="b-benchmark", preamble="## B\n\nWhat B measures.\n\n")
    write_docs_section(page, "newer figures\n", marker="b-benchmark", preamble="## B\n\nWhat B measures.\n\n")

    assert page.read_text() == (
        "# Performance\n\n## B\n\nWhat B measures.\n\n<!-- b-benchmark:start -->\nnewer figures\n<!-- b-benchmark:end -->\n"
    )


def test_write_docs_section_creates_a_missing_page(tmp_path):
    page = tmp_path / "performance.md"

    write_docs_section(page, "figures\n", marker="c")

    assert page.read_text() == "<!-- c:start -->\nfigures\n<!-- c:end -->\n"


def test_machine_description_names_brokers_only_when_given():
    serving = machine_description(postgres="17.2", redis="7.2.4", brokers=["orm", "redis"])
    search = machine_description(postgres="17.2", packages={"Django": "Django"}, where="on 127.0.0.1:5432")

    assert serving[0].startswith("CPU: ") and serving[1].startswith("OS: ")
    assert "django-q2" in serving[2] and "Daphne" in serving[2]
    assert serving[3:] == ["PostgreSQL 17.2, Redis 7.2.4 (on the same machine)", "Broker(s): orm, redis"]
    assert "django-q2" not in search[2] and "Django" in search[2]
    assert search[3:] == ["PostgreSQL 17.2 on 127.0.0.1:5432"]


def test_command_line_names_the_make_target_only_under_make(monkeypatch):
    monkeypatch.delenv("MAKELEVEL", raising=False)
    assert command_line("x.py", ["--tasks", "20"], make_target="bench") == "python bench/x.py --tasks 20"

    monkeypatch.setenv("MAKELEVEL", "1")
    assert command_line("x.py", [], make_target="bench") == "make bench  # runs: python bench/x.py"
    assert command_line("x.py", []) == "python bench/x.py"


def test_nearest_rank_takes_the_value_at_the_rounded_rank():
    values = [5.0, 1.0, 4.0, 2.0, 3.0]

    assert [nearest_rank(values, p) for p in (0, 50, 95, 100)] == [1.0, 3.0, 5.0, 5.0]
