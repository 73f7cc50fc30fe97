"""No import-time work: collecting the suites and importing tunegate stay light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "peft", "lm_eval", "bert_score", "sklearn")


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    return {name for name in out if name.split(".")[0] in HEAVY}


def test_import_tunegate_is_light():
    code = "import tunegate, tunegate.gates, tunegate.metrics, tunegate.data, tunegate.backends"
    code += ", tunegate.config, tunegate.session, tunegate.pytest_plugin, tunegate.cli"
    code += ", tunegate.probes"
    assert _loaded_after(code) == set()


def test_collecting_the_suites_does_not_import_torch():
    code = (
        "import pytest\n"
        "code = pytest.main(['--collect-only', '-q', '-p', 'no:cacheprovider', 'suites'])\n"
        "assert code == 0, code"
    )
    assert _loaded_after(code) == set()
