import subprocess
import sys

from fxpipe import cli


def test_every_command_module_registers():
    parser = cli.build_parser()
    assert parser.prog == "fxpipe"


def test_help_runs_as_a_process():
    r = subprocess.run([sys.executable, "-m", "fxpipe", "--help"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "fxpipe" in r.stdout


def test_missing_command_is_an_error():
    r = subprocess.run([sys.executable, "-m", "fxpipe"], capture_output=True, text=True)
    assert r.returncode == 2
