"""`fxpipe tune` as a process: check, plan, apply, revert on fake trees, and every user error."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from fake_host_tree import KERNEL_REWRITTEN, FakeHost, FakeNic
from tune_runner import NOBODY, nobody_python, tune

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching to an unprivileged user needs root")


@pytest.fixture
def fake(tmp_path):
    return FakeHost(tmp_path / "root", cores=16, nics=[FakeNic("eth0", queues=2)])


@pytest.fixture
def world_readable_tmp():
    """A temp dir an unprivileged user can enter (pytest's own tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="fxpipe-tune-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_check_plan_apply_revert_round_trip(fake, tmp_path):
    root = str(fake.root)
    layout = tmp_path / "layout.toml"
    layout.write_text("[cores]\ntrading = [2, 3]\n[tuning]\nuser = \"fxpipe\"\n")
    before = tune("check", "--layout", str(layout), "--root", root, "--json")
    assert before.returncode == 1, before.stderr
    start = json.loads(before.stdout)
    assert start["trading"] == "2-3" and start["counts"]["differs"] > 0

    plan = tune("plan", "--layout", str(layout), "--root", root)
    assert plan.returncode == 0, plan.stderr
    assert "write 0-1,4-15 to /proc/irq/100/smp_affinity_list" in plan.stdout
    assert "run ethtool -C eth0 rx-usecs 0" in plan.stdout
    assert 'edit /etc/default/grub: GRUB_CMDLINE_LINUX_DEFAULT="quiet isolcpus=managed_irq,domain,2-3' in plan.stdout
    assert "update-grub" in plan.stdout
    assert "write /etc/security/limits.d/99-fxpipe-memlock.conf" in plan.stdout

    tree = fake.tree()
    dry = tune("apply", "--layout", str(layout), "--root", root)
    assert dry.returncode == 0 and "dry run: nothing changed" in dry.stdout
    assert fake.tree() == tree

    applied = tune("apply", "--layout", str(layout), "--root", root, "--yes")
    assert applied.returncode == 0, applied.stderr
    assert "applied" in applied.stdout and "after a reboot" in applied.stdout
    assert (fake.root / "var/lib/fxpipe/tuning/snapshot.json").exists()
    assert tune("apply", "--layout", str(layout), "--root", root, "--yes").stdout.count("applied 0 change(s)") == 1

    fake.boot()
    after = tune("check", "--layout", str(layout), "--root", root, "--json")
    assert after.returncode == 0, [i["key"] for i in json.loads(after.stdout)["items"] if i["status"] != "ok"]

    dry_revert = tune("revert", "--root", root)
    assert "revert --yes would:" in dry_revert.stdout
    assert "write 0-15 to /proc/irq/100/smp_affinity_list" in dry_revert.stdout
    assert "run ethtool -C eth0 rx-usecs 8" in dry_revert.stdout
    assert "put back the original /etc/default/grub" in dry_revert.stdout
    assert "remove /etc/security/limits.d/99-fxpipe-memlock.conf (it did not exist)" in dry_revert.stdout
    reverted = tune("revert", "--root", root, "--yes")
    assert reverted.returncode == 0, reverted.stderr
    assert "reboot to return to the old kernel command line" in reverted.stdout
    fake.boot()
    end = json.loads(tune("check", "--layout", str(layout), "--root", root, "--json").stdout)
    # Transparent huge pages read back differently from a plain file than from the kernel
    # (see KERNEL_REWRITTEN); test_tuning_apply.py checks them with a kernel-like tree.
    strip = {"memory.thp.enabled", "memory.thp.defrag"}
    assert [i for i in end["items"] if i["key"] not in strip] == [i for i in start["items"] if i["key"] not in strip]


def test_check_text_lists_every_area(fake):
    r = tune("check", "--cores", "2-3", "--root", str(fake.root))
    for area in ("[kernel]", "[irq]", "[cpu]", "[memory]", "[network]"):
        assert area in r.stdout
    assert "differs  cpus 0-15 frequency governor" in r.stdout
    assert r.stdout.rstrip().endswith("0 unknown")


@pytest.mark.parametrize("args, message", [
    (["--cores", "2,40"], "trading core 40 is not an online core of this host (online cores: 0-15)"),
    (["--cores", "2-x"], "--cores: bad core list"),
    (["--cores", "0-15"], "no housekeeping core left"),
    (["--layout", "/nonexistent/layout.toml"], "layout file /nonexistent/layout.toml does not exist"),
    (["--cores", "2", "--nic", "eth9"], "NIC eth9 is not on this host (NICs: eth0)"),
])
def test_user_errors_are_one_clear_line(fake, args, message):
    r = tune("check", *args, "--root", str(fake.root))
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr


def test_root_that_is_not_a_directory(tmp_path):
    r = tune("check", "--cores", "1", "--root", str(tmp_path / "nope"))
    assert r.returncode == 2 and "is not a directory" in r.stderr


def test_tree_without_sys_says_so(tmp_path):
    r = tune("check", "--cores", "1", "--root", str(tmp_path))
    assert r.returncode == 2 and "cannot tell which cores are online" in r.stderr


def test_revert_with_nothing_to_revert(fake):
    assert "nothing to revert" in tune("revert", "--root", str(fake.root)).stdout
    r = tune("revert", "--root", str(fake.root), "--yes")
    assert r.returncode == 2 and "nothing to revert: there is no snapshot" in r.stderr


def test_a_refused_command_is_reported_and_rolled_back(fake):
    state = fake.root / "var/lib/fake-ethtool/eth0.json"
    doc = json.loads(state.read_text())
    doc["refuse"] = ["tx"]
    state.write_text(json.dumps(doc))
    tree = fake.tree(skip=KERNEL_REWRITTEN)
    r = tune("apply", "--cores", "2", "--root", str(fake.root), "--yes")
    assert r.returncode == 2
    assert "apply stopped at: run ethtool -G eth0 tx 8192" in r.stderr
    assert "rolled back: the host is as it was" in r.stderr
    assert fake.tree(skip=KERNEL_REWRITTEN) == tree


@needs_root
def test_apply_on_the_real_host_needs_root():
    python = nobody_python()
    r = tune("apply", "--cores", "0", "--yes", user=NOBODY, cwd="/", python=python)
    assert r.returncode == 2, r.stdout
    assert "needs root" in r.stderr
    r = tune("revert", "--yes", user=NOBODY, cwd="/", python=python)
    assert r.returncode == 2 and "needs root" in r.stderr


@needs_root
def test_no_permission_on_a_tree_leaves_it_as_it_was(world_readable_tmp):
    python = nobody_python()
    fake = FakeHost(world_readable_tmp / "root", cores=4, nics=[FakeNic("eth0", queues=1)])
    # The state directory is the unprivileged user's; the host files stay root's.
    state = fake.root / "var/lib/fxpipe/tuning"
    state.mkdir(parents=True)
    os.chown(state, NOBODY, NOBODY)
    tree = fake.tree()
    r = tune("apply", "--cores", "2", "--root", str(fake.root), "--yes", user=NOBODY, cwd="/", python=python)
    assert r.returncode == 2
    assert "no permission to write" in r.stderr and "run as root" in r.stderr
    assert fake.tree() == tree
    # check works without privileges and says what it could not read.
    r = tune("check", "--cores", "2", "--root", str(fake.root), user=NOBODY, cwd="/", python=python)
    assert "no permission to read /proc/812/environ" in r.stdout


def test_wrapper_script_runs_tune_on_its_own(fake):
    script = Path(__file__).resolve().parents[2] / "tuning" / "fxpipe-tune"
    env = dict(os.environ, FXPIPE_PYTHON=sys.executable)
    r = subprocess.run([str(script), "check", "--cores", "2", "--root", str(fake.root)], capture_output=True,
                       text=True, env=env, timeout=120)
    assert r.returncode == 1, r.stderr
    assert "[kernel]" in r.stdout
    r = subprocess.run([str(script), "check", "--cores", "99", "--root", str(fake.root)], capture_output=True,
                       text=True, env=env, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("fxpipe tune: --cores 99: trading core 99")


def test_user_option_beats_the_layout(fake, tmp_path):
    layout = tmp_path / "layout.toml"
    layout.write_text("[cores]\ntrading = [2]\n[tuning]\nuser = \"fxpipe\"\n")
    doc = json.loads(tune("check", "--layout", str(layout), "--root", str(fake.root), "--json").stdout)
    assert [i["title"] for i in doc["items"] if i["key"] == "memory.memlock"] == ["memlock limit of user fxpipe"]
    doc = json.loads(tune("check", "--layout", str(layout), "--user", "ops", "--root", str(fake.root),
                          "--json").stdout)
    assert [i["title"] for i in doc["items"] if i["key"] == "memory.memlock"] == ["memlock limit of user ops"]
