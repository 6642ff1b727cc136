import json
import urllib.request

import pyodide_http
from pyscript import document, window

from webapp import views


def main() -> None:
    pyodide_http.patch_all()
    url = window.location.origin + "/build.json"
    with urllib.request.urlopen(url, timeout=5) as response:
        data = json.loads(response.read())
    document.getElementById("app").innerHTML = views.render_login(views.Notice(f"key {data['applicationKey']}"))
    document.documentElement.dataset.python = "ready"
