"""The app's adapters to the browser: every module of the app that imports PyScript, Pyodide or
`js`, which only the browser has (pytest's doctest run skips this folder).

`main` (started by static/main.py) picks and wires them: the page (`dom_page`), the HTTP transport
(`pyodide_http_transport` in a worker or without JSPI, `fetch_transport` on the main thread), the
message stream (`fetch_stream`), the device key (`device_key`) and the start-up timeline's marks
(`timeline`). `js_errors` turns the browser's errors into the client's, for every adapter.

Importing this package imports none of them: the memory snapshot is made in a worker without
PyScript, and imports only those that do not need the page (`webapp.preload`).
"""
