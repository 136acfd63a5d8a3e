"""apply and revert on fake hosts: round trips, idempotence, snapshots, and all-or-nothing refusals."""
import errno
import json

import pytest
from fake_host_tree import FakeHost, FakeKernel, FakeNic

from fxpipe.tuning.engine import ApplyFailed, apply, make_plan, revert, survey
from fxpipe.tuning.host import Host, TuningError
from fxpipe.tuning.layout import Layout, Options, layout_from_cores
from fxpipe.tuning.model import OK
from fxpipe.tuning.snapshot import Snapshot

HOSTS = {
    "2-cores": dict(cores=2, nics=[FakeNic("eth0", driver="virtio", queues=1)]),
    "16-cores-smt": dict(cores=16, smt=True, nodes=2, nics=[FakeNic("eth0", queues=4), FakeNic("eth1", driver="ixgbe", queues=2)]),
    "64-cores-smt": dict(cores=64, smt=True, nodes=2, nics=[FakeNic("eth0", queues=8), FakeNic("eth1", queues=8),
                                                             FakeNic("ens9", driver="virtio", queues=2)]),
    "16-cores-kernel-cmdline": dict(cores=16, boot="kernel-cmdline", vendor="AuthenticAMD",
                                    cmdline="BOOT_IMAGE=/boot/vmlinuz-6.1.0 root=UUID=1234 ro quiet"),
}
TRADING = {"2-cores": "1", "16-cores-smt": "2-3", "64-cores-smt": "2-5", "16-cores-kernel-cmdline": "4-7"}


class RefusingHost(FakeKernel):
    """A host whose kernel refuses writes to some paths, as sysfs does with EINVAL or EIO."""

    def __init__(self, fake, refuse, err=errno.EINVAL):
        super().__init__(fake)
        self.refuse = refuse
        self.err = err

    def _write_raw(self, local, data):
        if any(str(local).endswith(p) for p in self.refuse):
            raise OSError(self.err, "refused by the fake kernel")
        super()._write_raw(local, data)


def _layout(trading, **options):
    layout = layout_from_cores(trading)
    return Layout(layout.trading, None, Options(**options), layout.source) if options else layout


def _states(host, layout):
    _, items = survey(host, layout, "fxpipe")
    return [i.as_dict() for i in items]


@pytest.mark.parametrize("name", sorted(HOSTS))
def test_apply_then_everything_is_ok_then_revert_restores_the_start(tmp_path, name):
    fake = FakeHost(tmp_path, **HOSTS[name])
    host = FakeKernel(fake)
    layout = _layout(TRADING[name], smt="offline")
    start_tree = fake.tree()
    start = _states(host, layout)

    _, items = survey(host, layout, "fxpipe")
    changed = apply(host, items, Snapshot(host))
    assert changed
    _, after = survey(host, layout, "fxpipe")
    not_ok = [i for i in after if i.status != OK]
    # Live settings are all in place; the kernel's own view waits for the reboot.
    assert not_ok and all(i.reboot and i.key != "kernel.boot-config" for i in not_ok), [i.key for i in not_ok]

    fake.boot()
    _, booted = survey(host, layout, "fxpipe")
    assert [i.key for i in booted if i.status != OK] == []

    revert(host, Snapshot(host))
    fake.boot()
    assert _states(host, layout) == start
    assert fake.tree() == start_tree
    assert not Snapshot(host).exists()


def test_apply_twice_changes_nothing_the_second_time(tmp_path):
    FakeHost(tmp_path, cores=16)
    host = Host(tmp_path)
    layout = _layout("2-3")
    apply(host, survey(host, layout, "fxpipe")[1], Snapshot(host))
    snapshot_text = host.path(Snapshot(host).path).read_text()
    assert apply(host, survey(host, layout, "fxpipe")[1], Snapshot(host)) == []
    assert host.path(Snapshot(host).path).read_text() == snapshot_text


