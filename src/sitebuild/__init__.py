"""The build and the dev server: the repository made into a static site (`dist/`), served with the
auth service on one origin; and build.py's commands (`build`, `serve`, `test`, `lock`).

The tests' and benchmarks' harness (browser drivers, a throw-away PostgreSQL, servers as
subprocesses) is a package of its own, `harness`, which imports this one, never the reverse.
"""
