"""The operator's message log holds every message sent or processed, even when the process is
killed the next instant (it is what people read after an incident), and is private (0600)."""
import os
import subprocess
import sys
import textwrap

from fxpipe.fix.session.msglog import MessageLog

CHILD_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


def test_message_log_keeps_every_line_when_the_process_is_killed(tmp_path):
    code = textwrap.dedent(f"""
        import os, signal
        from fxpipe.fix.session.msglog import MessageLog
        log = MessageLog({str(tmp_path)!r}, "S")
        for i in range(500):
            log.incoming(1_700_000_000_000_000_000 + i, b"8=FIX.4.2\\x0134=%d\\x01" % i)
            log.outgoing(1_700_000_000_000_000_000 + i, b"8=FIX.4.2\\x0134=%d\\x01" % i)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    p = subprocess.run([sys.executable, "-c", code], env=CHILD_ENV, timeout=60)
    assert p.returncode == -9
    lines = (tmp_path / "S.messages.log").read_text().splitlines()
    assert len(lines) == 1000
    assert lines[-1].endswith(" OUT 8=FIX.4.2|34=499|")


def test_message_and_event_logs_are_created_private(tmp_path):
    log = MessageLog(tmp_path, "S")
    log.incoming(0, b"8=FIX.4.2\x01")
    log.event(0, "hello")
    log.close()
    for name in ("S.messages.log", "S.events.log"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name
