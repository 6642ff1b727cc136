"""The suite's rule for tools from outside Python: skip where missing, but never silently in CI."""

from __future__ import annotations

import pytest

from tests.support.tools import require_tool

INSTALL = "apt-get install some-browser"


def test_a_tool_that_is_there_is_handed_to_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert (
        require_tool("Some browser", "/usr/bin/some-browser", install=INSTALL)
        == "/usr/bin/some-browser"
    )


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_a_missing_tool_skips_on_a_developer_machine_and_says_how_to_install_it(
    ci: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(
        pytest.skip.Exception, match=r"Some browser is not installed here \(apt-get install"
    ):
        require_tool("Some browser", None, install=INSTALL)


@pytest.mark.parametrize("ci", ["true", "True", "1", "yes"])
def test_a_missing_tool_fails_in_ci(ci: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(
        pytest.fail.Exception, match=f"Some browser is not installed here.*in CI \\(CI={ci}\\)"
    ):
        require_tool("Some browser", None, install=INSTALL)
