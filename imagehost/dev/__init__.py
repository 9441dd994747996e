"""Local-run tooling: `make run`'s stack and its nginx config, for the tests and benchmarks too.

The app never imports from here.
"""
