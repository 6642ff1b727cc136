"""The test and benchmark harness: what `tests/` and `benchmarks/` drive the app with, and nothing
the app or its build runs.

- `processes`: the auth service and the dev server (`python -m sitebuild serve`) as subprocesses on
  free ports, started, waited for, restarted and stopped.
- `postgres`: a throw-away PostgreSQL cluster in a temporary folder, reached over a Unix socket.
- `browser_pages`: Playwright helpers for the built page (Chromium).
- `firefox` (with its Node bridge, `firefox_bridge.mjs`) and `webkit`: Firefox ESR and WebKitGTK.
- `python_start` and `page_records`: what every engine's driver reads from the page in one shape.

The harness imports the build (`sitebuild`), never the reverse; where both need a thing it lives in
`sitebuild` (finding a Chromium: `sitebuild.chromium`, which `python3 build.py test` runs first).
The service's wheel leaves this package out (pyproject.toml).
"""
