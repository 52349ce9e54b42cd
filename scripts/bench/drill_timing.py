#!/usr/bin/env python3
"""Drill clock benchmarks (issue 14, Performance), figures in docs/performance.md.

1. Inject timing: a 1,000-inject drill at speed 1 (an inject every 10 ms of
   drill time); lateness = the drill time an inject fired at (`drillSeconds`
   of its `inject.fired` journal entry) minus its due time. Target: p99 < 20 ms.
2. Drift at --speed 100: a drill of 600 s of drill time (6 s of wall time),
   one inject every 10 s; drift = lateness / due time of each inject, and the
   drill time the clock read at the end against the wall time it took × 100.
   Target: under 0.5 % of drill time.

usage: scripts/bench/drill_timing.py [GAMEDAY_BIN]   (default target/release/gameday)
"""
import json
import os
import subprocess
import sys
import tempfile
import time

BIN = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("GAMEDAY_BIN", "target/release/gameday")


def drill(name, dues_ms):
    lines = [
        "apiVersion: gameday/v1",
        "kind: Drill",
        f"metadata: {{name: {name}}}",
        "spec:",
        "  injects:",
    ]
    for i, ms in enumerate(dues_ms):
        lines.append(f"    - {{id: i{i}, at: {ms}ms, message: {{to: [all], text: inject {i}}}}}")
    return "\n".join(lines) + "\n"


def run(name, dues_ms, speed):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"{name}.yaml")
        with open(path, "w") as f:
            f.write(drill(name, dues_ms))
        out = os.path.join(tmp, "run")
        env = dict(os.environ, GAMEDAY_HISTORY_DB=os.path.join(tmp, "h.db"), NO_COLOR="1")
        env.pop("GAMEDAY_ALERTMANAGER_URL", None)
        t0 = time.monotonic()
        subprocess.run([BIN, "drill", "--ci", "--speed", str(speed), "--out", out, path],
                       env=env, check=False, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        wall = time.monotonic() - t0
        fired = {}
        end = None
        with open(os.path.join(out, "journal.jsonl")) as f:
            for line in f:
                e = json.loads(line)
                if e["event"] == "inject.fired":
                    fired[e["inject"]] = e["drillSeconds"]
                elif e["event"] == "run.end":
                    end = e
        late = [fired[f"i{i}"] - ms / 1000 for i, ms in enumerate(dues_ms)]
        return late, wall, end


def pct(v, p):
    s = sorted(v)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    late, wall, _ = run("timing", [10 * (i + 1) for i in range(1000)], 1)
    ms = [x * 1000 for x in late]
    print(f"inject timing, 1000 injects at speed 1 ({wall:.1f} s wall): lateness "
          f"p50 {pct(ms, 50):.2f} ms, p99 {pct(ms, 99):.2f} ms, max {max(ms):.2f} ms, min {min(ms):.2f} ms")
    dues = [10_000 * (i + 1) for i in range(60)]
    late, wall, end = run("drift", dues, 100)
    drift = [100 * l / (d / 1000) for l, d in zip(late, dues)]
    print(f"drift at --speed 100, 600 s of drill time in {wall:.2f} s wall: per inject "
          f"max {max(drift):.3f} %, p50 {pct(drift, 50):.3f} % of its drill time; "
          f"last inject {late[-1] * 1000:.0f} ms late at 600 s")


if __name__ == "__main__":
    main()
