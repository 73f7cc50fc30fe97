"""Adapter names: plain handles, never paths."""

from __future__ import annotations

import pytest

from tunegate.registry import InvalidNameError, validate_name


@pytest.mark.parametrize("name", ["prod-2026.05", "a", "A_b.c-d", "7", "x" * 100])
def test_plain_names_are_valid(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("../x", "path separator"),
        ("..", "'..'"),
        ("a..b", "'..'"),
        ("a/b", "path separator"),
        ("a\\b", "path separator"),
        ("/etc/passwd", "path separator"),
        ("C:\\adapters", "path separator"),
        ("x" * 101, "longer than 100"),
        (".hidden", "must start with a letter or digit"),
        ("-rf", "must start with a letter or digit"),
        ("with space", "only letters, digits"),
        ("new\nline", "only letters, digits"),
        ("trailing\n", "only letters, digits"),
        ("nul\0", "only letters, digits"),
        ("ünï", "only letters, digits"),
    ],
)
def test_unsafe_names_are_refused_with_the_reason(name: str, reason: str) -> None:
    with pytest.raises(InvalidNameError, match=reason) as raised:
        validate_name(name)
    assert raised.value.name == name


def test_the_registry_refuses_a_traversal_name_before_touching_disk(project) -> None:
    adapter = project.adapter("a", b"weights")
    with pytest.raises(InvalidNameError):
        project.registry.register(adapter, "../../escape")
    assert not (project.report_dir / "registry").exists()
