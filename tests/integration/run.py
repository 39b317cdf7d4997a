"""A tiny test runner (stdlib only): runs every test_* function of every test_*.py
module in this directory, one at a time, each with a time limit.

    python3 tests/integration/run.py [-k SUBSTRING]... [--timeout SECONDS] [--list]

Prints "PASS name" or "FAIL name: reason" per test and ends with
"integration: N passed, N failed" (plus ", N skipped"). Exit status 1 if a test failed.
Modules that set NEEDS_ROOT = True are skipped, with a message, when not run as root.
A test may set its own limit with a TIMEOUT attribute (seconds).
"""
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


def discover():
    tests = []
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
    skipped_mods = sorted({m.__name__ for m, _, _ in tests if getattr(m, "NEEDS_ROOT", False) and not root})
    for m in skipped_mods:
        print("SKIP %s: needs root (eBPF); run the tests as root to include them" % m)
    signal.signal(signal.SIGALRM, _alarm)
    passed = failed = skipped = 0
    for mod, name, fn in tests:
        if mod.__name__ in skipped_mods:
            skipped += 1
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
    summary = "integration: %d passed, %d failed" % (passed, failed)
    if skipped:
        summary += ", %d skipped" % skipped
    print(summary)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
