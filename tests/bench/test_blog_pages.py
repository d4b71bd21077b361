"""The blog benchmark's combined table: both servers side by side, and the ratio between them."""

from bench.blog_pages import parse_args, table

PAGES = ["minimal view (1 query)", "home"]


def _results(rps: list[float], errors: int = 0) -> dict:
    return {label: {"rps": value, "p50": 1.5, "p99": 9.25, "errors": errors, "socket_errors": 1}
            for label, value in zip(PAGES, rps)}


def test_gunicorn_and_daphne_share_one_table_with_their_ratio():
    runs = {("gunicorn", "on"): _results([1000, 800]), ("daphne", "on"): _results([200, 100], errors=2)}
    lines = table(runs, web_workers=4).splitlines()
    assert lines[0].startswith("| Page | Cache | Gunicorn (4 workers) req/s |")
    assert "Daphne (1 process) req/s" in lines[0] and lines[0].endswith("| Gunicorn ÷ Daphne |")
    assert lines[1].count("---") == lines[0].count("|") - 1
    assert lines[2] == ("| minimal view (1 query) | on | 1,000 | 1.00 | 1.5 | 9.2 | 1 "
                        "| 200 | 1.00 | 1.5 | 9.2 | 3 | 5.0× |")
    assert lines[3] == "| home | on | 800 | 0.80 | 1.5 | 9.2 | 1 | 100 | 0.50 | 1.5 | 9.2 | 3 | 8.0× |"


def test_one_server_alone_has_no_ratio_column():
    lines = table({("daphne", "off"): _results([50, 25])}, web_workers=2).splitlines()
    assert "Gunicorn" not in lines[0]
    assert lines[3] == "| home | off | 25 | 0.50 | 1.5 | 9.2 | 1 |"


def test_servers_default_to_both():
    assert parse_args([]).servers == "both"
    assert parse_args(["--servers", "daphne"]).servers == "daphne"
