"""The Python standard library the page ships: Pyodide's `python_stdlib.zip`, less the modules a page
cannot use, with its entries stored uncompressed.

Stored: the file is compressed as a whole on the wire (the build's brotli and gzip copies), which
packs the sources far tighter than the zip's own compression, file by file, did (2.5 MB became
1.6 MB), and zipimport then reads them without inflating.

Left out, about 1.9 MB of sources and 0.35 MB on the wire: developer tools (the REPL, debuggers,
profilers, test runners, the documentation browser) and what needs processes, a terminal or network
protocols other than HTTP, none of which a page has. Nothing this app imports needs them (the
browser tests run it whole). A lazy import of one of them elsewhere in the library fails when it
runs, and only then: `help()` (pydoc), `logging.handlers.SMTPHandler` (smtplib), `urllib.request`
on ftp:// URLs (ftplib), `concurrent.futures.ProcessPoolExecutor` (multiprocessing).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

__all__ = ["LEFT_OUT", "page_stdlib"]

# Top-level modules and packages, by name.
LEFT_OUT = frozenset(
    {
        # Developer tools.
        "__hello__",
        "__phello__",
        "_pyrepl",
        "antigravity",
        "bdb",
        "cmd",
        "cProfile",
        "doctest",
        "modulefinder",
        "pdb",
        "pickletools",
        "profile",
        "pstats",
        "pyclbr",
        "pydoc",
        "tabnanny",
        "this",
        "timeit",
        "trace",
        "unittest",
        "zipapp",
        # Processes, terminals, a browser to open, mail, FTP, XML-RPC, WSGI servers, databases.
        "ftplib",
        "imaplib",
        "mailbox",
        "multiprocessing",
        "netrc",
        "poplib",
        "pty",
        "shelve",
        "smtplib",
        "sqlite3",
        "tty",
        "wave",
        "webbrowser",
        "wsgiref",
        "xmlrpc",
    }
)
# A fixed timestamp makes the archive, and so its content hash, depend on the sources alone.
EPOCH = (1980, 1, 1, 0, 0, 0)


def page_stdlib(original: Path) -> bytes:
    """The page's copy of `original` (Pyodide's python_stdlib.zip)."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(original) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as copy,
    ):
        for info in source.infolist():
            if _top_level(info.filename) not in LEFT_OUT:
                copy.writestr(zipfile.ZipInfo(info.filename, EPOCH), source.read(info))
    return buffer.getvalue()


def _top_level(name: str) -> str:
    """
    >>> _top_level("unittest/mock.py"), _top_level("pdb.py"), _top_level("json/")
    ('unittest', 'pdb', 'json')
    """
    return name.split("/", 1)[0].removesuffix(".py")
