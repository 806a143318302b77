"""An adoptable package: a licence, one version number, Serverless Application Repository metadata."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from local import template as tpl

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CHANGELOG = (ROOT / "CHANGELOG.md").read_text()
SAR: dict[str, Any] = tpl.load()["Metadata"]["AWS::ServerlessRepo::Application"]

# "## [0.1.0] - 2026-11-27" (Keep a Changelog); "## [Unreleased]" comes first.
RELEASE = re.compile(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d\d-\d\d)$", re.MULTILINE)
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


def releases() -> list[tuple[str, str]]:
    return RELEASE.findall(CHANGELOG)


def test_given_the_changelog_when_read_then_unreleased_comes_first_and_releases_go_newest_first():
    headings = re.findall(r"^## .*$", CHANGELOG, re.MULTILINE)
    found = releases()

    assert headings[0] == "## [Unreleased]"
    assert headings[1:] == [f"## [{version}] - {day}" for version, day in found], "a heading out of format"
    assert found, "no release yet"
    versions = [tuple(int(n) for n in version.split(".")) for version, _ in found]
    assert versions == sorted(versions, reverse=True)
    assert [day for _, day in found] == sorted((day for _, day in found), reverse=True)


def test_given_the_version_when_read_in_its_three_places_then_they_agree():
    latest = releases()[0][0]

    assert SEMVER.match(PYPROJECT["project"]["version"])
    assert PYPROJECT["project"]["version"] == SAR["SemanticVersion"] == latest


def test_given_the_licence_when_read_then_it_is_the_mit_licence_the_metadata_names():
    licence = (ROOT / "LICENSE").read_text()

    assert licence.startswith("MIT License\n\nCopyright (c) ")
    assert "the gift plans authors" in licence.splitlines()[2]
    assert "Permission is hereby granted, free of charge" in licence
    assert PYPROJECT["project"]["license"] == {"text": "MIT"}
    assert SAR["SpdxLicenseId"] == "MIT"


def test_given_the_sar_metadata_when_published_then_every_field_is_there_and_valid():
    # The Serverless Application Repository's own constraints on each field.
    assert set(SAR) == {
        "Name",
        "Description",
        "Author",
        "SpdxLicenseId",
        "LicenseUrl",
        "ReadmeUrl",
        "Labels",
        "HomePageUrl",
        "SemanticVersion",
        "SourceCodeUrl",
    }
    assert re.fullmatch(r"[a-zA-Z0-9\-]{1,140}", SAR["Name"])
    assert 1 <= len(SAR["Description"]) <= 256
    assert re.fullmatch(r"[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?", SAR["Author"])
    assert len(SAR["Author"]) <= 127
    assert 1 <= len(SAR["Labels"]) <= 10
    assert all(re.fullmatch(r"[a-zA-Z0-9+\-_:/@]{1,127}", label) for label in SAR["Labels"])
    assert all(isinstance(v, str) for k, v in SAR.items() if k != "Labels"), "no intrinsic function here"
    for url in ("HomePageUrl", "SourceCodeUrl"):
        assert re.fullmatch(r"https://\S+", SAR[url]), url


def test_given_the_sar_metadata_when_packaged_then_its_licence_and_readme_are_files_here():
    # `sam package` uploads the files these name and writes their S3 addresses in their place.
    assert SAR["LicenseUrl"] == "LICENSE"
    assert SAR["ReadmeUrl"] == "README.md"
    for name in (SAR["LicenseUrl"], SAR["ReadmeUrl"]):
        assert (ROOT / name).is_file()
        assert (ROOT / name).stat().st_size < 5 * 1024 * 1024  # the repository's limit per file


# ---- contributors' tools ----------------------------------------------------------------------------------


def test_given_the_pre_commit_hooks_when_compared_with_pyproject_then_they_run_the_pinned_ruff():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    (ruff,) = [r for r in config["repos"] if r["repo"] == "https://github.com/astral-sh/ruff-pre-commit"]
    pins = [d for d in PYPROJECT["dependency-groups"]["dev"] if re.match(r"ruff==", d)]

    assert pins == [f"ruff=={ruff['rev'].removeprefix('v')}"]
    assert [hook["id"] for hook in ruff["hooks"]] == ["ruff-check", "ruff-format"]
    assert all("args" not in hook for hook in ruff["hooks"]), "pyproject.toml's [tool.ruff] is the one config"


def test_given_the_ci_workflow_when_read_then_it_runs_ci_run_on_a_fresh_checkout_with_apt_chromium():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    runs = [step.get("run", "") for step in steps]
    text = (ROOT / ".github" / "workflows" / "ci.yml").read_text()

    assert {"push", "pull_request"} <= set(triggers)
    assert workflow["permissions"] == {"contents": "read"}
    assert steps[0]["uses"].startswith("actions/checkout@")
    assert re.fullmatch(r"actions/checkout@[0-9a-f]{40}", steps[0]["uses"]), "pinned to a commit"
    # Python 3.13 is the container's own; chromium is Debian's, from apt, at /usr/bin/chromium.
    assert re.fullmatch(r"python:3\.13-(bookworm|trixie)", job["container"])
    assert any("apt-get install" in run and "chromium" in run for run in runs)
    assert "playwright install" not in text
    assert runs[-1].split()[:2] == ["bash", ".ci/run"]
    assert steps[-1]["env"]["CI"] == "true"


def test_given_contributing_when_read_then_it_starts_with_the_two_commands_and_names_every_check():
    text = (ROOT / "CONTRIBUTING.md").read_text()
    first_block = text.split("```bash\n", 1)[1].split("```", 1)[0]

    assert [line.split("#")[0].strip() for line in first_block.strip().splitlines()] == [
        "make dev",
        "make test",
    ]
    for check in ("make lint", "make e2e", "make bench", "bash .ci/run", "CHANGELOG.md", "docs/design.md"):
        assert check in text, check


def test_given_the_front_page_docs_when_their_links_are_followed_then_every_file_exists():
    for doc in ("README.md", "CONTRIBUTING.md", "CHANGELOG.md"):
        for target in re.findall(r"\]\(([^)#:]+)\)", (ROOT / doc).read_text()):
            assert (ROOT / target).exists(), f"{doc} links to {target}, which is not there"
    readme = (ROOT / "README.md").read_text()
    for name in ("LICENSE", "CHANGELOG.md", "CONTRIBUTING.md"):
        assert f"]({name})" in readme, f"README does not point to {name}"
