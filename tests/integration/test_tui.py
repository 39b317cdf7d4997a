"""The live dashboard as a person sees it: alloctop runs in a tmux pane (its own server,
tmux -L attest), keys go in with send-keys, the screen comes back with capture-pane.

The workload (compiled into a temporary directory) allocates from named site_*
functions with known counts once told "go", prints them (the truth the test checks),
then waits: site_alpha 1000 x 64 B, all freed; site_beta 250 x 4 KiB, kept; site_gamma
37 x 48 B, kept, called through main -> chain_outer -> chain_inner. Every wait is bounded; every process a test starts
is killed by PID in its finally block, and the tmux server is killed too.
"""
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import harness
from harness import check

NEEDS_ROOT = True

ROOT = Path(__file__).resolve().parents[2]
ALLOCTOP = Path(os.environ["ALLOCTOP"]) if os.environ.get("ALLOCTOP") else ROOT / "alloctop"  # make test-asan
SOCK = "attest-%d" % os.getpid()  # private: concurrent suites must not share a tmux server
INTERVAL = 0.5

WORKLOAD_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define NOIPA __attribute__((noipa))
#define BARRIER() __asm__ volatile("" ::: "memory")
#define N_ALPHA 1000
#define N_BETA 250
#define N_GAMMA 37
static void *keep[1024];
static int nkeep;
NOIPA void *site_alpha(size_t n) { void *p = malloc(n); BARRIER(); return p; }
NOIPA void *site_beta(size_t n) { void *p = malloc(n); BARRIER(); return p; }
NOIPA void *site_gamma(size_t n) { void *p = malloc(n); BARRIER(); return p; }
NOIPA void chain_inner(int k) { for (int i = 0; i < k; i++) keep[nkeep++] = site_gamma(48); BARRIER(); }
NOIPA void chain_outer(int k) { chain_inner(k); BARRIER(); }
static int get_line(char *buf, int sz)
{
	int n = 0;
	char c;

	while (n < sz - 1 && read(0, &c, 1) == 1 && c != '\n')
		buf[n++] = c;
	buf[n] = 0;
	return n;
}
int main(void)
{
	char buf[160];
	int n = snprintf(buf, sizeof(buf), "ready %d\n", getpid());

	if (write(1, buf, n) != n)
		return 3;
	if (!get_line(buf, sizeof(buf)) || strcmp(buf, "go"))
		return 2;
	for (int i = 0; i < N_ALPHA; i++) {
		void *p = site_alpha(64);
		free(p);
	}
	for (int i = 0; i < N_BETA; i++)
		keep[nkeep++] = site_beta(4096);
	chain_outer(N_GAMMA);
	/* the truth, after the measured phase: site=allocs,frees,live and the total */
	n = snprintf(buf, sizeof(buf), "done site_alpha=%d,%d,0 site_beta=%d,0,%d site_gamma=%d,0,%d allocs=%d\n",
		     N_ALPHA, N_ALPHA, N_BETA, N_BETA, N_GAMMA, N_GAMMA, N_ALPHA + N_BETA + N_GAMMA);
	if (write(1, buf, n) != n)
		return 3;
	get_line(buf, sizeof(buf));	/* "exit" or EOF */
	for (int i = 0; i < nkeep; i++)
		free(keep[i]);
	return 0;
}
"""

# site -> (allocations, frees, live blocks) after "go", as the workload prints them
EXPECTED = {}
SITES = ("site_alpha", "site_beta", "site_gamma")


class Workload:
    def __init__(self, tmp):
        src, exe = Path(tmp) / "tui_wl.c", Path(tmp) / "tui_wl"
        src.write_text(WORKLOAD_C)
        subprocess.run(["cc", "-O1", "-g", "-fno-omit-frame-pointer", "-Wall", "-o", str(exe), str(src)],
                       check=True, timeout=60)
        self.p = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.buf = b""
        line = self.read_line(30)
        check(line.startswith("ready "), "workload said %r" % line)
        self.pid = int(line.split()[1])

    def read_line(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.p.stdout], [], [], left)[0]:
                harness.fail("workload: no output line within %ss" % timeout)
            chunk = os.read(self.p.stdout.fileno(), 4096)
            if not chunk:
                harness.fail("workload: its output ended (exit status %s)" % self.p.poll())
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def go(self):
        self.p.stdin.write(b"go\n")
        self.p.stdin.flush()
        line = self.read_line(60)
        check(line.startswith("done "), "workload said %r" % line)
        truth = dict(kv.split("=", 1) for kv in line.split()[1:])
        EXPECTED.clear()
        EXPECTED.update({s: tuple(int(x) for x in truth[s].split(",")) for s in SITES})
        self.allocs = int(truth["allocs"])

    def finish(self, timeout=10):
        self.p.stdin.write(b"exit\n")
        self.p.stdin.close()
        return self.p.wait(timeout)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(5)


def tmux(*args, timeout=10):
    return subprocess.run(["tmux", "-L", SOCK, *args], capture_output=True, text=True, timeout=timeout)


def kill_tmux_server():
    tmux("kill-server")
    deadline = time.monotonic() + 5
    while tmux("list-sessions").returncode == 0 and time.monotonic() < deadline:
        time.sleep(0.05)


def _comm(pid):
    try:
        # another process's name may be any bytes (test_reliability_hostile's is not UTF-8)
        return Path("/proc/%d/comm" % pid).read_bytes().decode(errors="replace").strip()
    except OSError:
        return ""


def children(ppid):
    """PIDs whose parent is ppid (from /proc)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d, "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == ppid:
            out.append(int(d))
    return out


