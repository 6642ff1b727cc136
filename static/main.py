# The page's Python entry point, run by PyScript (in a worker, or on the page's main thread where a
# worker cannot reach the page); the app itself is in src/webapp, wired to the page by
# src/webapp/browser/main.py.
#
# If the app cannot start, the page must not go on saying "Starting Python…": the error's name goes
# to <html data-python-error>, and static/boot.mjs puts a sentence in the page. The traceback still
# goes to the console.
try:
    from webapp.browser.timeline import mark

    mark("main.py")
    from webapp.browser.main import main

    app = main()
except BaseException as error:
    from pyscript import document

    root = document.documentElement
    if root.dataset.python != "ready":
        root.dataset.pythonError = type(error).__name__
        root.dataset.python = "failed"
    raise
