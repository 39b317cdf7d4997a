"""The agent soak's budget check (bench/agent_soak.sh): CPU a second of each workload
process between the judged samples, traced against untraced, and alloctop's own probe
time against the traced processes' CPU. Prints one markdown table row."""
import math, sys
from collections import defaultdict
cpu, probe, warm, budget = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
seen = defaultdict(dict)          # (class, pid) -> {t: ns on CPU}
for line in open(cpu):
    f = line.split()
    if len(f) == 4 and int(f[0]) >= warm:
        seen[(f[1], f[2])][int(f[0])] = int(f[3])
pr = defaultdict(dict)            # pid -> {t: probe seconds}
for line in open(probe):
    t, pid, v = line.split()
    if int(t) >= warm:
        pr[pid][int(t)] = float(v)
rate = {"T": [], "C": []}
cpu_t = probe_t = 0.0
for (cls, pid), v in seen.items():
    ts = sorted(v)
    if len(ts) < 2:
        continue
    rate[cls].append((v[ts[-1]] - v[ts[0]]) / (ts[-1] - ts[0]))  # ns of CPU a second
    common = [t for t in ts if t in pr.get(pid, {})] if cls == "T" else []
    if len(common) >= 2:
        cpu_t += (v[common[-1]] - v[common[0]]) / 1e9
        probe_t += pr[pid][common[-1]] - pr[pid][common[0]]


def stat(x):
    m = sum(x) / len(x)
    sd = math.sqrt(sum((y - m) ** 2 for y in x) / (len(x) - 1))
    return m, sd / math.sqrt(len(x))


if len(rate["T"]) < 2 or len(rate["C"]) < 2:
    print("? | ? | ? | ? | no")
    sys.exit(0)
(mt, et), (mc, ec) = stat(rate["T"]), stat(rate["C"])
ratio = mt / mc
err = ratio * math.sqrt((et / mt) ** 2 + (ec / mc) ** 2)
claim = "%.2f%%" % (100 * probe_t / cpu_t) if cpu_t else "?"
held = (ratio - 1) * 100 <= budget + 2 * err * 100
print("%.3f | %.3f | %.3f +- %.3f | %s | %s" % (mt / 1e6, mc / 1e6, ratio, err, claim,
      "**yes**" if held else "**no**"))