class Pane:
    """A tmux server of our own with one pane running an interactive bash."""

    def __init__(self, cols, rows, tmp):
        self.tmp = Path(tmp)
        kill_tmux_server()
        r = tmux("new-session", "-d", "-x", str(cols), "-y", str(rows), "-s", "tui",
                 "env PS1='$ ' bash --norc --noprofile -i")
        check(r.returncode == 0, "tmux: %s" % r.stderr)
        self.pid = int(tmux("display-message", "-p", "-t", "tui", "#{pane_pid}").stdout.strip())
        self.wait_for("$", 30)
        self.type("export T=%s" % self.tmp)

    def keys(self, *keys):
        tmux("send-keys", "-t", "tui", *keys)

    def type(self, line):
        tmux("send-keys", "-t", "tui", "-l", line)
        tmux("send-keys", "-t", "tui", "Enter")

    def screen(self, escapes=False):
        return tmux("capture-pane", "-p", "-t", "tui", *(["-e"] if escapes else [])).stdout

    def wait_exit(self, timeout=30):
        """alloctop's exit status, once the shell printed it and its next prompt."""
        s = self.wait_for(lambda s: re.search(r"EXIT=\d+\s*\n\$", s), timeout)
        return int(re.search(r"EXIT=(\d+)", s).group(1)), s

    def wait_for(self, what, timeout, absent=False):
        """Polls the screen until what (a string or a predicate) shows (or is gone)."""
        pred = what if callable(what) else (lambda s: what in s)
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen()
            if bool(pred(s)) != absent:
                return s
            if time.monotonic() > deadline:
                harness.fail("after %ss the screen %s %r:\n%s" % (
                    timeout, "still shows" if absent else "does not show", what, s))
            time.sleep(0.1)

    def press(self, key, what, timeout=30):
        self.keys(key)
        return self.wait_for(what, timeout)

    def close(self):
        for pid in children(self.pid):     # alloctop, if a test left it running
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        kill_tmux_server()


def start_alloctop(pane, wl, env=""):
    pane.type("stty -g > $T/stty.before")
    pane.type("clear; cd %s && %s%s -d %s -p %d; echo EXIT=$?" % (ROOT, env, ALLOCTOP, INTERVAL, wl.pid))
    pane.wait_for("Targets:", 30)


