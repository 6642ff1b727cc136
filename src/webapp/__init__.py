"""The browser app: the Python that PyScript runs in the page (in a worker, or on the page's main
thread where a worker cannot reach the page): signing in, staying signed in, the user's devices
and messages.

This package holds the app's logic, which runs in CPython too and is tested there through a fake
page: `app` (which view shows, what each button does), `messages_panel` and `inbox` (the messages
panel and what it knows), `views` with `templates/` (the HTML), `page` and `streaming` (the
interfaces to the page and to the message stream), `config` (what the page tells Python), `tasks`
(helpers for work over time) and `preload` (what a memory snapshot of the app imports).

`webapp.browser` holds the adapters that only a browser can run (they import PyScript, Pyodide or
`js`) and `webapp.browser.main`, which wires them to the app. No module here imports it (`preload`
names some of its modules, for the snapshot maker to import in the browser).
"""
