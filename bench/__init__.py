"""Benchmarks of Pressroom, run by hand or with `make bench*`, never by the test suite.

Entry points: `engine_throughput.py`, `websocket_fanout.py`, `pipeline_throughput.py`,
`blog_pages.py`, `search_scale.py` and `quality_calibration.py`. What they share lives once:
`harness.py` (the production-mode environment, databases, processes, bounded waits) and
`report.py` (machine description, command line, the marked sections of docs/performance.md).
`settings.py`, `stages.py`, `noop.py` and the `ws_*`/`blog_*` modules are what the processes they
start import. Nothing in the apps imports this package.
"""