def assert_terminal_usable(pane):
    """The shell reads and echoes again, with the terminal modes it had before alloctop."""
    pane.type("stty -g > $T/stty.after; echo STTY_$(cmp -s $T/stty.before $T/stty.after && echo SAME || echo DIFF)")
    s = pane.wait_for(lambda s: "STTY_SAME" in s or "STTY_DIFF" in s, 30)
    check("STTY_SAME" in s, "terminal modes differ after alloctop: %s before, %s after:\n%s" % (
        (pane.tmp / "stty.before").read_text().strip(), (pane.tmp / "stty.after").read_text().strip(), s))
    pane.type("echo READY_$((6*7))")
    pane.wait_for("READY_42", 30)


# ---------------------------------------------------------------- reading the screen

def table(screen):
    """(header line, {site or pid: row line}) of the table on the screen."""
    lines = screen.splitlines()
    head = next((l for l in lines if "SITE" in l or "COMMAND" in l), None)
    check(head is not None, "no table header on the screen:\n" + screen)
    rows = {}
    for l in lines[lines.index(head) + 1:]:
        m = re.search(r"\b(site_\w+)", l) or re.match(r"\s*(\d+) ", l)
        if m:
            rows.setdefault(m.group(1), l)
    return head, rows


def cell(head, row, title):
    """The value under a right-aligned column title."""
    m = re.search(r"(?<![A-Z])%s(?![A-Z#/])" % re.escape(title), head)
    check(m, "no column %r in %r" % (title, head))
    return row[:m.end()].split()[-1]


def site_order(screen):
    """The workload's sites, top to bottom."""
    found = (re.search(r"\b(site_(?:alpha|beta|gamma))\b", l) for l in screen.splitlines())
    return [m.group(1) for m in found if m]


def counts_shown(screen):
    """True when every site shows its exact cumulative counts."""
    try:
        head, rows = table(screen)
        return all(cell(head, rows[s], "ALLOCS") == str(a) and cell(head, rows[s], "FREES") == str(f) and
                   cell(head, rows[s], "LIVE#") == str(l) for s, (a, f, l) in EXPECTED.items())
    except (AssertionError, KeyError, IndexError):
        return False


def sorted_as(footer, order):
    return lambda s: footer in s and site_order(s) == order


# ---------------------------------------------------------------- the scenario

def totals_shown(s):
    """Cumulative counts, every column with room, whole site names, the averages."""
    try:
        if not counts_shown(s) or "totals since attach" not in s or any(site + "~" in s for site in EXPECTED):
            return False
        head, rows = table(s)
        for title in ("ALLOCS", "BYTES", "FREES", "LIVE#", "LIVE", "AVG", "MEDLIFE"):
            cell(head, rows["site_alpha"], title)
        return cell(head, rows["site_beta"], "AVG") == "4.0K" and cell(head, rows["site_alpha"], "AVG") == "64B"
    except (AssertionError, KeyError, IndexError):
        return False


def check_counts_and_sorting(pane):
    pane.press("c", totals_shown, 60)
    # default order: bytes allocated; then allocations; then reversed; s moves on
    pane.wait_for(sorted_as("sort: BYTES desc", ["site_beta", "site_alpha", "site_gamma"]), 30)
    pane.press("<", sorted_as("sort: ALLOCS desc", ["site_alpha", "site_beta", "site_gamma"]))
    pane.press("r", sorted_as("sort: ALLOCS asc", ["site_gamma", "site_beta", "site_alpha"]))
    pane.press("s", sorted_as("sort: BYTES desc", ["site_beta", "site_alpha", "site_gamma"]))
    pane.press("<", "sort: ALLOCS desc")
    pane.press("r", sorted_as("sort: ALLOCS asc", ["site_gamma", "site_beta", "site_alpha"]))


