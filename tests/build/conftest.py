from __future__ import annotations

from pathlib import Path

import pytest

from sitebuild.site import build
from webapp.config import PageConfig


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh build, apart from dist/."""
    return build(tmp_path_factory.mktemp("dist"), PageConfig(application_key="app_build_test"))
