"""Builds fake hosts for the tuning tests: a /proc, /sys and /etc tree, plus ethtool and systemctl.

A FakeHost lays out what the tuning package reads on a real Linux box: online cores, SMT
siblings, NUMA nodes, cpufreq and cpuidle, NICs with MSI vectors and queues (mlx5-style PCI
functions, virtio devices whose vectors sit on the PCI function above, ixgbe-style names in
/proc/interrupts), sysctls, transparent huge pages, workqueue masks, GRUB or /etc/kernel/cmdline,
irqbalance (its config file and a running process with an environment) and limits.conf.
ethtool and systemctl are small executables inside the tree that keep their state in it, so
the code under test runs real commands yet never touches the real host. `boot()` plays the one
part of a reboot the tests need: the kernel starts with the command line of the boot config.
"""
from __future__ import annotations

import errno
import json
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from fxpipe.tuning.host import Host
from fxpipe.tuning.values import format_cpulist, parse_cpulist

STATE_EXCLUDED = ("var/lib/fxpipe", "var/log")
# Files the kernel rewrites on a write (the option list with the new choice in brackets); as
# plain files they read back what was written. FakeKernel emulates them in-process; a test that
# runs the command as a process compares the tree without them.
KERNEL_REWRITTEN = ("sys/kernel/mm/transparent_hugepage/enabled", "sys/kernel/mm/transparent_hugepage/defrag")


