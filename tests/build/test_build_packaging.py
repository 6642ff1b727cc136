"""The repository as a package: locked dependencies, no path tricks, a client wheel of its own, a
build that needs no database."""

from __future__ import annotations

import ast
import email
import re
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

from harness.processes import AuthServiceProcess
from sitebuild.cli import DEVELOPMENT_APPLICATION_KEY
from sitebuild.paths import ROOT
from sitebuild.site import WHEELS_DIR, read_page_config
from tests.support.isolation import run_without

LOCKS = {"service": ROOT / "requirements" / "service.txt", "dev": ROOT / "requirements" / "dev.txt"}
# A pinned package, with its environment marker if it has one (uvloop: not on Windows).
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==\S+(?: ;[^\\\n]*)? \\$", re.MULTILINE)


def declared(*extras: str) -> set[str]:
    """Distribution names pyproject.toml asks for: the core dependencies and these extras."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in extras:
        wanted += project["optional-dependencies"][extra]
    return {_normalise(re.match(r"[A-Za-z0-9_.-]+", line)[0]) for line in wanted}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_package_is_pinned_with_hashes_and_no_host_or_path_is_named(lock: str) -> None:
    text = LOCKS[lock].read_text()
    entries = re.split(r"\n(?=[A-Za-z])", text.split("\n", 1)[1])
    pins = [entry for entry in entries if PIN.match(entry)]

    assert pins
    assert all("--hash=sha256:" in entry for entry in pins)
    assert "://" not in text
    assert not re.search(r"(?m)^\s*-(-index-url|-extra-index-url|-find-links|i|f) ", text)
    assert "/work/" not in text and "/opt/" not in text


@pytest.mark.parametrize(
    ("lock", "extras"), [("service", ("postgres",)), ("dev", ("dev", "web", "postgres"))]
)
def test_every_declared_dependency_is_in_its_lock(lock: str, extras: tuple[str, ...]) -> None:
    locked = {_normalise(name) for name in PIN.findall(LOCKS[lock].read_text())}

    assert declared(*extras) <= locked


def test_the_service_lock_holds_nothing_the_service_does_not_need() -> None:
    service = {_normalise(name) for name in PIN.findall(LOCKS["service"].read_text())}

    assert not {"pytest", "playwright", "jinja2", "pyodide-http", "ruff", "mypy"} & service


def test_nothing_reaches_the_sources_by_path_tricks_or_imports_the_tests() -> None:
    files = [*ROOT.glob("src/**/*.py"), *ROOT.glob("benchmarks/*.py"), ROOT / "build.py"]
    for path in files:
        text = path.read_text()
        assert not re.search(r"^\s*(from|import) tests\b", text, re.MULTILINE), path
        assert "sys.path" not in text and "PYTHONPATH" not in text, path
    assert "pythonpath" not in (ROOT / "pyproject.toml").read_text()


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_the_client_library_imports_nothing_from_the_browser() -> None:
    browser = {"js", "pyscript", "pyodide", "pyodide_http"}
    for path in (ROOT / "src" / "authclient").glob("*.py"):
        assert not {name.split(".")[0] for name in imported_modules(path)} & browser, path


def test_the_build_imports_nothing_from_the_harness() -> None:
    """The harness drives the build (`python -m sitebuild serve`), never the reverse: the build and
    the dev server run where the harness is not installed."""
    for path in (ROOT / "src" / "sitebuild").rglob("*.py"):
        assert "harness" not in {name.split(".")[0] for name in imported_modules(path)}, path


def test_the_project_wheel_ships_the_app_the_service_and_the_build_but_not_the_harness(
    tmp_path: Path,
) -> None:
    """What `pip install .` (docs/deploy.md) puts into a service's venv."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    subprocess.run([*command, "--quiet", "--wheel-dir", str(tmp_path), str(ROOT)], check=True)
    (wheel,) = tmp_path.glob("session_resume-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        top_level = {name.split("/")[0] for name in archive.namelist()}

    assert {name for name in top_level if not name.endswith(".dist-info")} == {
        "authclient",
        "authservice",
        "sitebuild",
        "webapp",
    }


@pytest.fixture(scope="module")
def client_wheel(site: Path) -> Path:
    (wheel,) = (site / WHEELS_DIR).glob("authclient-*.whl")
    return wheel


def test_the_client_wheel_is_pure_python_typed_and_depends_on_nothing_but_extras(
    client_wheel: Path,
) -> None:
    assert client_wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(client_wheel) as wheel:
        names = wheel.namelist()
        (metadata_name,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        metadata = email.message_from_bytes(wheel.read(metadata_name))
    assert "authclient/py.typed" in names
    assert "authclient/browser.py" in names
    assert {name.split("/")[0] for name in names} == {"authclient", metadata_name.split("/")[0]}
    # Only the optional device key (authclient.ec_signer) and the access-token verifier
    # (authclient.verifier, for an application's backend) need a package.
    assert sorted(metadata.get_all("Requires-Dist")) == [
        "cryptography>=50.0; extra == 'device-key'",
        "cryptography>=50.0; extra == 'verifier'",
    ]
    assert metadata["Name"] == "authclient"


def test_the_client_wheel_installs_into_a_clean_venv_and_signs_in_and_resumes(
    client_wheel: Path, tmp_path: Path
) -> None:
    clean = tmp_path / "venv"
    venv.create(clean, with_pip=False)
    python = clean / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    subprocess.run([*install, "--no-index", str(client_wheel)], check=True)
    script = """
import sys
from authclient import MemoryStorage, SessionClient
storage = MemoryStorage()
client = SessionClient(sys.argv[1], sys.argv[2], storage=storage)
credentials = {"username": "wheel-user", "password": "correct horse battery"}
client.new_user(credentials)
client.start(credentials)
again = SessionClient(sys.argv[1], sys.argv[2], storage=storage)
print(again.resume_stored().outcome)
"""
    with AuthServiceProcess(tmp_path / "auth") as service:
        key = service.ensure_application("wheel").key
        done = subprocess.run(
            [str(python), "-I", "-c", script, key, service.url + "/v1"],
            capture_output=True,
            text=True,
        )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "resumed"


def test_the_build_needs_no_database_and_signs_in_to_the_development_application(
    tmp_path: Path,
) -> None:
    code = "from sitebuild.cli import main\nsys.exit(main(['build', '--dist', sys.argv[1]]))\n"
    done = run_without(("sqlalchemy", "fastapi", "authservice"), code, str(tmp_path / "dist"))

    assert done.returncode == 0, done.stderr
    assert read_page_config(tmp_path / "dist").application_key == DEVELOPMENT_APPLICATION_KEY
