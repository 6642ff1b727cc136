"""What axe-core (npm, a pinned dev dependency) finds on a page against WCAG 2.2 A and AA.

axe is put into the page by the tests only, through the browser's own evaluation (not a script
element, which the page's Content-Security-Policy would refuse, as it should).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from playwright.sync_api import Page

from sitebuild.paths import NODE_MODULES

__all__ = ["WCAG_22_AA", "Violation", "axe_violations"]

AXE = NODE_MODULES / "axe-core" / "axe.min.js"
# Every success criterion of WCAG 2.0, 2.1 and 2.2 at levels A and AA (axe tags each rule with the
# version and level that brought it in; 2.2 added AA rules only, such as target-size).
WCAG_22_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")

RUN = """async (tags) => {
  const { violations } = await axe.run(document, {
    runOnly: { type: "tag", values: tags },
    resultTypes: ["violations"],
  });
  return violations.map((rule) => ({
    rule: rule.id,
    help: rule.help,
    nodes: rule.nodes.map((node) => `${node.target.join(" ")}: ${node.failureSummary}`),
  }));
}"""


@dataclass(frozen=True)
class Violation:
    rule: str
    help: str
    nodes: list[str]

    def __str__(self) -> str:
        return f"{self.rule} ({self.help}): " + "; ".join(self.nodes)


@cache
def _source() -> str:
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `python3 build.py build` (it runs npm ci)")
    return AXE.read_text()


def axe_violations(page: Page) -> list[Violation]:
    """The WCAG 2.2 A/AA violations axe finds in what the page shows now."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_source())
    found = page.evaluate(RUN, list(WCAG_22_AA))
    return [Violation(item["rule"], item["help"], item["nodes"]) for item in found]
