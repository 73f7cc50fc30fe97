"""Fixtures of the judge tests: a real OpenAI-shaped server on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def load_httpserver() -> ModuleType:
    """tests/httpserver.py, loaded by path: the tests are not an importable package."""
    name = "tunegate_tests_httpserver"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).resolve().parents[1] / "httpserver.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def replies() -> ModuleType:
    """The server's reply builders: ``Reply``, ``chat_reply``, ``echo_reply``, ..."""
    return load_httpserver()


@pytest.fixture
def openai_server() -> Iterator[Any]:
    """A started server, stopped (and its socket closed) after the test."""
    server = load_httpserver().OpenAIServer().start()
    yield server
    server.stop()
