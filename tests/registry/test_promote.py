"""Promotion to production: only on the latest run of exactly this content, or forced."""

from __future__ import annotations

import json

import pytest

from tunegate.registry import PromotionRefused, RegistryError, promote


def promote_to_production(project, name: str, **kwargs):
    return promote(project.registry, name, "production", report_dir=project.report_dir,
                   suites_dir=project.suites, **kwargs)


@pytest.fixture
def router(project):
    """A registered candidate named 'router' and its source folder."""
    source = project.adapter("router", b"router-weights")
    project.registry.register(source, "router")
    return source


def refusal(project, name: str = "router") -> str:
    with pytest.raises(PromotionRefused) as refused:
        promote_to_production(project, name)
    assert project.registry.get(name).stage == "candidate"  # nothing was written
    return str(refused.value)


def test_no_run_of_this_content_refuses(project, router) -> None:
    other = project.adapter("other", b"other-weights")
    project.run(other, "run-of-other")  # a passing run, but of other content
    assert "no run of this adapter content" in refusal(project)


def test_a_failed_run_refuses_naming_the_run_and_gates(project, router) -> None:
    project.run(router, "run-1", failed_gates=["golden_regression_tickets", "class_f1_floor"])
    message = refusal(project)
    assert "latest run run-1 failed: gates failed: golden_regression_tickets, class_f1_floor" \
        in message
    assert "macro_f1" not in message  # gates that passed are not blamed


def test_a_failed_run_without_failed_gates_still_refuses(project, router) -> None:
    project.run(router, "run-1", passed=False)
    assert "latest run run-1 failed (pytest exit status 1" in refusal(project)


def test_an_older_pass_does_not_outweigh_a_later_failure(project, router) -> None:
    project.run(router, "run-new", finished="2026-05-02T08:00:00Z", failed_gates=["macro_f1"])
    project.run(router, "run-old", finished="2026-05-01T08:00:00Z")
    assert "latest run run-new failed" in refusal(project)
    project.run(router, "run-newest", finished="2026-05-02T08:00:00.5+00:00")
    assert promote_to_production(project, "router").check.run_id == "run-newest"


def test_on_a_tie_the_failed_run_counts(project, router) -> None:
    project.run(router, "run-a", finished="2026-05-02T08:00:00Z")
    project.run(router, "run-b", finished="2026-05-02T08:00:00Z", failed_gates=["macro_f1"])
    assert "latest run run-b failed" in refusal(project)


def test_a_changed_suite_refuses(project, router) -> None:
    project.run(router, "run-1")
    (project.suites / "test_more.py").write_text("def test_more():\n    assert True\n")
    assert "suite changed since run run-1" in refusal(project)


def test_an_incomplete_run_refuses(project, router) -> None:
    project.run(router, "run-1", complete=False)
    assert "latest run run-1 was an incomplete run" in refusal(project)


def test_a_passing_complete_run_on_this_suite_promotes(project, router) -> None:
    project.run(router, "run-1")
    done = promote_to_production(project, "router")
    assert done.check is not None and done.check.cleared and not done.forced
    [event] = done.events
    assert (event.from_stage, event.to_stage, event.run_id, event.forced) == (
        "candidate", "production", "run-1", False)
    assert project.registry.production().name == "router"  # type: ignore[union-attr]


def test_a_record_with_schema_problems_is_reported_not_skipped(project, router) -> None:
    project.run(router, "run-1")
    runs = project.report_dir / "runs"
    (runs / "broken.json").write_text("{truncated")
    assert "broken.json: line 1: not JSON" in refusal(project)
    (runs / "broken.json").write_text(json.dumps({"run_id": "x", "references": [
        {"role": "candidate", "adapter_sha256": "0" * 64}]}))  # plainly another adapter
    done = promote_to_production(project, "router")
    assert done.check is not None
    assert any("broken.json: started: Field required" in w for w in done.check.warnings)


def test_a_record_of_a_newer_schema_version_is_reported(project, router) -> None:
    path = project.run(router, "run-1")
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "schema_version": 99}))
    assert "schema_version 99 is newer than this tunegate reads" in refusal(project)


def test_force_needs_a_reason_and_is_recorded(project, router) -> None:
    project.run(router, "run-1", failed_gates=["macro_f1"])
    with pytest.raises(RegistryError, match="forced promotion needs a reason"):
        promote_to_production(project, "router", force=True, reason="  ")
    done = promote_to_production(project, "router", force=True, reason="hotfix for outage 12")
    [event] = done.events
    assert event.forced and event.reason == "hotfix for outage 12" and event.run_id == "run-1"
    assert "overrode: latest run run-1 failed: gates failed: macro_f1" in event.detail
    assert project.registry.events("router")[-1] == event


def test_force_on_a_cleared_adapter_is_not_an_override(project, router) -> None:
    project.run(router, "run-1")
    [event] = promote_to_production(project, "router", force=True, reason="release 4").events
    assert not event.forced and event.reason == "release 4"


def test_shadow_needs_no_gate_verdict(project, router) -> None:
    [event] = promote(project.registry, "router", "shadow", report_dir=project.report_dir,
                      suites_dir=project.suites).events
    assert (event.from_stage, event.to_stage) == ("candidate", "shadow")


def test_a_missing_suite_folder_is_named(project, router) -> None:
    project.run(router, "run-1")
    with pytest.raises(RegistryError, match="nowhere: suite folder not found"):
        promote(project.registry, "router", "production", report_dir=project.report_dir,
                suites_dir=project.root / "nowhere")
