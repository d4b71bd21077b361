"""Benchmarks of Pressroom, run by hand or with `make bench*`; the suite runs only
`load_under_pipeline.py`, at a tiny size (tests/bench), to see that its parts fit together.

Entry points: `engine_throughput.py`, `websocket_fanout.py`, `pipeline_throughput.py`,
`blog_pages.py`, `load_under_pipeline.py` (with `load_report.py` and `fake_model.py`),
`search_scale.py` and `quality_calibration.py`. What they share lives once:
`harness.py` (the production-mode environment, databases, processes, bounded waits) and
`report.py` (machine description, command line, the marked sections of docs/performance.md).
`settings.py`, `stages.py`, `noop.py` and the `ws_*`/`blog_*` modules are what the processes they
start import. Nothing in the apps imports this package.
"""
