"""automation.health.measure: CPU usage over an interval, from CPU times given or fed through
psutil, and each reading of the checks that may be asked for."""

from __future__ import annotations

from datetime import timedelta

import pytest

from automation.health import measure
from automation.health.judge import MB
from automation.health.measure import CpuSample, CpuUsage, unusable, usage_between
from tests.health_helpers import BOOT, T0, Machine

MINUTE = timedelta(minutes=1)
SHORTEST, LONGEST = timedelta(seconds=1), timedelta(minutes=15)


def sample(minute: float, boot: float = BOOT, **times: float) -> CpuSample:
    """CPU times at T0 + minute."""
    return CpuSample(T0 + timedelta(minutes=minute), boot, times)


@pytest.mark.parametrize(("before", "after", "percent"), [
    pytest.param({"user": 100, "idle": 900}, {"user": 190, "idle": 910}, 90.0, id="busy"),
    pytest.param({"user": 100, "idle": 900}, {"user": 100, "idle": 1000}, 0.0, id="idle"),
    pytest.param({"user": 10, "system": 10, "idle": 80}, {"user": 35, "system": 20, "idle": 145},
                 35.0, id="user and system"),
    pytest.param({"user": 0, "idle": 100, "iowait": 0}, {"user": 0, "idle": 150, "iowait": 50},
                 0.0, id="waiting for the disk is idle"),
    pytest.param({"user": 50, "guest": 0, "idle": 50}, {"user": 100, "guest": 50, "idle": 100},
                 50.0, id="guest time is counted in user already"),
    pytest.param({"user": 1, "idle": 2}, {"user": 1.2, "idle": 2.1}, 66.7, id="rounded"),
    pytest.param({"user": 10, "idle": 10}, {"user": 20, "idle": 20, "steal": 500}, 50.0,
                 id="a time only the later sample names"),
])
def test_usage_between_two_samples(before: dict, after: dict, percent: float) -> None:
    assert usage_between(sample(0, **before), sample(1, **after)) == percent


@pytest.mark.parametrize(("earlier", "later", "reason"), [
    pytest.param(None, sample(1, user=2, idle=2), "no earlier reading", id="first run"),
    pytest.param(sample(0, user=1, idle=1), sample(1, BOOT + 600, user=0.5, idle=0.5),
                 "the earlier reading is from before a reboot", id="reboot"),
    pytest.param(sample(0, user=1, idle=1), sample(1, BOOT, user=0.5, idle=0.5),
                 "the CPU times went back (a reboot?)", id="counters went back"),
    pytest.param(sample(0, user=1, idle=1), sample(16, user=9, idle=99),
                 "the earlier reading is 16 min old", id="too old"),
    pytest.param(sample(1, user=1, idle=1), sample(0, user=2, idle=2),
                 "the earlier reading is from a later time (the clock went back)",
                 id="clock went back"),
    pytest.param(sample(0, user=1, idle=1), sample(0, user=1, idle=1.5),
                 "the earlier reading is only 0 s old", id="too recent"),
])
def test_when_an_earlier_sample_cannot_measure_the_interval(earlier, later, reason: str) -> None:
    assert unusable(earlier, later, SHORTEST, LONGEST) == reason


@pytest.mark.parametrize("later", [
    pytest.param(sample(1, user=2, idle=2), id="a minute later"),
    pytest.param(sample(15, user=2, idle=2), id="at the window's end"),
    pytest.param(sample(1, BOOT + 3, user=2, idle=2), id="boot time a little moved"),
])
def test_an_earlier_sample_that_can_measure_the_interval(later: CpuSample) -> None:
    assert unusable(sample(0, user=1, idle=1), later, SHORTEST, LONGEST) is None


def test_the_first_run_samples_for_the_interval_and_keeps_the_times(machine: Machine) -> None:
    machine.cpu = 42.0
    cpu = CpuUsage(None, T0, 1.0, LONGEST)
    assert cpu() == 42.0
    assert machine.samples == [1.0]
    assert cpu.sample is not None
    assert (cpu.sample.taken, cpu.sample.boot) == (T0 + timedelta(seconds=1), BOOT)
    assert cpu.sample.busy_and_total() == (machine.busy_seconds, 10_000 + 2 * 100)


def test_the_next_run_takes_the_interval_without_sampling(machine: Machine) -> None:
    first = CpuUsage(None, T0, 1.0, LONGEST)
    first()
    machine.cpu = 87.5
    second = CpuUsage(first.sample, T0 + MINUTE, 1.0, LONGEST)
    assert second() == 87.5
    assert machine.samples == [1.0]
    assert second.sample is not None and second.sample.taken == T0 + MINUTE


def test_a_reboot_between_two_runs_means_sampling_again(machine: Machine) -> None:
    first = CpuUsage(None, T0, 1.0, LONGEST)
    first()
    machine.boot += 120
    machine.busy_seconds, machine.idle_seconds = 3.0, 40.0  # counting from zero again
    machine.cpu = 12.0
    second = CpuUsage(first.sample, T0 + MINUTE, 0.5, LONGEST)
    assert second() == 12.0
    assert machine.samples == [1.0, 0.5]
    assert second.sample is not None and second.sample.boot == machine.boot


def test_the_real_cpu_times_are_what_the_interval_needs() -> None:
    """psutil's own figures (no feeding): named times that only grow within one boot."""
    first = measure.take_cpu_sample(T0)
    sum(range(200_000))  # some CPU time passes
    later = measure.take_cpu_sample(T0 + MINUTE)
    assert later.boot == first.boot
    assert set(first.times) >= {"user", "system", "idle"}
    (busy_before, total_before), (busy, total) = first.busy_and_total(), later.busy_and_total()
    # busy is total - idle of sums of floats: equal times can differ in the last bit
    ulp = 1e-6
    assert 0 <= busy_before <= busy + ulp and busy <= total + ulp
    assert total_before <= total + ulp


# The other readings.


def test_disk_free_is_the_share_users_may_fill(machine: Machine) -> None:
    machine.disks["/srv"] = 12.5
    assert measure.read_disk_free("/srv", 1.0) == pytest.approx(12.5, abs=0.001)
    assert machine.disks_asked == ["/srv"]


@pytest.mark.parametrize(("fed", "percent"), [(4.0, 4.0), (100.0, 100.0), (None, 100.0)])
def test_free_inodes(machine: Machine, fed: float | None, percent: float) -> None:
    machine.inodes["/srv"] = fed  # None: a file system with no fixed number of inodes
    assert measure.read_inodes_free("/srv", 1.0) == pytest.approx(percent)


def test_free_inodes_of_a_real_file_system(tmp_path) -> None:
    assert 0.0 <= measure.read_inodes_free(str(tmp_path), 5.0) <= 100.0


@pytest.mark.parametrize(("total", "used", "percent"), [
    (2048 * MB, 512 * MB, 25.0), (2048 * MB, 0, 0.0), (0, 0, 0.0),
])
def test_swap_in_use(machine: Machine, total: int, used: int, percent: float) -> None:
    machine.swap_total, machine.swap_used = total, used
    assert measure.read_swap_used() == percent


def test_load_is_the_5_minute_average_per_cpu(machine: Machine) -> None:
    machine.load5, machine.cpus = 3.0, 4
    assert measure.read_load_per_cpu() == 0.75


def test_memory_is_in_bytes(machine: Machine) -> None:
    machine.memory = 123 * MB + 7
    assert measure.read_memory() == 123 * MB + 7