def test_a_second_apply_keeps_the_first_originals(tmp_path):
    fake = FakeHost(tmp_path, cores=16)
    start_tree = fake.tree()
    host = FakeKernel(fake)
    apply(host, survey(host, _layout("2-3"), "fxpipe")[1], Snapshot(host))
    # A wider layout changes settings fxpipe set already and some new ones.
    changed = apply(host, survey(host, _layout("2-5"), "fxpipe")[1], Snapshot(host))
    assert any(i.key == "irq.100.affinity" for i in changed)
    entries = {e.action.key: e for e in Snapshot(host).load()}
    assert entries["/proc/irq/100/smp_affinity_list"].saved == {"value": "0-15"}
    assert entries["/proc/irq/100/smp_affinity_list"].action.value == "0-1,6-15"
    assert entries["network.eth0.coalesce.rx-usecs"].saved == {"undo_argv": ["ethtool", "-C", "eth0", "rx-usecs", "8"]}
    revert(host, Snapshot(host))
    assert fake.tree() == start_tree


def _refusal_case(tmp_path, host, layout, fake, match):
    start_tree = fake.tree()
    _, items = survey(host, layout, "fxpipe")
    assert make_plan(items).changes
    with pytest.raises(ApplyFailed) as err:
        apply(host, items, Snapshot(host))
    text = str(err.value)
    assert match in text
    assert "rolled back: the host is as it was" in text
    assert fake.tree() == start_tree
    assert not Snapshot(host).exists()
    return text


def test_a_value_the_kernel_refused_leaves_everything_as_it_was(tmp_path):
    fake = FakeHost(tmp_path, cores=16, smt=True)
    host = RefusingHost(fake, ["/proc/sys/vm/stat_interval"])
    text = _refusal_case(tmp_path, host, _layout("2-3", smt="offline"), fake,
                         "the kernel refused '10' for /proc/sys/vm/stat_interval: refused by the fake kernel")
    assert "apply stopped at: write 10 to /proc/sys/vm/stat_interval" in text


def test_a_managed_irq_refused_with_eio_rolls_back(tmp_path):
    fake = FakeHost(tmp_path, cores=16)
    host = RefusingHost(fake, ["/proc/irq/103/smp_affinity_list"], err=errno.EIO)
    _refusal_case(tmp_path, host, _layout("2-3"), fake, "(errno 5)")


def test_a_value_the_kernel_keeps_different_counts_as_refused(tmp_path):
    fake = FakeHost(tmp_path, cores=4)

    class StubbornGovernor(FakeKernel):
        def _write_raw(self, local, data):
            if str(local).endswith("cpu3/cpufreq/scaling_governor"):
                data = "powersave\n"
            super()._write_raw(local, data)

    _refusal_case(tmp_path, StubbornGovernor(fake), _layout("2"), fake,
                  "did not take 'performance' for /sys/devices/system/cpu/cpu3/cpufreq/scaling_governor")


def test_a_refused_ethtool_setting_rolls_back_files_and_earlier_commands(tmp_path):
    fake = FakeHost(tmp_path, cores=8, nics=[FakeNic("eth0"), FakeNic("eth1")])
    state = tmp_path / "var/lib/fake-ethtool/eth1.json"
    doc = json.loads(state.read_text())
    doc["refuse"] = ["rx-usecs"]
    state.write_text(json.dumps(doc))
    _refusal_case(tmp_path, FakeKernel(fake), _layout("2"), fake,
                  "ethtool -C eth1 rx-usecs 0 was refused: netlink error: Invalid argument")
    # eth0's coalescing was changed before eth1 refused, and is back.
    assert json.loads((tmp_path / "var/lib/fake-ethtool/eth0.json").read_text())["coalesce"]["rx-usecs"] == "8"


def test_a_service_that_fails_to_restart_rolls_back_its_config(tmp_path):
    fake = FakeHost(tmp_path, cores=8)
    (tmp_path / "var/lib/fake-systemctl-refuse").write_text("")
    _refusal_case(tmp_path, FakeKernel(fake), _layout("2"), fake, "systemctl try-restart irqbalance.service")
    assert "IRQBALANCE_BANNED_CPULIST" not in (tmp_path / "etc/default/irqbalance").read_text()


