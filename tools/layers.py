#!/usr/bin/env python3
"""Checks that user/ keeps its layers (README: Architecture).

A file in user/LAYER/ may include headers of its own folder and of the layers listed
before it below, never one of a layer above or beside it. Headers are written with
their folder ("lib/util.h"). Also fails on a cycle between modules (a module is a .c
and its .h): an include cycle from the sources, and a call cycle from the objects'
symbols when build/user holds them. Also fails on a file of user/ or bpf/ over 600 lines
or a function over 80, and when report/ or ui/ include binary/, symbolize/ or kernel/
(printers read the model only). Ends with "layers: N passed, N failed".
"""
import os
import re
import subprocess
import sys

# Lowest first. Layers of one rank are siblings: they do not include each other.
LAYERS = [
    ("lib",),                             # helpers that know nothing of alloctop's domain
    ("binary",),                          # ELF, DWARF, CFI, /proc/PID/maps, demangling
    ("probe", "unwind", "symbolize"),     # where to probe, unwind tables, names of addresses
    ("kernel",),                          # BPF skeleton, links, map readers
    ("model",),                           # what is measured, refreshed from the kernel
    ("report",),                          # the batch printers
    ("ui", "export"),                     # the dashboard; /metrics, pprof pushes, agent log
                                          # (both use the report context)
    ("app",),                             # main, the session loop, targets, launch, census
]
RANK = {name: r for r, group in enumerate(LAYERS) for name in group}
# Printers only print what the model resolved when it refreshed (symbols, heap results,
# kernel counters): no I/O while printing, so they do not include these layers at all.
PRINTERS_MAY_NOT = {
    "report": ("binary", "symbolize", "kernel"),
    "ui": ("binary", "symbolize", "kernel"),
}
MAX_FILE_LINES = 600
MAX_FUNC_LINES = 80
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
user = os.path.join(root, "user")
problems = []
checks = 0


def module(path):
    """user/model/heap.c -> model/heap; a module's internal header (ui/ui_int.h, shared
    by the files it is split into) belongs to it"""
    rel = os.path.splitext(os.path.relpath(path, user))[0]
    return rel[:-4] if rel.endswith("_int") else rel


def sources():
    for layer in sorted(os.listdir(user)):
        d = os.path.join(user, layer)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.endswith((".c", ".h")):
                yield layer, os.path.join(d, name)


def check_includes():
    global checks
    graph = {}
    for layer in sorted(os.listdir(user)):
        if os.path.isdir(os.path.join(user, layer)) and layer not in RANK:
            problems.append(f"user/{layer}/: not a layer (add it to tools/layers.py and the README)")
    for layer, path in sources():
        if layer not in RANK:
            continue
        rel = os.path.relpath(path, root)
        mod = module(path)
        graph.setdefault(mod, set())
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for inc in INCLUDE.findall(text):
            checks += 1
            top = inc.split("/")[0]
            if "/" not in inc or top not in RANK:
                # alloctop.h, skeletons, generated pprof: fine unless it names a user/ file
                if os.path.exists(os.path.join(user, os.path.basename(inc))) or any(
                        os.path.exists(os.path.join(user, l, inc)) for l in RANK):
                    problems.append(f"{rel}: includes \"{inc}\" without its folder")
                continue
            if not os.path.exists(os.path.join(user, inc)):
                problems.append(f"{rel}: includes \"{inc}\", which does not exist")
                continue
            if top in PRINTERS_MAY_NOT.get(layer, ()):
                problems.append(f"{rel}: includes \"{inc}\": {layer}/ prints what the model "
                                f"resolved, it does not reach {top}/")
            if top != layer and RANK[top] >= RANK[layer]:
                where = "beside" if RANK[top] == RANK[layer] else "above"
                problems.append(f"{rel}: includes \"{inc}\" from layer {top}, {where} its own ({layer})")
            dep = module(os.path.join(user, inc))
            if dep != mod:
                graph[mod].add(dep)
    for cyc in cycles(graph):
        problems.append("include cycle: " + " -> ".join(cyc + cyc[:1]))


def check_calls():
    """A call cycle between modules, from the symbols of build/user's objects."""
    objdir = os.path.join(root, "build", "user")
    if not os.path.isdir(objdir):
        print("layers: no build/user objects, call cycles not checked")
        return
    defined, used = {}, {}
    for layer, path in sources():
        if not path.endswith(".c"):
            continue
        obj = os.path.join(objdir, os.path.relpath(path, user))[:-2] + ".o"
        if not os.path.exists(obj):
            continue
        out = subprocess.run(["nm", obj], capture_output=True, text=True).stdout
        mod = module(path)
        used[mod] = set()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "U":
                used[mod].add(parts[1])
            elif len(parts) == 3 and parts[1] in "TDBR":
                defined[parts[2]] = mod
    graph = {m: {defined[s] for s in syms if s in defined and defined[s] != m} for m, syms in used.items()}
    for cyc in cycles(graph):
        problems.append("call cycle: " + " -> ".join(cyc + cyc[:1]))


def cycles(graph):
    """One path through each strongly connected component of more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def check_sizes():
    """Files over MAX_FILE_LINES, functions (a line opening at column 0 to the '}' that
    closes it at column 0) over MAX_FUNC_LINES, in user/ and bpf/."""
    paths = [p for _, p in sources()]
    for dirpath, _, names in os.walk(os.path.join(root, "bpf")):
        paths += [os.path.join(dirpath, n) for n in sorted(names) if n.endswith((".c", ".h"))]
    for path in paths:
        rel = os.path.relpath(path, root)
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().split("\n")
        if len(lines) - 1 > MAX_FILE_LINES:
            problems.append(f"{rel}: {len(lines) - 1} lines (over {MAX_FILE_LINES})")
        sig = name = None       # a signature's first line, until its body opens
        start = None            # the function's first line, while in its body
        for i, line in enumerate(lines):
            if start is None and sig is None and re.match(r"^[A-Za-z_].*\(", line):
                sig = i
                name = (re.findall(r"([A-Za-z_]\w*)\s*\(", line) or ["?"])[0]
            if start is None and sig is not None:
                if line.startswith("{"):
                    start, sig = sig, None
                elif line.rstrip().endswith((";", "}")) or not line.strip():
                    sig = None      # a declaration, not a definition
            elif start is not None and line.startswith("}"):
                n = i - start + 1
                if n > MAX_FUNC_LINES:
                    problems.append(f"{rel}:{start + 1}: {name}() is {n} lines (over {MAX_FUNC_LINES})")
                start = None


check_includes()
check_calls()
check_sizes()
for p in problems:
    print("FAIL " + p)
print(f"layers: {checks} includes checked, {len(problems)} problems")
print(f"layers: {0 if problems else 1} passed, {1 if problems else 0} failed")
sys.exit(1 if problems else 0)
