"""Shared helpers for the Python tests: run flowscope-cli, count checks, and
end with a clear verdict (exit 1 on any failure)."""
import json
import os
import subprocess
import sys

CLI = os.environ.get("FLOWSCOPE_CLI", "flowscope-cli")
FIXTURES = os.environ.get("FLOWSCOPE_FIXTURES", "")

_failures = []
_checks = 0


def cli(*args, expect_rc=0):
    """Runs flowscope-cli; returns (stdout, stderr). Fails the check on a wrong exit code."""
    proc = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=300)
    check(proc.returncode == expect_rc,
          f"flowscope-cli {' '.join(map(str, args))}: exit {proc.returncode}, "
          f"expected {expect_rc}\n{proc.stderr}")
    return proc.stdout, proc.stderr


def cli_json(*args):
    out, _ = cli(*args, "--json")
    return json.loads(out) if out else {}


def check(condition, message):
    global _checks
    _checks += 1
    if not condition:
        _failures.append(message)
        print("FAIL:", message, file=sys.stderr)
    return condition


def finish():
    print(f"{_checks - len(_failures)} of {_checks} checks passed")
    sys.exit(1 if _failures or _checks == 0 else 0)