def test_a_file_that_vanished_since_the_check_is_a_clear_error(tmp_path):
    fake = FakeHost(tmp_path, cores=4)
    host = FakeKernel(fake)
    _, items = survey(host, _layout("2"), "fxpipe")
    (tmp_path / "proc/sys/kernel/timer_migration").unlink()
    start_tree = fake.tree()
    with pytest.raises(TuningError, match="cannot change /proc/sys/kernel/timer_migration: it does not exist"):
        apply(host, items, Snapshot(host))
    assert fake.tree() == start_tree


def test_a_rollback_that_fails_says_what_to_fix_by_hand(tmp_path):
    fake = FakeHost(tmp_path, cores=4)

    class BreaksLater(FakeKernel):
        armed = False

        def _write_raw(self, local, data):
            if str(local).endswith("vm/stat_interval"):
                BreaksLater.armed = True
                raise OSError(errno.EBUSY, "busy")
            if BreaksLater.armed and str(local).endswith("vm/swappiness"):
                raise OSError(errno.EBUSY, "busy")
            super()._write_raw(local, data)

    host = BreaksLater(fake)
    with pytest.raises(ApplyFailed) as err:
        apply(host, survey(host, _layout("2"), "fxpipe")[1], Snapshot(host))
    text = str(err.value)
    assert "did NOT fully work" in text and "write 1 to /proc/sys/vm/swappiness" in text
    assert (tmp_path / "proc/sys/vm/swappiness").read_text().strip() == "1"


def test_revert_that_is_refused_puts_the_applied_state_back(tmp_path):
    fake = FakeHost(tmp_path, cores=4)
    host = FakeKernel(fake)
    layout = _layout("2")
    apply(host, survey(host, layout, "fxpipe")[1], Snapshot(host))
    applied = _states(host, layout)
    refusing = RefusingHost(fake, ["/proc/sys/vm/swappiness"])
    with pytest.raises(ApplyFailed, match="revert stopped at: write 60 to /proc/sys/vm/swappiness"):
        revert(refusing, Snapshot(refusing))
    assert _states(host, layout) == applied
    assert Snapshot(host).exists()


def test_revert_without_a_snapshot(tmp_path):
    FakeHost(tmp_path, cores=4)
    host = Host(tmp_path)
    with pytest.raises(TuningError, match="nothing to revert: there is no snapshot"):
        revert(host, Snapshot(host))


def test_a_damaged_snapshot_is_left_alone(tmp_path):
    FakeHost(tmp_path, cores=4)
    host = Host(tmp_path)
    path = host.path(Snapshot(host).path)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(TuningError, match="cannot be read"):
        revert(host, Snapshot(host))
    assert path.read_text() == "{not json"


def test_a_second_apply_waits_for_the_lock(tmp_path):
    FakeHost(tmp_path, cores=4)
    host = Host(tmp_path)
    items = survey(host, _layout("2"), "fxpipe")[1]
    with Snapshot(host).locked():
        with pytest.raises(TuningError, match="another fxpipe tune apply or revert holds"):
            apply(host, items, Snapshot(host))


def test_the_boot_config_change_needs_a_reboot_and_is_reverted_byte_for_byte(tmp_path):
    FakeHost(tmp_path, cores=4)
    host = Host(tmp_path)
    before = (tmp_path / "etc/default/grub").read_bytes()
    (tmp_path / "etc/default/grub").chmod(0o600)
    apply(host, survey(host, _layout("2"), "fxpipe")[1], Snapshot(host))
    grub = (tmp_path / "etc/default/grub").read_text()
    assert 'GRUB_CMDLINE_LINUX_DEFAULT="quiet isolcpus=managed_irq,domain,2 nohz_full=2 rcu_nocbs=2' in grub
    assert (tmp_path / "etc/default/grub").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "proc/cmdline").read_text().count("isolcpus") == 0  # never live
    revert(host, Snapshot(host))
    assert (tmp_path / "etc/default/grub").read_bytes() == before
    assert (tmp_path / "etc/default/grub").stat().st_mode & 0o777 == 0o600
