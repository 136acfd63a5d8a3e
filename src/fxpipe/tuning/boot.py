"""The boot loader config that carries kernel parameters to the next boot, read and merged.

Two kinds are understood: GRUB's /etc/default/grub (plus the /etc/default/grub.d/*.cfg files
sourced after it, where cloud images often set GRUB_CMDLINE_LINUX_DEFAULT) and the single-line
/etc/kernel/cmdline of kernel-install, systemd-boot and Proxmox. The merge keeps every parameter
fxpipe does not manage where it is, keeps a managed one that already has the wanted value, and
replaces the rest, so merging twice changes nothing. Shell tricks in the GRUB file (variables,
command substitution, several assignments) are reported, not guessed at.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from fxpipe.tuning.host import Host
from fxpipe.tuning.values import same

GRUB = "/etc/default/grub"
GRUB_D = "/etc/default/grub.d"
KERNEL_CMDLINE = "/etc/kernel/cmdline"

# How each managed parameter's value compares; the rest compare as text.
PARAM_FMT = {"isolcpus": "isolcpus", "nohz_full": "cpulist", "rcu_nocbs": "cpulist", "irqaffinity": "cpulist"}

_ASSIGN = re.compile(r"^(\s*(?:export\s+)?)(GRUB_CMDLINE_LINUX(?:_DEFAULT)?)=(.*?)\s*$")

GRUB_NEXT = ("then run update-grub (Debian, Ubuntu) or grub2-mkconfig -o /boot/grub2/grub.cfg "
             "(RHEL, Fedora), and reboot")
KERNEL_CMDLINE_NEXT = ("then rebuild the boot entries (kernel-install add, or proxmox-boot-tool "
                       "refresh), and reboot")


@dataclass
class BootPlan:
    path: str | None  # the file to edit; None when no boot loader config was found
    current: str | None  # parameters the next boot gets from this config; None when unknown
    wanted: str
    content: str | None  # the file after the merge
    summary: str  # the edited line, for plan
    next_step: str
    problem: str = ""  # why the config cannot be edited safely


def param_key(token: str) -> str:
    return token.partition("=")[0]


def same_param(key: str, current: str, wanted: str) -> bool:
    return same(PARAM_FMT.get(key, "text"), current, wanted)


def merge(tokens: list[str], wanted: list[tuple[str, str]]) -> list[str]:
    """Tokens with each wanted parameter set once, everything else untouched and in order."""
    wanted_map = dict(wanted)
    kept: set[str] = set()
    out: list[str] = []
    for token in tokens:
        key, _, value = token.partition("=")
        if key in wanted_map:
            if key not in kept and "=" in token and same_param(key, value, wanted_map[key]):
                out.append(token)
                kept.add(key)
            continue
        out.append(token)
    out.extend(f"{key}={value}" for key, value in wanted if key not in kept)
    return out


def plan_boot(host: Host, wanted: list[tuple[str, str]], override: str | None) -> BootPlan:
    path = override or (GRUB if host.exists(GRUB) else KERNEL_CMDLINE if host.exists(KERNEL_CMDLINE) else None)
    wanted_text = " ".join(f"{k}={v}" for k, v in wanted)
    if path is None:
        return BootPlan(None, None, wanted_text, None, "", "", problem=(
            f"no boot loader config found (looked for {GRUB} and {KERNEL_CMDLINE}); add the parameters "
            f"to the boot loader by hand"))
    if path == KERNEL_CMDLINE or path.endswith("/cmdline"):
        return _plan_kernel_cmdline(host, path, wanted)
    return _plan_grub(host, path, wanted)


def _plan_kernel_cmdline(host: Host, path: str, wanted: list[tuple[str, str]]) -> BootPlan:
    text, why = host.read_or_reason(path)
    wanted_text = " ".join(f"{k}={v}" for k, v in wanted)
    if text is None:
        return BootPlan(path, None, wanted_text, None, "", KERNEL_CMDLINE_NEXT, problem=why)
    tokens = text.split()
    merged = merge(tokens, wanted)
    new = " ".join(merged)
    return BootPlan(path, " ".join(tokens), new, new + "\n", new, KERNEL_CMDLINE_NEXT)


def _unquote(raw: str) -> str | None:
    """The value of a shell assignment when it is a plain literal, else None."""
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        inner = raw[1:-1]
        if raw[0] == "'" and "'" not in inner:
            return inner
        if raw[0] == '"' and not any(c in inner for c in '"$`\\'):
            return inner
        return None
    if not any(c in raw for c in " \t\"'$`\\;&|"):
        return raw
    return None


def _assignments(lines: list[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        m = _ASSIGN.match(line)
        if m:
            found.setdefault(m.group(2), []).append(i)
    return found


def _matched(line: str) -> re.Match[str]:
    # Only called on lines _assignments() picked, so the pattern matches.
    m = _ASSIGN.match(line)
    assert m is not None
    return m


def _plan_grub(host: Host, main: str, wanted: list[tuple[str, str]]) -> BootPlan:
    wanted_text = " ".join(f"{k}={v}" for k, v in wanted)

    def unknown(problem: str, path: str = main) -> BootPlan:
        return BootPlan(path, None, wanted_text, None, "", GRUB_NEXT, problem=problem)

    # GRUB sources the main file, then grub.d/*.cfg in order: the last assignment wins.
    files = [main] + ([f"{GRUB_D}/{n}" for n in host.listdir(GRUB_D) if n.endswith(".cfg")] if main == GRUB else [])
    texts: dict[str, list[str]] = {}
    for f in files:
        text, why = host.read_or_reason(f)
        if text is None:
            return unknown(why, f)
        texts[f] = host.path(f).read_text(encoding="utf-8").splitlines()
    last: dict[str, str] = {}
    for f in files:
        for var in _assignments(texts[f]):
            last[var] = f
    target = last.get("GRUB_CMDLINE_LINUX_DEFAULT", main)
    lines = texts[target]
    where = _assignments(lines)
    for var in ("GRUB_CMDLINE_LINUX_DEFAULT", "GRUB_CMDLINE_LINUX"):
        if len(where.get(var, [])) > 1:
            return unknown(f"{var} is assigned {len(where[var])} times in {target}; leave one and run again",
                           target)

    def value_of(f: str, var: str) -> tuple[list[str], str]:
        idx = _assignments(texts[f])[var][-1]
        raw = _matched(texts[f][idx]).group(3)
        literal = _unquote(raw)
        if literal is None:
            return [], f"{var} in {f} is not a plain quoted value ({raw}); edit it by hand"
        return literal.split(), ""

    linux_tokens: list[str] = []
    if "GRUB_CMDLINE_LINUX" in last:
        linux_tokens, problem = value_of(last["GRUB_CMDLINE_LINUX"], "GRUB_CMDLINE_LINUX")
        if problem:
            return unknown(problem, last["GRUB_CMDLINE_LINUX"])
    default_tokens: list[str] = []
    if "GRUB_CMDLINE_LINUX_DEFAULT" in last:
        default_tokens, problem = value_of(target, "GRUB_CMDLINE_LINUX_DEFAULT")
        if problem:
            return unknown(problem, target)
    managed = {k for k, _ in wanted}
    clashing = [t for t in linux_tokens if param_key(t) in managed]
    new_linux = [t for t in linux_tokens if param_key(t) not in managed]
    if clashing and last["GRUB_CMDLINE_LINUX"] != target:
        return unknown(f"GRUB_CMDLINE_LINUX in {last['GRUB_CMDLINE_LINUX']} sets {' '.join(clashing)}; remove "
                       f"them there (fxpipe sets them in GRUB_CMDLINE_LINUX_DEFAULT of {target})", target)
    new_default = merge(default_tokens, wanted)
    new_lines = list(lines)
    default_line = f'GRUB_CMDLINE_LINUX_DEFAULT="{" ".join(new_default)}"'
    if "GRUB_CMDLINE_LINUX_DEFAULT" in where:
        idx = where["GRUB_CMDLINE_LINUX_DEFAULT"][0]
        prefix = _matched(lines[idx]).group(1)
        new_lines[idx] = prefix + default_line
    else:
        new_lines.append(default_line)
    if clashing:
        idx = where["GRUB_CMDLINE_LINUX"][0]
        prefix = _matched(lines[idx]).group(1)
        new_lines[idx] = prefix + f'GRUB_CMDLINE_LINUX="{" ".join(new_linux)}"'
    summary = default_line + (f' and GRUB_CMDLINE_LINUX="{" ".join(new_linux)}"' if clashing else "")
    return BootPlan(target, " ".join(linux_tokens + default_tokens), " ".join(new_linux + new_default),
                    "\n".join(new_lines) + "\n", summary, GRUB_NEXT)
