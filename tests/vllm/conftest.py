"""One real vLLM server for the session: the tiny base plus one LoRA adapter.

Starting vLLM costs ~35 s and ~3 GB, so every test here shares one server; the last
test of test_vllm_server.py stops it to check nothing is left behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tunegate.backends.vllm_server import VLLMServer, vllm_available

BASE_NAME = "tiny-base"
LORA_NAME = "billing"


@pytest.fixture(scope="session")
def vllm_server(
    tmp_path_factory: pytest.TempPathFactory, tiny_base: Path, billing_adapter: Path
) -> Iterator[VLLMServer]:
    """vLLM serving the tiny base as ``tiny-base`` and the billing adapter as ``billing``."""
    missing = vllm_available()
    if missing is not None:
        pytest.skip(missing)
    server = VLLMServer(tiny_base, tmp_path_factory.mktemp("vllm-log"), served_name=BASE_NAME,
                        adapters={LORA_NAME: billing_adapter}, max_model_len=256)
    with server:
        yield server
