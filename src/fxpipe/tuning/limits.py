"""The memlock limit of the user that runs fxpipe, as pam_limits will set it at the next login.

A stage that mlocks its rings and heap never takes a major page fault; the default limit (8 MiB
on most distributions) is far too small for that. pam_limits reads /etc/security/limits.conf
and then /etc/security/limits.d/*.conf in name order; an entry for the user beats one for a
group, which beats the "*" wildcard, and among equals the last one read wins. fxpipe's own file
is named to be read last. A systemd service does not go through pam_limits: give it
LimitMEMLOCK=infinity in its unit instead.
"""
from __future__ import annotations

from fxpipe.tuning.host import Host
from fxpipe.tuning.model import EditFile, Item

LIMITS = "/etc/security/limits.conf"
LIMITS_D = "/etc/security/limits.d"
FXPIPE_FILE = f"{LIMITS_D}/99-fxpipe-memlock.conf"
WANTED = "soft=unlimited hard=unlimited"


def _groups_of(host: Host, user: str) -> set[str]:
    """Group names the user belongs to, from /etc/group and the primary group in /etc/passwd."""
    groups: set[str] = set()
    primary_gid = None
    text, _ = host.read_or_reason("/etc/passwd")
    for line in (text or "").splitlines():
        fields = line.split(":")
        if len(fields) > 3 and fields[0] == user:
            primary_gid = fields[3]
    text, _ = host.read_or_reason("/etc/group")
    for line in (text or "").splitlines():
        fields = line.split(":")
        if len(fields) > 3 and (user in fields[3].split(",") or fields[2] == primary_gid):
            groups.add(fields[0])
    return groups


def effective_memlock(host: Host, user: str) -> tuple[dict[str, str], list[str]]:
    """{"soft": value, "hard": value} pam_limits would set, and the files it was read from."""
    groups = _groups_of(host, user)
    best: dict[str, tuple[int, str]] = {}  # type -> (rank of the domain, value)
    files = [LIMITS] + [f"{LIMITS_D}/{n}" for n in host.listdir(LIMITS_D) if n.endswith(".conf")]
    used = []
    for path in files:
        text, _ = host.read_or_reason(path)
        for line in (text or "").splitlines():
            fields = line.split("#", 1)[0].split()
            if len(fields) != 4 or fields[2] != "memlock":
                continue
            domain, kind, _, value = fields
            rank = 3 if domain == user else 2 if domain[:1] == "@" and domain[1:] in groups else \
                1 if domain == "*" else 0
            if not rank:
                continue
            kinds = ("soft", "hard") if kind == "-" else (kind,)
            for k in kinds:
                if k in ("soft", "hard") and rank >= best.get(k, (0, ""))[0]:
                    best[k] = (rank, "unlimited" if value in ("unlimited", "infinity", "-1") else value)
                    if path not in used:
                        used.append(path)
    return {k: v for k, (_, v) in best.items()}, used


def memlock_item(host: Host, user: str) -> Item:
    limits, used = effective_memlock(host, user)
    current = f"soft={limits.get('soft', 'default')} hard={limits.get('hard', 'default')}"
    note = f"from {', '.join(used)}" if used else "no memlock entry: the distribution default applies"
    action = None
    if host.exists(LIMITS_D):
        content = (f"# Written by fxpipe tune apply: lets {user} lock fxpipe's memory (mlock).\n"
                   f"{user} soft memlock unlimited\n{user} hard memlock unlimited\n")
        action = EditFile(path=FXPIPE_FILE, content=content, summary="")
    else:
        note += f"; {LIMITS_D} is missing, add the entries to {LIMITS} by hand"
    return Item(key="memory.memlock", area="memory", title=f"memlock limit of user {user}", wanted=WANTED,
                current=current, action=action, note=note)
