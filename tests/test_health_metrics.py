"""--metrics-file: the Prometheus text format, read back with prometheus_client's own parser;
replaced atomically, with no temporary file left beside it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

import health_check
from automation.health import pipeline
from automation.health.judge import MB, Limit, judge
from automation.health.metrics import exposition
from tests.health_helpers import NEVER, T0, Machine
from tests.helpers import run_script


def read_back(text: str) -> dict[str, dict[tuple, float]]:
    """The samples of a metrics file by name, then by their labels (sorted pairs)."""
    assert text.endswith("\n")
    families = list(text_string_to_metric_families(text))
    assert all(family.type == "gauge" and family.documentation for family in families)
    names = [family.name for family in families]
    assert len(names) == len(set(names))  # one HELP and TYPE per name, its samples together
    return {family.name: {tuple(sorted(sample.labels.items())): sample.value
                          for sample in family.samples} for family in families}


def run_at(tmp_path: Path, minute: float, *flags: str, nagios: bool = False) -> int:
    """One run in-process at T0 + minute, writing tmp_path/metrics/health.prom."""
    args = health_check.parse_args([
        "--state-file", str(tmp_path / "state.json"),
        "--metrics-file", str(tmp_path / "metrics" / "health.prom"), *flags,
        *(["--nagios"] if nagios else [])])
    run = pipeline.run_nagios if nagios else pipeline.run_checks
    return run(args, now=T0 + timedelta(minutes=minute))


def test_every_check_and_its_reading_in_base_units(
    tmp_path: Path, machine: Machine, mailbox
) -> None:
    (tmp_path / "metrics").mkdir()
    machine.cpu, machine.memory, machine.swap_used = 91.0, 300 * MB, 512 * MB
    machine.disks["/srv"] = 12.5
    machine.inodes["/srv"] = 50.0
    flags = ("--disk-path", "/", "--disk-path", "/srv", "--swap-max-percent", "50",
             "--load-max-per-cpu", "2", "--inodes-min-free-percent", "5")
    assert run_at(tmp_path, 0, *flags) == 1
    metrics = read_back((tmp_path / "metrics" / "health.prom").read_text())
    assert metrics["fruit_health_check_ok"] == {
        (("check", "cpu"),): 0, (("check", "disk"), ("path", "/")): 1,
        (("check", "disk"), ("path", "/srv")): 0, (("check", "inodes"), ("path", "/")): 1,
        (("check", "inodes"), ("path", "/srv")): 1, (("check", "memory"),): 0,
        (("check", "swap"),): 1, (("check", "load"),): 1, (("check", "localhost"),): 1,
    }
    assert metrics["fruit_health_cpu_usage_ratio"] == {(): 0.91}
    assert metrics["fruit_health_disk_free_ratio"] == {
        (("path", "/"),): pytest.approx(0.6), (("path", "/srv"),): pytest.approx(0.125)}
    assert metrics["fruit_health_inodes_free_ratio"] == {
        (("path", "/"),): pytest.approx(0.9), (("path", "/srv"),): pytest.approx(0.5)}
    assert metrics["fruit_health_memory_available_bytes"] == {(): 300 * MB}
    assert metrics["fruit_health_swap_used_ratio"] == {(): 0.25}
    assert metrics["fruit_health_load_per_cpu"] == {(): 0.25}
    assert metrics["fruit_health_last_run_timestamp_seconds"] == {(): T0.timestamp()}
    assert set(metrics["fruit_health_check_silenced"].values()) == {0}
    assert sorted(path.name for path in (tmp_path / "metrics").iterdir()) == ["health.prom"]


def test_the_file_is_replaced_each_run(tmp_path: Path, machine: Machine, mailbox) -> None:
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "health.prom").write_text("stale 1\n")
    assert run_at(tmp_path, 0) == 0
    machine.localhost = ()
    assert run_at(tmp_path, 1) == 1
    metrics = read_back((tmp_path / "metrics" / "health.prom").read_text())
    assert "stale" not in metrics
    assert metrics["fruit_health_check_ok"][(("check", "localhost"),)] == 0
    assert metrics["fruit_health_last_run_timestamp_seconds"] == {
        (): (T0 + timedelta(minutes=1)).timestamp()}
    assert sorted(path.name for path in (tmp_path / "metrics").iterdir()) == ["health.prom"]


def test_a_silenced_check_says_so(tmp_path: Path, machine: Machine, mailbox) -> None:
    (tmp_path / "metrics").mkdir()
    pipeline.silence(health_check.parse_args(
        ["--silence", "cpu", "--for", "1h", "--state-file", str(tmp_path / "state.json")]),
        now=T0)
    machine.cpu = 99
    assert run_at(tmp_path, 5, nagios=True) == 1  # WARNING: a silenced failing check
    metrics = read_back((tmp_path / "metrics" / "health.prom").read_text())
    assert metrics["fruit_health_check_silenced"][(("check", "cpu"),)] == 1
    assert metrics["fruit_health_check_ok"][(("check", "cpu"),)] == 0


def test_a_metrics_file_that_cannot_be_written_is_one_line_and_exit_2(
    tmp_path: Path, machine: Machine, mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    machine.memory = 100 * MB
    assert run_at(tmp_path, 0) == 2  # the folder does not exist
    assert [message for message in caplog.messages if "metrics" in message] == [
        f"{tmp_path / 'metrics' / 'health.prom'}: cannot write the metrics file: "
        "No such file or directory"]
    assert [message["Subject"] for message in mailbox.messages()] == [
        "Error - Available memory is less than 500MB"]  # the rest of the run was done


def test_label_values_are_escaped() -> None:
    odd = 'C:\\data "old"\nnew'
    disk = Limit(f"disk {odd}", "Available disk space", 20, upper=False, quantity="disk_free")
    verdict = replace(judge(disk, 50.0), name="disk", labels=(("path", odd),))
    text = exposition([verdict], {}, T0)
    assert 'path="C:\\\\data \\"old\\"\\nnew"' in text
    metrics = read_back(text)
    assert metrics["fruit_health_disk_free_ratio"] == {(("path", odd),): 0.5}


def test_the_metrics_file_from_the_command_line(tmp_path: Path, mailbox) -> None:
    """A real process, the machine's own readings, the file named in the cron's way."""
    target = tmp_path / "textfile" / "fruit_health.prom"
    target.parent.mkdir()
    done = run_script("health_check.py", *NEVER, "--cpu-interval", "0.1",
                      "--state-file", str(tmp_path / "state.json"), "--metrics-file", str(target),
                      "--smtp-host", "127.0.0.1", "--smtp-port", str(mailbox.port))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    metrics = read_back(target.read_text())
    assert set(metrics["fruit_health_check_ok"].values()) == {1}
    assert 0 <= metrics["fruit_health_cpu_usage_ratio"][()] <= 1
    assert metrics["fruit_health_memory_available_bytes"][()] > 0
    assert [path.name for path in target.parent.iterdir()] == ["fruit_health.prom"]


def test_each_reading_says_what_it_is(tmp_path: Path, machine: Machine, mailbox) -> None:
    """The HELP of each reading comes from its check's declaration, never the metric's name."""
    (tmp_path / "metrics").mkdir()
    assert run_at(tmp_path, 0, "--swap-max-percent", "50", "--load-max-per-cpu", "2",
                  "--inodes-min-free-percent", "5") == 0
    families = text_string_to_metric_families(
        (tmp_path / "metrics" / "health.prom").read_text())
    helps = {family.name: family.documentation for family in families}
    readings = {name: text for name, text in helps.items()
                if not name.startswith(("fruit_health_check_", "fruit_health_last_run_"))}
    assert readings == {
        "fruit_health_cpu_usage_ratio": "CPU usage over the interval since the previous run.",
        "fruit_health_disk_free_ratio":
            "Space users may still fill, as a share of the file system's size.",
        "fruit_health_inodes_free_ratio": "Inodes users may still take, as a share of all of them.",
        "fruit_health_memory_available_bytes":
            "Memory that programs can be given without swapping.",
        "fruit_health_swap_used_ratio": "Swap in use, as a share of the swap space.",
        "fruit_health_load_per_cpu": "Load average over 5 minutes, divided by the number of CPUs.",
    }