def mask(cores, ncpu: int) -> str:
    """A cpumask padded as the kernel prints it for ncpu possible cores."""
    value = 0
    for c in cores:
        value |= 1 << c
    nwords = max(1, (ncpu + 31) // 32)
    words = [(value >> (32 * i)) & 0xFFFFFFFF for i in reversed(range(nwords))]
    digits_first = min(8, max(1, ((ncpu - 32 * (nwords - 1)) + 3) // 4))
    return ",".join([f"{words[0]:0{digits_first}x}"] + [f"{w:08x}" for w in words[1:]])


@dataclass
class FakeNic:
    name: str
    queues: int = 4
    driver: str = "mlx5"  # "mlx5", "virtio" or "ixgbe": where the IRQs are found and how named
    numa_node: int = 0
    coalesce: dict = field(default_factory=lambda: {"adaptive-rx": "on", "adaptive-tx": "on", "rx-usecs": "8"})
    rings_max: tuple[int, int] = (8192, 8192)
    rings: tuple[int, int] = (1024, 1024)


_ETHTOOL = '''#!{python}
"""Fake ethtool: -c/-C (coalescing) and -g/-G (rings) over a JSON state file in the tree."""
import json, sys
from pathlib import Path
state_dir = Path(__file__).resolve().parents[2] / "var/lib/fake-ethtool"
flag, nic, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
path = state_dir / (nic + ".json")
if not path.exists():
    sys.exit("netlink error: no device matches name: " + nic)
st = json.loads(path.read_text())
if flag == "-c":
    c = st["coalesce"]
    print("Coalesce parameters for %s:" % nic)
    print("Adaptive RX: %s  TX: %s" % (c.get("adaptive-rx", "n/a"), c.get("adaptive-tx", "n/a")))
    print("stats-block-usecs: n/a")
    for k in ("rx-usecs", "rx-frames", "tx-usecs", "tx-frames"):
        print("%s: %s" % (k, c.get(k, "n/a")))
elif flag == "-g":
    print("Ring parameters for %s:" % nic)
    print("Pre-set maximums:")
    print("RX:\\t\\t%s\\nRX Mini:\\tn/a\\nRX Jumbo:\\tn/a\\nTX:\\t\\t%s" % tuple(st["rings_max"]))
    print("Current hardware settings:")
    print("RX:\\t\\t%s\\nRX Mini:\\tn/a\\nRX Jumbo:\\tn/a\\nTX:\\t\\t%s" % tuple(st["rings"]))
elif flag in ("-C", "-G"):
    for k, v in zip(rest[::2], rest[1::2]):
        if k in st.get("refuse", []):
            sys.exit("netlink error: Invalid argument")
        if flag == "-C":
            if st["coalesce"].get(k, "n/a") == "n/a":
                sys.exit("netlink error: Operation not supported")
            st["coalesce"][k] = v
        else:
            i = {{"rx": 0, "tx": 1}}[k]
            if int(v) > st["rings_max"][i]:
                sys.exit("netlink error: Invalid argument")
            st["rings"][i] = int(v)
    path.write_text(json.dumps(st))
else:
    sys.exit("fake ethtool: unsupported " + flag)
'''

_SYSTEMCTL = '''#!{python}
"""Fake systemctl: try-restart irqbalance.service re-reads the ban into the process environment."""
import re, sys
from pathlib import Path
root = Path(__file__).resolve().parents[2]
with open(root / "var/log/fake-systemctl.log", "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
if (root / "var/lib/fake-systemctl-refuse").exists():
    sys.exit("Failed to restart irqbalance.service: Unit irqbalance.service failed")
if sys.argv[1:] == ["try-restart", "irqbalance.service"]:
    pid = (root / "run/fake-irqbalance.pid").read_text().strip()
    banned = ""
    for line in (root / "etc/default/irqbalance").read_text().splitlines():
        m = re.match(r"\\s*IRQBALANCE_BANNED_CPULIST=(.*)$", line)
        if m:
            banned = m.group(1).strip().strip('"')
    env = b"PATH=/usr/sbin:/usr/bin\\0" + (b"IRQBALANCE_BANNED_CPULIST=" + banned.encode() + b"\\0" if banned else b"")
    (root / "proc" / pid / "environ").write_bytes(env)
'''

GRUB_DEFAULT = """# If you change this file, run 'update-grub' afterwards to update
# /boot/grub/grub.cfg.
GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX="console=ttyS0,115200"
"""


class FakeHost:
    """A fake host tree under `root`; see the module docstring for what it holds."""

    def __init__(self, root: Path, cores: int = 16, smt: bool = False, nodes: int = 1, nics=None,
                 vendor: str = "GenuineIntel", boot: str | None = "grub", ethtool: bool = True,
                 irqbalance: str | None = "running", cpufreq: bool = True, idle_states: bool = True,
                 cmdline: str = "BOOT_IMAGE=/boot/vmlinuz-6.1.0 root=/dev/sda1 ro console=ttyS0,115200 quiet"):
        self.root = Path(root)
        self.ncpu = cores
        self.smt = smt
        self.nodes = nodes
        self.nics = list(nics if nics is not None else [FakeNic("eth0")])
        self.vendor = vendor
        self.boot_kind = boot
        self.cmdline = cmdline
        self.phys = cores // 2 if smt else cores
        self._irq = 100
        self.irq_names: dict[int, str] = {24: "timer", 25: "ahci[0000:00:17.0]"}
        self._build_cpus(cpufreq, idle_states)
        self._build_nics()
        self._build_proc()
        self._build_etc(boot, irqbalance)
        self._build_bins(ethtool, irqbalance)

    # ---- helpers -------------------------------------------------------------------------------

    def write(self, rel: str, text: str | bytes, mode: int = 0o644) -> Path:
        path = self.root / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        os.chmod(path, mode)
        return path

    def read(self, rel: str) -> str:
        return (self.root / rel.lstrip("/")).read_text()

    def node_of(self, cpu: int) -> int:
        return (cpu % self.phys) * self.nodes // self.phys

    def siblings(self, cpu: int) -> list[int]:
        if not self.smt:
            return [cpu]
        first = cpu % self.phys
        return [first, first + self.phys]

    # ---- build ---------------------------------------------------------------------------------

    def _build_cpus(self, cpufreq: bool, idle_states: bool) -> None:
        base = "sys/devices/system/cpu"
        every = format_cpulist(range(self.ncpu))
        for name in ("online", "present", "possible"):
            self.write(f"{base}/{name}", every + "\n")
        self.write(f"{base}/isolated", "\n")
        self.write(f"{base}/nohz_full", "(null)\n")
        self.write(f"{base}/smt/control", "on\n" if self.smt else "notsupported\n")
        if cpufreq and self.vendor == "GenuineIntel":
            self.write(f"{base}/intel_pstate/no_turbo", "0\n")
        elif cpufreq:
            self.write(f"{base}/cpufreq/boost", "1\n")
        for cpu in range(self.ncpu):
            c = f"{base}/cpu{cpu}"
            if cpu:
                self.write(f"{c}/online", "1\n")
            self.write(f"{c}/topology/thread_siblings_list", format_cpulist(self.siblings(cpu)) + "\n")
            self.write(f"{c}/topology/core_id", f"{cpu % self.phys}\n")
            if cpufreq:
                self.write(f"{c}/cpufreq/scaling_governor", "powersave\n")
                self.write(f"{c}/cpufreq/scaling_available_governors", "performance powersave\n")
            if idle_states:
                for i, (name, latency) in enumerate((("POLL", 0), ("C1", 2), ("C1E", 10), ("C6", 133))):
                    self.write(f"{c}/cpuidle/state{i}/name", name + "\n")
                    self.write(f"{c}/cpuidle/state{i}/latency", f"{latency}\n")
                    self.write(f"{c}/cpuidle/state{i}/disable", "0\n")
        for node in range(self.nodes):
            cpus = [c for c in range(self.ncpu) if self.node_of(c) == node]
            self.write(f"sys/devices/system/node/node{node}/cpulist", format_cpulist(cpus) + "\n")

    def _build_nics(self) -> None:
        all_cpus = format_cpulist(range(self.ncpu))
        for index, nic in enumerate(self.nics):
            pci = f"sys/devices/pci0000:00/0000:{0x3b + index:02x}:00.0"
            if nic.driver == "virtio":
                device = f"{pci}/virtio{index}"
                self.write(f"{device}/vendor", "0x1af4\n")
                names = [f"virtio{index}-config"] + [f"virtio{index}-{d}.{q}" for q in range(nic.queues)
                                                      for d in ("input", "output")]
            elif nic.driver == "ixgbe":
                device = pci
                names = [f"{nic.name}-TxRx-{q}" for q in range(nic.queues)] + [nic.name]
            else:
                device = pci
                names = ["mlx5_async0@pci:0000:%02x:00.0" % (0x3b + index)] + [
                    f"mlx5_comp{q}@pci:0000:{0x3b + index:02x}:00.0" for q in range(nic.queues)]
            self.write(f"{pci}/vendor", "0x15b3\n")
            self.write(f"{pci}/numa_node", f"{nic.numa_node}\n")
            if nic.driver != "ixgbe":
                self.write(f"{pci}/irq", "16\n")
            for name in names:
                irq = self._irq
                self._irq += 1
                self.irq_names[irq] = name
                if nic.driver != "ixgbe":
                    self.write(f"{pci}/msi_irqs/{irq}", "msix\n")
            (self.root / "sys/class/net" / nic.name).mkdir(parents=True, exist_ok=True)
            os.symlink(os.path.relpath(self.root / device, self.root / "sys/class/net" / nic.name),
                       self.root / "sys/class/net" / nic.name / "device")
            for q in range(nic.queues):
                self.write(f"sys/class/net/{nic.name}/queues/rx-{q}/rps_cpus", mask([], self.ncpu) + "\n")
                self.write(f"sys/class/net/{nic.name}/queues/tx-{q}/xps_cpus", mask([q % self.ncpu], self.ncpu) + "\n")
            self.write(f"var/lib/fake-ethtool/{nic.name}.json", json.dumps({
                "coalesce": dict(nic.coalesce), "rings_max": list(nic.rings_max), "rings": list(nic.rings)}))
        # A virtual interface without a device: never a NIC to tune.
        (self.root / "sys/class/net/lo").mkdir(parents=True, exist_ok=True)
        for irq in self.irq_names:
            self.write(f"proc/irq/{irq}/smp_affinity_list", all_cpus + "\n")
        self.write("proc/irq/default_smp_affinity", mask(range(self.ncpu), self.ncpu) + "\n")

    def _build_proc(self) -> None:
        self.write("proc/cmdline", self.cmdline + "\n")
        self.write("proc/cpuinfo", "".join(f"processor\t: {c}\nvendor_id\t: {self.vendor}\n\n"
                                           for c in range(self.ncpu)))
        header = " " * 11 + "".join(f"CPU{c:<8}" for c in range(self.ncpu))
        lines = [header]
        for irq, name in sorted(self.irq_names.items()):
            counts = "".join(f"{0:>11}" for _ in range(self.ncpu))
            lines.append(f"{irq:>4}:{counts}  PCI-MSIX-0000:3b:00.0  {irq}-edge      {name}")
        lines.append("NMI:" + "".join(f"{0:>11}" for _ in range(self.ncpu)) + "   Non-maskable interrupts")
        self.write("proc/interrupts", "\n".join(lines) + "\n")
        for name, value in (("vm/swappiness", "60"), ("vm/stat_interval", "1"),
                            ("kernel/sched_rt_runtime_us", "950000"), ("kernel/timer_migration", "1"),
                            ("kernel/numa_balancing", "1" if self.nodes > 1 else "0"),
                            ("net/core/busy_read", "0"), ("net/core/busy_poll", "0")):
            self.write(f"proc/sys/{name}", value + "\n")
        self.write("sys/kernel/mm/transparent_hugepage/enabled", "[always] madvise never\n")
        self.write("sys/kernel/mm/transparent_hugepage/defrag", "always defer defer+madvise [madvise] never\n")
        full = mask(range(self.ncpu), self.ncpu)
        self.write("sys/devices/virtual/workqueue/cpumask", full + "\n")
        self.write("sys/bus/workqueue/devices/writeback/cpumask", full + "\n")
        self.write("proc/1/comm", "systemd\n")
        self.write("proc/1/environ", b"PATH=/usr/sbin:/usr/bin\0")

    def _build_etc(self, boot: str | None, irqbalance: str | None) -> None:
        if boot == "grub":
            self.write("etc/default/grub", GRUB_DEFAULT)
        elif boot == "kernel-cmdline":
            self.write("etc/kernel/cmdline", "root=UUID=1234 ro quiet\n")
        if irqbalance:
            self.write("etc/default/irqbalance", "# Configuration for the irqbalance daemon\n"
                                                "#IRQBALANCE_ONESHOT=\nENABLED=\"1\"\n")
        self.write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\nfxpipe:x:1001:1001::/home/fxpipe:/bin/bash\n")
        self.write("etc/group", "root:x:0:\nfxpipe:x:1001:\ntraders:x:1002:fxpipe\n")
        self.write("etc/security/limits.conf", "# /etc/security/limits.conf\n#<domain> <type> <item> <value>\n"
                                               "*               soft    core            0\n")
        (self.root / "etc/security/limits.d").mkdir(parents=True, exist_ok=True)
        (self.root / "var/log").mkdir(parents=True, exist_ok=True)

    def _build_bins(self, ethtool: bool, irqbalance: str | None) -> None:
        if ethtool:
            self.write("usr/sbin/ethtool", _ETHTOOL.format(python=sys.executable), 0o755)
        self.write("usr/bin/systemctl", _SYSTEMCTL.format(python=sys.executable), 0o755)
        if irqbalance:
            self.write("usr/sbin/irqbalance", "#!/bin/sh\nexit 0\n", 0o755)
        if irqbalance == "running":
            self.write("run/fake-irqbalance.pid", "812\n")
            self.write("proc/812/comm", "irqbalance\n")
            self.write("proc/812/environ", b"PATH=/usr/sbin:/usr/bin\0", 0o400)

    # ---- what a test does with it --------------------------------------------------------------

    def boot(self) -> None:
        """Start the kernel with the boot config's command line, as a reboot would."""
        if self.boot_kind == "grub":
            params = []
            for line in self.read("etc/default/grub").splitlines():
                for var in ("GRUB_CMDLINE_LINUX=", "GRUB_CMDLINE_LINUX_DEFAULT="):
                    if line.startswith(var):
                        params.append((var, shlex.split(line[len(var):])[0] if line[len(var):] else ""))
            order = {"GRUB_CMDLINE_LINUX=": 0, "GRUB_CMDLINE_LINUX_DEFAULT=": 1}
            extra = " ".join(v for _, v in sorted(params, key=lambda p: order[p[0]]))
            cmdline = f"BOOT_IMAGE=/boot/vmlinuz-6.1.0 root=/dev/sda1 ro {extra}"
        else:
            cmdline = "BOOT_IMAGE=/boot/vmlinuz-6.1.0 " + self.read("etc/kernel/cmdline").strip()
        self.write("proc/cmdline", cmdline + "\n")
        params = dict(t.partition("=")[::2] for t in cmdline.split())
        isolated = params.get("isolcpus", "")
        cores = ",".join(p for p in isolated.split(",") if p and not p[0].isalpha())
        self.write("sys/devices/system/cpu/isolated", format_cpulist(parse_cpulist(cores)) + "\n")
        nohz = params.get("nohz_full", "")
        self.write("sys/devices/system/cpu/nohz_full", (nohz or "(null)") + "\n")

    def tree(self, skip: tuple[str, ...] = ()) -> dict[str, object]:
        """Every file, link and mode of the tree, for before/after equality (state files excluded)."""
        out: dict[str, object] = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel_dir = os.path.relpath(dirpath, self.root)
            if any(rel_dir == e or rel_dir.startswith(e + "/") for e in STATE_EXCLUDED):
                continue
            for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                path = os.path.join(dirpath, name)
                rel = os.path.normpath(os.path.join(rel_dir, name))
                if rel in skip:
                    continue
                if os.path.islink(path):
                    out[rel] = ("link", os.readlink(path))
                else:
                    with open(path, "rb") as f:
                        out[rel] = (f.read(), os.stat(path).st_mode & 0o7777)
        return out


class FakeKernel(Host):
    """A Host over a FakeHost tree that answers writes the way the kernel does, where it matters.

    A bracketed choice file (transparent huge pages) takes one of its options and shows the
    list again with the new one in brackets, refusing anything else with EINVAL; taking a cpu
    offline or online updates the online list and the SMT siblings' thread_siblings_list.
    """

    def __init__(self, fake: FakeHost):
        super().__init__(fake.root)
        self.fake = fake

    def _write_raw(self, local, data):
        rel = "/" + str(Path(local).relative_to(self.root))
        value = data.strip()
        if rel.startswith("/sys/kernel/mm/transparent_hugepage/"):
            options = Path(local).read_text().replace("[", "").replace("]", "").split()
            if value not in options:
                raise OSError(errno.EINVAL, "Invalid argument")
            data = " ".join(f"[{o}]" if o == value else o for o in options) + "\n"
        super()._write_raw(local, data)
        m = re.fullmatch(r"/sys/devices/system/cpu/cpu(\d+)/online", rel)
        if m:
            self._hotplug(int(m.group(1)), value == "1")

    def _hotplug(self, cpu: int, online: bool) -> None:
        listed = parse_cpulist(self.fake.read("sys/devices/system/cpu/online"))
        listed = listed | {cpu} if online else listed - {cpu}
        self.fake.write("sys/devices/system/cpu/online", format_cpulist(listed) + "\n")
        for other in self.fake.siblings(cpu):
            if other in listed:
                siblings = [s for s in self.fake.siblings(other) if s in listed]
                self.fake.write(f"sys/devices/system/cpu/cpu{other}/topology/thread_siblings_list",
                                format_cpulist(siblings) + "\n")
