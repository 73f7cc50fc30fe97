"""``tunegate registry register|list|show`` and ``tunegate promote``: output and exit codes."""

from __future__ import annotations

import json

from tunegate.backends._fingerprint import folder_fingerprint

LINEAGE = {"lineage_version": 1, "base": "/models/tiny", "base_fingerprint": "b" * 64,
           "data_sha256": "d" * 64, "training": {"r": 8}}


def test_register_list_and_show(project, cli, capsys) -> None:
    source = project.adapter("a", b"weights-a", LINEAGE)
    sha = folder_fingerprint(source)
    assert cli("registry", "register", str(source), "--name", "router") == 0
    assert capsys.readouterr().out.startswith(f"registered\trouter\t{sha}\t")
    assert cli("registry", "register", str(source), "--name", "router") == 0
    assert capsys.readouterr().out.startswith("already registered\trouter")
    project.run(source, "run-1")
    assert cli("registry", "list") == 0
    assert f"router\tcandidate\t{sha[:12]}\t" in capsys.readouterr().out
    assert cli("promote", "router", "--to", "production") == 0
    assert cli("registry", "show", "router") == 0
    shown = capsys.readouterr().out.splitlines()
    assert f"sha256\t{sha}" in shown and "stage\tproduction" in shown
    assert "base_fingerprint\t" + "b" * 64 in shown and 'training\t{"r": 8}' in shown
    assert "data_source\tunknown" in shown  # not in this lineage.json
    assert "runs\trun-1 (passed)" in shown
    events = shown[shown.index("events") + 2:]
    assert [line.split("\t")[2:4] for line in events] == [
        ["-", "candidate"], ["candidate", "production"]]
    assert events[1].split("\t")[5] == "run-1"


def test_register_refusals_exit_with_a_reason(project, cli, capsys) -> None:
    assert cli("registry", "register", str(project.adapter("a", b"a")), "--name", "../a") == 2
    assert "invalid adapter name '../a': contains a path separator" in capsys.readouterr().err
    assert cli("registry", "register", str(project.adapter("b", b"b")), "--name", "b") == 0
    assert cli("registry", "register", str(project.adapter("c", b"c")), "--name", "b") == 1
    assert "'b' is already registered with other content" in capsys.readouterr().err
    assert cli("registry", "show", "nope") == 2
    assert "no adapter named 'nope'" in capsys.readouterr().err


def test_promote_refusal_exits_1_and_names_the_run(project, cli, capsys) -> None:
    source = project.adapter("a", b"weights-a")
    assert cli("registry", "register", str(source), "--name", "router") == 0
    project.run(source, "run-7", failed_gates=["golden_regression"])
    capsys.readouterr()
    assert cli("promote", "router", "--to", "production") == 1
    err = capsys.readouterr().err
    assert "refusing to promote 'router' to production" in err
    assert "latest run run-7 failed: gates failed: golden_regression" in err
    assert project.registry.get("router").stage == "candidate"


def test_force_without_reason_is_refused_and_with_reason_recorded(
    project, cli, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("TUNEGATE_ACTOR", "release-bot")
    source = project.adapter("a", b"weights-a")
    assert cli("registry", "register", str(source), "--name", "router") == 0
    assert cli("promote", "router", "--to", "production", "--force") == 2
    assert "forced promotion needs a reason" in capsys.readouterr().err
    assert len(project.registry.events("router")) == 1
    assert cli("promote", "router", "--to", "production", "--force",
               "--reason", "outage: the old adapter is worse") == 0
    assert capsys.readouterr().out == "router\tcandidate -> production\trun -\tforced\n"
    event = project.registry.events("router")[-1]
    assert event.forced and event.actor == "release-bot"
    assert event.reason == "outage: the old adapter is worse"
    assert "no run of this adapter content" in event.detail


def test_promote_retires_production_and_reports_both(project, cli, capsys) -> None:
    for name in ("old", "new"):
        source = project.adapter(name, name.encode())
        assert cli("registry", "register", str(source), "--name", name) == 0
        project.run(source, f"run-{name}")
    assert cli("promote", "old", "--to", "production") == 0
    assert cli("promote", "new", "--to", "shadow") == 0
    capsys.readouterr()
    assert cli("promote", "new", "--to", "production") == 0
    assert capsys.readouterr().out.splitlines() == [
        "old\tproduction -> retired\trun run-new", "new\tshadow -> production\trun run-new"]
    assert cli("promote", "new", "--to", "production") == 0
    assert capsys.readouterr().out == "new is already in production\n"
    assert cli("promote", "new", "--to", "shadow") == 1
    assert "would be a demotion" in capsys.readouterr().err


def test_promote_uses_the_given_suites_folder(project, cli, capsys, tmp_path) -> None:
    source = project.adapter("a", b"weights-a")
    assert cli("registry", "register", str(source), "--name", "router") == 0
    project.run(source, "run-1")
    other = tmp_path / "other-suite"
    other.mkdir()
    (other / "test_x.py").write_text("def test_x():\n    pass\n")
    assert cli("promote", "router", "--to", "production", "--suites", str(other)) == 1
    assert "suite changed since run run-1" in capsys.readouterr().err
    assert cli("promote", "router", "--to", "production", "--suites",
               str(project.suites)) == 0


def test_unreadable_unrelated_records_are_warned_about(project, cli, capsys) -> None:
    source = project.adapter("a", b"weights-a")
    assert cli("registry", "register", str(source), "--name", "router") == 0
    project.run(source, "run-1")
    (project.report_dir / "runs" / "odd.json").write_text(json.dumps(
        {"references": [{"role": "candidate", "adapter_sha256": "e" * 64}]}))
    assert cli("promote", "router", "--to", "production") == 0
    assert "tunegate: warning: " in capsys.readouterr().err


def test_a_missing_config_is_a_config_error(tmp_path, capsys, monkeypatch) -> None:
    from tunegate.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["registry", "list", "--config", str(tmp_path / "none.toml")]) == 2
    assert "none.toml: file not found" in capsys.readouterr().err