def stack_order(screen):
    names = [re.search(r"\b(site_gamma|chain_inner|chain_outer|main)\+0x", l) for l in screen.splitlines()]
    return [m.group(1) for m in names if m]


# A screen is checked once it shows everything checked: tmux may capture it mid-draw, so
# each key waits (bounded) for the whole expected state, not for its first line.

def check_stack(pane):
    pane.keys("Home")
    pane.press("Enter", lambda s: stack_order(s)[-4:] == ["site_gamma", "chain_inner", "chain_outer", "main"]
               and "allocs %d" % EXPECTED["site_gamma"][0] in s, 60)
    pane.press("Escape", lambda s: "SITE" in s and "chain_outer" not in s)


def lifetime_count(s):
    """The sum of the COUNT column of the lifetime histogram on the screen, or None."""
    lines = s.splitlines()
    head = next((k for k, l in enumerate(lines) if l.startswith(" LIFETIME") and "COUNT" in l), None)
    if head is None:
        return None
    total = 0
    for l in lines[head + 1:]:
        field = l[18:29].strip()   # ui_detail.c: an 18-column label, then an 11-column count
        if not field.isdigit():
            break
        total += int(field)
    return total


def open_site(pane, site, what):
    """Enter on a site's row, the table sorted by allocations, most first."""
    order = ["site_alpha", "site_beta", "site_gamma"]
    pane.wait_for(sorted_as("sort: ALLOCS desc", order), 30)
    pane.keys("Home")
    for _ in range(order.index(site)):
        pane.keys("j")
    pane.press("Enter", what, 60)


def check_site_lifetimes(pane):
    """A site's lifetimes, kept by the model at each refresh (never read while drawing):
    all of site_alpha's freed blocks in its histogram, and a median."""
    frees = EXPECTED["site_alpha"][1]
    pane.keys("r")   # check_counts_and_sorting left ALLOCS asc
    open_site(pane, "site_alpha", lambda s: re.search(r"Site site_alpha\b", s) and "frees %d " % frees in s
              and not re.search(r"median lifetime -", s))
    pane.press("3", lambda s: "Lifetimes of the blocks this site allocated" in s and lifetime_count(s) == frees, 60)
    pane.press("Escape", lambda s: "Request sizes" in s)
    pane.press("1", lambda s: "SITE" in s and "Request sizes" not in s)


def check_reset_lifetimes(pane):
    """z: the baseline's lifetimes are the model's at that refresh, so nothing is freed
    since (the workload is idle)."""
    open_site(pane, "site_alpha", lambda s: re.search(r"Site site_alpha\b", s))
    pane.press("3", lambda s: "Lifetimes of the blocks this site allocated" in s and lifetime_count(s), 60)
    pane.press("z", lambda s: "Lifetimes of the blocks this site allocated" in s and
               "no block was freed in this window" in s, 60)
    pane.press("Escape", lambda s: "Request sizes" in s)


def sizes_shown(s):
    """The histogram view with the lifetimes and the three request-size buckets: 48 B,
    64 B and 4 KiB requests, as many as the workload made."""
    if "Request sizes" not in s or "Lifetimes of freed blocks" not in s:
        return False
    for label, site in (("32B - 64B", "site_gamma"), ("64B - 128B", "site_alpha"), ("4.0K - 8.0K", "site_beta")):
        line = next((l for l in s.splitlines() if label in l), "")
        if line.split(label)[-1].split()[:1] != [str(EXPECTED[site][0])]:
            return False
    return True


def process_allocs_shown(wl):
    def shown(s):
        try:
            head, rows = table(s)
            return cell(head, rows[str(wl.pid)], "ALLOCS") == str(wl.allocs)
        except (AssertionError, KeyError, IndexError):
            return False
    return shown


