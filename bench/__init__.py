"""Benchmarks of Pressroom, run by hand or with `make bench`, never by the test suite.

`engine_throughput.py` is the entry point; `settings.py`, `stages.py` and `noop.py` are what the
processes it starts (web server, task cluster, enqueuer) import. Nothing in the apps imports this
package.
"""
