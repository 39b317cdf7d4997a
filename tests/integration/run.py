"""A tiny test runner (stdlib only): runs every test_* function of every test_*.py
module in this directory, one at a time, each with a time limit.

    python3 tests/integration/run.py [-k SUBSTRING]... [--timeout SECONDS] [--list]

Prints "PASS name", "FAIL name: reason" or "SKIP name: reason" per test and ends with
"integration: N passed, N failed, N skipped". Exit status 1 if a test failed.
A test needs root when its module sets NEEDS_ROOT = True, unless the function says
otherwise (@harness.needs_root / @harness.no_root set its own NEEDS_ROOT); one that
needs root is skipped when not run as root. With ALLOCTOP_NO_SKIP=1 (CI, which runs as
root) a skip is a failure. A test may set its own limit with a TIMEOUT attribute (seconds).
Test code uses harness.check/fail, never a bare assert (it vanishes under python -O):
a test module with one fails to load.
"""
import ast
import argparse
import importlib
import inspect
import os
import signal
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True     # no __pycache__ in the source tree

import harness  # noqa: E402


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


def bare_asserts(path):
    """Line numbers of the assert statements in a source file."""
    tree = ast.parse(path.read_text(), str(path))
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Assert)]


def discover():
    tests = []
    for path in sorted(HERE.glob("*.py")):
        lines = bare_asserts(path)
        if lines:
            sys.exit("%s: bare assert on line(s) %s: use harness.check (asserts vanish under -O)"
                     % (path.name, ", ".join(map(str, lines))))
    for path in sorted(HERE.glob("test_*.py")):
        mod = importlib.import_module(path.stem)
        fns = [(n, f) for n, f in vars(mod).items()
               if n.startswith("test_") and inspect.isfunction(f) and f.__module__ == mod.__name__]
        fns.sort(key=lambda nf: nf[1].__code__.co_firstlineno)
        for n, f in fns:
            tests.append((mod, "%s.%s" % (path.stem, n), f))
    return tests


def one_line(s, limit=2000):
    s = str(s).strip()
    return s if len(s) <= limit else s[:limit] + " ..."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append", default=[], help="run tests whose name contains this")
    ap.add_argument("--skip", action="append", default=[], help="leave out tests whose name contains this")
    ap.add_argument("--timeout", type=float, default=150, help="default per-test limit, seconds")
    ap.add_argument("--list", action="store_true")
    opt = ap.parse_args()

    tests = [t for t in discover() if (not opt.k or any(k in t[1] for k in opt.k))
             and not any(k in t[1] for k in opt.skip)]
    if opt.list:
        for _, name, _ in tests:
            print(name)
        return 0
    root = os.geteuid() == 0
    no_skip = os.environ.get("ALLOCTOP_NO_SKIP", "0") not in ("", "0")
    signal.signal(signal.SIGALRM, _alarm)
    passed = failed = skipped = 0
    for mod, name, fn in tests:
        if getattr(fn, "NEEDS_ROOT", getattr(mod, "NEEDS_ROOT", False)) and not root:
            if no_skip:
                failed += 1
                print("FAIL %s: skipped (needs root) under ALLOCTOP_NO_SKIP=1" % name, flush=True)
            else:
                skipped += 1
                print("SKIP %s: needs root (eBPF); run the tests as root to include it" % name, flush=True)
            continue
        limit = getattr(fn, "TIMEOUT", opt.timeout)
        t0 = time.monotonic()
        reason = None
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            fn()
        except Timeout:
            reason = "timed out after %g s" % limit
        except harness.Failure as e:
            reason = str(e)
        except Exception:
            reason = traceback.format_exc()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            harness.kill_started()
        dt = time.monotonic() - t0
        if reason is None:
            passed += 1
            print("PASS %s (%.1fs)" % (name, dt), flush=True)
        else:
            failed += 1
            reason = one_line(reason).replace("\n", "\n    ")
            print("FAIL %s: %s" % (name, reason), flush=True)
    print("integration: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
