"""check on fake hosts: 2, 16 and 64 cores, SMT on and off, several NICs and queues, missing files."""
import pytest
from fake_host_tree import FakeHost, FakeNic

from fxpipe.tuning import report
from fxpipe.tuning.engine import make_plan, survey
from fxpipe.tuning.host import Host
from fxpipe.tuning.layout import Layout, Options, layout_from_cores
from fxpipe.tuning.model import DIFFERS, OK, UNKNOWN
from fxpipe.tuning.values import parse_cpumask


def _survey(root, trading="2-3", **options):
    layout = layout_from_cores(trading)
    if options:
        layout = Layout(layout.trading, None, Options(**options), layout.source)
    target, items = survey(Host(root), layout, "fxpipe")
    return target, {i.key: i for i in items}


@pytest.mark.parametrize("cores, smt", [(2, False), (16, False), (16, True), (64, True)])
def test_fresh_host_reports_every_area(tmp_path, cores, smt):
    FakeHost(tmp_path, cores=cores, smt=smt, nics=[FakeNic("eth0", queues=4), FakeNic("eth1", driver="virtio")])
    target, items = _survey(tmp_path, trading="1")
    assert {i.area for i in items.values()} == {"kernel", "irq", "cpu", "memory", "network"}
    assert items["kernel.boot-config"].status == DIFFERS and items["kernel.boot-config"].action
    assert items["kernel.cmdline.isolcpus"].status == DIFFERS
    assert items["kernel.cmdline.isolcpus"].action is None and items["kernel.cmdline.isolcpus"].reboot
    assert items["kernel.cmdline.isolcpus"].wanted == "managed_irq,domain,1"
    assert items[f"cpu.governor.cpu{cores - 1}"].current == "powersave"
    assert items["memory.thp.enabled"].current == "[always] madvise never"
    assert items["network.eth0.coalesce.rx-usecs"].current == "8"
    # Housekeeping: every online core but the trading one and its SMT sibling.
    expected = set(range(cores)) - {1} - ({1 + cores // 2} if smt else set())
    assert target.housekeeping == expected
    assert not [i for i in items.values() if i.status == UNKNOWN]


def test_nic_irqs_found_three_ways(tmp_path):
    fake = FakeHost(tmp_path, cores=16, nics=[FakeNic("eth0", queues=4), FakeNic("eth1", driver="ixgbe", queues=2),
                                              FakeNic("ens5", driver="virtio", queues=2)])
    _, items = _survey(tmp_path)
    titles = {i.title for i in items.values() if i.key.endswith(".affinity") and i.key.startswith("irq.")}
    for irq, name in fake.irq_names.items():
        if irq >= 100:  # the NIC vectors; 24 and 25 are the timer and a disk
            nic = "eth0" if "mlx5" in name else "ens5" if "virtio" in name else "eth1"
            assert f"{nic} IRQ {irq} ({name})" in titles
    assert "irq.24.affinity" not in items and "irq.25.affinity" not in items
    assert items["irq.101.affinity"].wanted == "0-1,4-15"
    assert items["irq.eth0.rx-2.rps"].wanted == "0"
    assert "lo" not in {k.split(".")[1] for k in items if k.startswith("irq.")}


def test_per_queue_mode_puts_each_irq_on_one_local_housekeeping_core(tmp_path):
    FakeHost(tmp_path, cores=16, nodes=2, nics=[FakeNic("eth0", queues=6, numa_node=1)])
    _, items = _survey(tmp_path, trading="9-10", irq_mode="per-queue")
    wanted = [items[f"irq.{n}.affinity"].wanted for n in range(100, 107)]
    # Node 1 holds cores 8-15; 9 and 10 trade, so IRQs rotate over 8, 11, 12, 13, 14, 15.
    assert wanted == ["8", "11", "12", "13", "14", "15", "8"]


def test_xps_gives_each_trading_core_its_own_queue(tmp_path):
    FakeHost(tmp_path, cores=8, nics=[FakeNic("eth0", queues=4)])
    _, items = _survey(tmp_path, trading="2-5")
    # Order 2,3,4,5 then 0,1,6,7 round-robin over four queues.
    masks = [items[f"irq.eth0.tx-{q}.xps"].wanted for q in range(4)]
    assert [sorted(parse_cpumask(m)) for m in masks] == [[0, 2], [1, 3], [4, 6], [5, 7]]


def test_smt_warn_is_advice_and_offline_is_a_change(tmp_path):
    FakeHost(tmp_path, cores=16, smt=True)
    _, warn = _survey(tmp_path, trading="2")
    assert warn["cpu.smt.cpu10"].status == DIFFERS and warn["cpu.smt.cpu10"].action is None
    assert "advice" in warn["cpu.smt.cpu10"].note
    _, offline = _survey(tmp_path, trading="2", smt="offline")
    item = offline["cpu.smt.cpu10"]
    assert item.action is not None and item.action.describe() == "write 0 to /sys/devices/system/cpu/cpu10/online"
    assert "cpu.governor.cpu10" not in offline


def test_numa_advice_when_the_nic_is_on_another_node(tmp_path):
    FakeHost(tmp_path, cores=16, nodes=2, nics=[FakeNic("eth0", numa_node=1)])
    _, items = _survey(tmp_path, trading="2-3")
    assert items["cpu.numa.eth0"].status == DIFFERS and "node 1 (8-15)" in items["cpu.numa.eth0"].note
    _, items = _survey(tmp_path, trading="9-10")
    assert items["cpu.numa.eth0"].status == OK


def test_amd_host_gets_no_intel_parameters_and_uses_boost(tmp_path):
    FakeHost(tmp_path, cores=4, vendor="AuthenticAMD")
    _, items = _survey(tmp_path, trading="2")
    assert "kernel.cmdline.intel_pstate" not in items
    assert "kernel.cmdline.processor.max_cstate" in items
    assert items["cpu.turbo"].action.describe() == "write 0 to /sys/devices/system/cpu/cpufreq/boost"


def test_missing_files_are_unknown_with_the_reason(tmp_path):
    FakeHost(tmp_path, cores=4, cpufreq=False, idle_states=False, ethtool=False, boot=None)
    (tmp_path / "sys/kernel/mm/transparent_hugepage/defrag").unlink()
    (tmp_path / "sys/devices/system/cpu/nohz_full").unlink()
    _, items = _survey(tmp_path, trading="2")
    assert items["cpu.governor.cpu2"].status == UNKNOWN and "no cpufreq" in items["cpu.governor.cpu2"].note
    assert items["cpu.cstates.cpu2"].status == UNKNOWN
    assert items["cpu.turbo"].status == UNKNOWN
    assert items["memory.thp.defrag"].note == "missing /sys/kernel/mm/transparent_hugepage/defrag"
    assert items["kernel.nohz_full"].status == UNKNOWN
    assert items["kernel.boot-config"].status == UNKNOWN and "no boot loader config" in items["kernel.boot-config"].note
    assert items["network.eth0.coalesce.rx-usecs"].status == UNKNOWN
    assert "ethtool is not installed" in items["network.eth0.coalesce.rx-usecs"].note
    plan = make_plan(list(items.values()))
    assert all(i.action is None or i.status != UNKNOWN for i in plan.changes)
    assert items["memory.thp.defrag"] in plan.unknown


def test_unsupported_coalescing_is_unknown(tmp_path):
    FakeHost(tmp_path, cores=4, nics=[FakeNic("eth0", coalesce={"adaptive-rx": "n/a", "adaptive-tx": "n/a",
                                                                   "rx-usecs": "3"})])
    _, items = _survey(tmp_path, trading="2")
    assert items["network.eth0.coalesce.adaptive-rx"].status == UNKNOWN
    assert "does not offer adaptive-rx" in items["network.eth0.coalesce.adaptive-rx"].note
    assert items["network.eth0.coalesce.rx-usecs"].status == DIFFERS


def test_irqbalance_not_installed_is_ok(tmp_path):
    FakeHost(tmp_path, cores=4, irqbalance=None)
    _, items = _survey(tmp_path, trading="2")
    assert items["irq.irqbalance"].status == OK
    assert "irq.irqbalance.running" not in items


def test_running_irqbalance_is_checked_through_its_environment(tmp_path):
    FakeHost(tmp_path, cores=4, irqbalance="running")
    (tmp_path / "proc/812/environ").write_bytes(b"IRQBALANCE_BANNED_CPULIST=2\0")
    (tmp_path / "etc/default/irqbalance").write_text('IRQBALANCE_BANNED_CPULIST="2"\n')
    _, items = _survey(tmp_path, trading="2")
    assert items["irq.irqbalance.config"].status == OK
    assert items["irq.irqbalance.running"].status == OK


def test_memlock_reads_limits_files_by_precedence(tmp_path):
    FakeHost(tmp_path, cores=4)
    (tmp_path / "etc/security/limits.conf").write_text("*  hard memlock 64\n@traders - memlock 1024\n")
    (tmp_path / "etc/security/limits.d/10-x.conf").write_text("* soft memlock unlimited\n")
    _, items = _survey(tmp_path, trading="2")
    # The group entry beats the wildcard, whatever the file order.
    assert items["memory.memlock"].current == "soft=1024 hard=1024"
    (tmp_path / "etc/security/limits.d/20-y.conf").write_text("fxpipe hard memlock unlimited\n")
    _, items = _survey(tmp_path, trading="2")
    assert items["memory.memlock"].current == "soft=1024 hard=unlimited"


def test_report_folds_per_core_rows_on_a_big_host(tmp_path):
    FakeHost(tmp_path, cores=64, smt=True, nodes=2)
    target, items = _survey(tmp_path, trading="2-5")
    text = report.check_text(target, list(items.values()))
    assert "cpus 0-63 frequency governor" in text
    assert text.count("frequency governor") == 1
    assert text.splitlines()[-1].endswith("unknown")


def test_tuning_options_change_what_is_wanted(tmp_path):
    FakeHost(tmp_path, cores=4)
    _, items = _survey(tmp_path, trading="2", idle_poll=True, max_cstate_latency_us=10, rx_ring="keep",
                       tx_ring=512, turbo="on")
    assert items["kernel.cmdline.idle"].wanted == "poll"
    assert "idle=poll" in items["kernel.boot-config"].wanted
    # C1E wakes in 10 us: allowed now; only C6 is disabled.
    assert "cpu.cstates.cpu2.state2" not in items and items["cpu.cstates.cpu2.state3"].wanted == "1"
    assert "network.eth0.ring.rx" not in items
    assert items["network.eth0.ring.tx"].wanted == "512"
    assert items["cpu.turbo"].wanted == "0"  # intel_pstate/no_turbo = 0 keeps turbo on
