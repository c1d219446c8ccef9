"""What a user gets from PyPI, and the API reference that documents it.

The wheel is built in-process with hatchling's PEP 517 hook (no network, no build isolation), so
these tests check the metadata a user's installer will read, not the pyproject text. The
reference pages list the members they render, so a name added to a package's ``__all__`` without
its page (or removed from the package but left on the page) fails here, not on the docs site.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import zipfile
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import lambdakit

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
REPOSITORY = "https://github.com/lambdakit/lambdakit"
DOCUMENTATION = "https://lambdakit.github.io/lambdakit/"
USER_EXTRAS = {"yaml", "kafka", "kafka-python", "msk", "cost", "avro", "protobuf", "jsonschema"}
# Modules of the package that are not API: the `lambdakit` command is documented by its --help.
NOT_API = {"cli"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    """The wheel `pip install lambdakit` would install, built from this checkout."""
    from hatchling.build import build_wheel

    out = tmp_path_factory.mktemp("wheel")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)  # PEP 517 hooks build the project in the working directory
        name = build_wheel(str(out))
    with zipfile.ZipFile(out / name) as built:
        yield built


def _dist_info(wheel: zipfile.ZipFile, name: str) -> str:
    (path,) = (n for n in wheel.namelist() if re.fullmatch(rf"[^/]+\.dist-info/{name}", n))
    return wheel.read(path).decode("utf-8")


@pytest.fixture(scope="module")
def metadata(wheel: zipfile.ZipFile) -> Message:
    return HeaderParser().parsestr(_dist_info(wheel, "METADATA"))


def test_the_wheel_carries_the_apache_license_text(wheel: zipfile.ZipFile) -> None:
    shipped = _dist_info(wheel, "licenses/LICENSE")
    assert shipped == (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in shipped
    assert "Version 2.0, January 2004" in shipped
    assert "END OF TERMS AND CONDITIONS" in shipped


def test_the_license_is_an_spdx_expression_without_legacy_classifiers(metadata: Message) -> None:
    assert tuple(map(int, metadata["Metadata-Version"].split("."))) >= (2, 4)
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    # PEP 639: License-Expression replaces the License field and the deprecated "License ::"
    # classifiers, which tools may refuse beside it.
    assert metadata["License"] is None
    assert not [c for c in metadata.get_all("Classifier", []) if c.startswith("License ::")]


def test_the_project_urls_point_at_the_repository_and_the_docs_site(metadata: Message) -> None:
    urls = dict(entry.split(", ", 1) for entry in metadata.get_all("Project-URL", []))
    assert urls == {
        "Homepage": REPOSITORY,
        "Documentation": DOCUMENTATION,
        "Repository": REPOSITORY,
        "Issues": f"{REPOSITORY}/issues",
        "Changelog": f"{REPOSITORY}/blob/main/CHANGELOG.md",
    }


def test_the_docs_site_declares_the_urls_the_metadata_publishes() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert re.search(rf"^site_url: {re.escape(DOCUMENTATION)}$", config, re.M)
    assert re.search(rf"^repo_url: {re.escape(REPOSITORY)}$", config, re.M)


def test_only_user_extras_are_published_not_the_development_tools(metadata: Message) -> None:
    assert set(metadata.get_all("Provides-Extra", [])) == USER_EXTRAS
    for requirement in metadata.get_all("Requires-Dist", []):
        assert "pytest" not in requirement
        assert "mkdocs" not in requirement


def test_python_version_classifiers_start_at_requires_python(metadata: Message) -> None:
    minimum = re.fullmatch(r">=3\.(\d+)", metadata["Requires-Python"])
    assert minimum is not None
    minors = sorted(
        int(c.rsplit(".", 1)[1])
        for c in metadata.get_all("Classifier", [])
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    )
    assert minors[0] == int(minimum.group(1))
    assert minors == list(range(minors[0], minors[-1] + 1))  # no gaps


def test_the_wheel_says_it_is_typed(wheel: zipfile.ZipFile, metadata: Message) -> None:
    assert "lambdakit/py.typed" in wheel.namelist()
    assert "Typing :: Typed" in metadata.get_all("Classifier", [])


def _public_modules() -> list[str]:
    return sorted(
        module.name
        for module in pkgutil.iter_modules(lambdakit.__path__)
        if not module.name.startswith("_") and module.name not in NOT_API
    )


def _rendered_members(page: str, module: str) -> list[str]:
    """The names listed under ``members:`` of the page's ``::: lambdakit.<module>`` block."""
    block = re.search(
        rf"^::: lambdakit\.{module}\n(?:    .*\n)*?      members:\n((?:        - \S+\n)+)",
        page,
        re.M,
    )
    assert block is not None, f"no `::: lambdakit.{module}` block with a members list"
    return re.findall(r"- (\S+)", block.group(1))


def test_every_public_package_has_a_reference_page_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = sorted(path.stem for path in (DOCS / "reference").glob("*.md") if path.stem != "index")
    assert pages == _public_modules()
    for page in [*pages, "index"]:
        assert f"reference/{page}.md" in nav


@pytest.mark.parametrize("module", _public_modules())
def test_the_reference_page_renders_exactly_what_the_package_exports(module: str) -> None:
    exported = importlib.import_module(f"lambdakit.{module}").__all__
    page = (DOCS / "reference" / f"{module}.md").read_text(encoding="utf-8")
    rendered = _rendered_members(page, module)
    assert sorted(rendered) == sorted(exported)
    assert len(rendered) == len(set(rendered))


def test_the_reference_index_names_what_the_top_level_package_exports() -> None:
    index = (DOCS / "reference" / "index.md").read_text(encoding="utf-8")
    for name in lambdakit.__all__:
        assert f"`{name}`" in index or f"`lambdakit.{name}`" in index, name


def test_the_changelog_page_includes_the_changelog_rather_than_a_copy() -> None:
    page = (DOCS / "changelog.md").read_text(encoding="utf-8")
    assert page.strip() == '--8<-- "CHANGELOG.md"'
    assert "changelog.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


def test_the_makefile_installs_development_tools_from_the_dependency_group() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--group dev" in makefile
    assert "[dev]" not in makefile


def test_the_makefile_installs_every_published_extra_for_the_tests(metadata: Message) -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    extras = re.search(r"^EXTRAS := (\S+)$", makefile, re.M)
    assert extras is not None
    assert set(extras.group(1).split(",")) == set(metadata.get_all("Provides-Extra", []))
    assert "-e '.[$(EXTRAS)]' --group dev" in makefile