def check_views(pane, wl):
    pane.press("3", sizes_shown, 60)
    pane.press("1", lambda s: "SITE" in s and "Request sizes" not in s)
    pane.press("Tab", "Request sizes")        # one process: Tab skips the process table
    pane.press("Tab", "FRAME")
    pane.press("Tab", lambda s: "SITE" in s and "FRAME" not in s)
    pane.press("2", process_allocs_shown(wl), 60)
    pane.press("1", "SITE")
    pane.press("h", "alloctop keys")
    pane.press("x", lambda s: "alloctop keys" not in s)
    pane.press(" ", "PAUSED")
    pane.press(" ", lambda s: "PAUSED" not in s)
    pane.press("+", "refresh 1s")
    pane.press("-", "refresh 0.5s")


def quit_and_check(pane, wl):
    """q ends the session: the dashboard goes, alloctop exits 0, the terminal works and
    the target lives on. How fast is a benchmark's business, not a test's."""
    pane.keys("q")
    pane.wait_for("Targets:", 30, absent=True)
    rc, s = pane.wait_exit(60)
    check(rc == 0, "alloctop exit status:\n" + s)
    assert_terminal_usable(pane)
    check(wl.p.poll() is None, "the workload died while alloctop was attached")
    check(wl.finish(30) == 0, "the workload did not finish normally")


def scenario(cols, rows, env=""):
    tmp = tempfile.mkdtemp(prefix="alloctop-tui-")
    wl = pane = None
    try:
        wl = Workload(tmp)
        pane = Pane(cols, rows, tmp)
        start_alloctop(pane, wl, env)
        wl.go()
        check_counts_and_sorting(pane)
        check_stack(pane)
        check_site_lifetimes(pane)
        check_views(pane, wl)
        screen = pane.screen(escapes=True)
        check_reset_lifetimes(pane)
        quit_and_check(pane, wl)
        return screen
    finally:
        if pane:
            pane.close()
        if wl:
            wl.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def test_tui_120x40():
    scenario(120, 40)


def test_tui_80x24_no_color():
    screen = scenario(80, 24, env="NO_COLOR=1 ")
    check(not re.search(r"\x1b\[(3[0-7]|4[0-7]|9[0-7]|38;|48;)", screen), "colours despite NO_COLOR:\n%r" % screen)
    check("\x1b[7m" in screen, "no reverse video for the header or the selection")


def test_tui_restores_terminal_on_sigterm_and_target_exit():
    tmp = tempfile.mkdtemp(prefix="alloctop-tui-")
    wl = pane = None
    try:
        wl = Workload(tmp)
        pane = Pane(100, 30, tmp)
        start_alloctop(pane, wl)
        pids, end = [], time.time() + 30
        while not pids and time.time() < end:
            pids = [p for p in children(pane.pid) if _comm(p) == "alloctop"]
            time.sleep(0.05)
        check(len(pids) == 1, "alloctop not found under the pane's shell: %s\n%s" % (pids, pane.screen()))
        os.kill(pids[0], signal.SIGTERM)
        rc, s = pane.wait_exit()
        check(rc == 0 and "Targets:" not in s, s)
        assert_terminal_usable(pane)
        # the target exiting ends the session too
        start_alloctop(pane, wl)
        wl.go()
        check(wl.finish() == 0)
        rc, s = pane.wait_exit()
        check(rc == 0 and "Targets:" not in s, s)
        assert_terminal_usable(pane)
    finally:
        if pane:
            pane.close()
        if wl:
            wl.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def test_tui_q_exits():
    tmp = tempfile.mkdtemp(prefix="alloctop-tui-")
    wl = pane = None
    try:
        wl = Workload(tmp)
        pane = Pane(100, 30, tmp)
        start_alloctop(pane, wl)
        wl.go()
        quit_and_check(pane, wl)
    finally:
        if pane:
            pane.close()
        if wl:
            wl.kill()
        shutil.rmtree(tmp, ignore_errors=True)


for _t in (test_tui_120x40, test_tui_80x24_no_color, test_tui_restores_terminal_on_sigterm_and_target_exit,
           test_tui_q_exits):
    _t.TIMEOUT = 300
