"""The boot loader config: GRUB files and /etc/kernel/cmdline merged without losing anything."""
from fxpipe.tuning.boot import merge, plan_boot
from fxpipe.tuning.host import Host

WANTED = [("isolcpus", "managed_irq,domain,2-5"), ("nohz_full", "2-5"), ("transparent_hugepage", "never")]


def _host(tmp_path, files):
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return Host(tmp_path)


def test_merge_keeps_foreign_parameters_in_place_and_is_idempotent():
    tokens = ["quiet", "isolcpus=1", "splash", "nohz_full=2-5"]
    once = merge(tokens, WANTED)
    assert once == ["quiet", "splash", "nohz_full=2-5", "isolcpus=managed_irq,domain,2-5",
                    "transparent_hugepage=never"]
    assert merge(once, WANTED) == once


def test_merge_keeps_a_managed_parameter_spelled_differently_but_equal():
    tokens = ["isolcpus=domain,managed_irq,2,3,4,5", "nohz_full=2,3,4,5", "transparent_hugepage=never"]
    assert merge(tokens, WANTED) == tokens


def test_merge_drops_duplicates_of_a_managed_parameter():
    assert merge(["nohz_full=2-5", "nohz_full=3"], [("nohz_full", "2-5")]) == ["nohz_full=2-5"]


def test_grub_default_line_is_edited(tmp_path):
    host = _host(tmp_path, {"etc/default/grub": 'GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT="quiet splash"\n'
                                                'GRUB_CMDLINE_LINUX=""\n'})
    plan = plan_boot(host, WANTED, None)
    assert plan.path == "/etc/default/grub" and not plan.problem
    assert plan.current == "quiet splash"
    assert plan.content == ('GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT="quiet splash isolcpus=managed_irq,domain,2-5 '
                            'nohz_full=2-5 transparent_hugepage=never"\nGRUB_CMDLINE_LINUX=""\n')
    assert "update-grub" in plan.next_step and "reboot" in plan.next_step


def test_grub_edit_twice_is_the_same(tmp_path):
    host = _host(tmp_path, {"etc/default/grub": "GRUB_CMDLINE_LINUX_DEFAULT='quiet'\n"})
    first = plan_boot(host, WANTED, None)
    (tmp_path / "etc/default/grub").write_text(first.content)
    second = plan_boot(host, WANTED, None)
    assert second.current == second.wanted
    assert second.content == first.content


def test_grub_without_default_line_gets_one(tmp_path):
    host = _host(tmp_path, {"etc/default/grub": "GRUB_TIMEOUT=5"})
    plan = plan_boot(host, WANTED, None)
    assert plan.content.endswith('GRUB_CMDLINE_LINUX_DEFAULT="isolcpus=managed_irq,domain,2-5 nohz_full=2-5 '
                                 'transparent_hugepage=never"\n')
    assert plan.content.startswith("GRUB_TIMEOUT=5\n")


def test_grub_d_file_that_sets_the_default_is_the_one_edited(tmp_path):
    host = _host(tmp_path, {
        "etc/default/grub": 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n',
        "etc/default/grub.d/50-cloudimg-settings.cfg": 'GRUB_CMDLINE_LINUX_DEFAULT="console=ttyS0"\n',
    })
    plan = plan_boot(host, WANTED, None)
    assert plan.path == "/etc/default/grub.d/50-cloudimg-settings.cfg"
    assert plan.current == "console=ttyS0"


def test_managed_parameter_in_grub_cmdline_linux_is_moved(tmp_path):
    host = _host(tmp_path, {"etc/default/grub": 'GRUB_CMDLINE_LINUX="console=ttyS0 isolcpus=1"\n'
                                                'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n'})
    plan = plan_boot(host, WANTED, None)
    assert 'GRUB_CMDLINE_LINUX="console=ttyS0"' in plan.content
    assert plan.current == "console=ttyS0 isolcpus=1 quiet"
    assert "isolcpus=1" not in plan.wanted


def test_shell_expansion_is_reported_not_guessed(tmp_path):
    host = _host(tmp_path, {"etc/default/grub": 'GRUB_CMDLINE_LINUX_DEFAULT="$EXTRA quiet"\n'})
    plan = plan_boot(host, WANTED, None)
    assert plan.current is None and plan.content is None
    assert "not a plain quoted value" in plan.problem


def test_two_assignments_are_reported(tmp_path):
    host = _host(tmp_path, {"etc/default/grub": 'GRUB_CMDLINE_LINUX_DEFAULT="a"\nGRUB_CMDLINE_LINUX_DEFAULT="b"\n'})
    plan = plan_boot(host, WANTED, None)
    assert "assigned 2 times" in plan.problem


def test_kernel_cmdline_file(tmp_path):
    host = _host(tmp_path, {"etc/kernel/cmdline": "root=UUID=1 ro quiet nohz_full=7\n"})
    plan = plan_boot(host, WANTED, None)
    assert plan.path == "/etc/kernel/cmdline"
    assert plan.content == ("root=UUID=1 ro quiet isolcpus=managed_irq,domain,2-5 nohz_full=2-5 "
                            "transparent_hugepage=never\n")
    assert "kernel-install" in plan.next_step


def test_no_boot_config_is_unknown_with_advice(tmp_path):
    plan = plan_boot(Host(tmp_path), WANTED, None)
    assert plan.path is None and plan.current is None
    assert "no boot loader config found" in plan.problem


def test_boot_config_named_in_the_layout_must_exist(tmp_path):
    plan = plan_boot(Host(tmp_path), WANTED, "/boot/custom/cmdline")
    assert plan.current is None and "missing /boot/custom/cmdline" in plan.problem
