#!/usr/bin/env python3
"""The instruction-count gate: runs every workload of gate_workloads under
callgrind, counts the instructions of its measured part (in all, and per op
of the forward pass), and compares them with perf/baseline.json.

  gate.py --bin GATE_WORKLOADS --smallmind SMALLMIND --baseline perf/baseline.json
          [--out DIR] [--threshold 2] [--update] [--only NAME,...] [--slow NAME]
          [--repeat-check NAME]

Prints the seed report's table (workload, baseline, current, change,
verdict) and exits 1 when any workload grew by more than the threshold.
--update rewrites the baseline with the counts of this run. --repeat-check
runs one workload twice and fails unless the counts agree within 0.1%.
"""
import argparse
import json
import os
import re
import subprocess
import sys

# The ops of the forward pass, by the kernels that do them: inclusive
# instruction counts of these functions (callgrind_annotate --inclusive).
OPS = [
    ("matmul", r"(F32PanelGemmImpl|Int8KernelsImpl|Int8GroupRows|QuantizeActivationsImpl)"),
    ("attention", r"AttendHeadImpl"),
    ("norm", r"(RmsNormImpl|LayerNormImpl)"),
    ("activation", r"(SwiGluImpl|GeluTanhImpl)"),
    ("rope", r"Rope(Pairwise|RotateHalf)Impl"),
    ("residual", r"AddImpl"),
    ("sampling", r"Sampler::Sample"),
    ("tokenization", r"Tokenizer::Encode"),
]
TARGET = "AVX2 (no AVX-VNNI), 1 thread"
PRESETS = ("small", "medium", "stories15m")
DTYPES = ("f32", "q8_0", "q4_0")


def make_models(smallmind, directory):
    os.makedirs(directory, exist_ok=True)
    for preset in PRESETS:
        for dtype in DTYPES:
            path = os.path.join(directory, f"{preset}-{dtype}.smm")
            if not os.path.exists(path):
                subprocess.run([smallmind, "init", "--preset", preset, "--dtype", dtype,
                                "--seed", "0", path], check=True, stdout=subprocess.DEVNULL)


def preflight(bin_path):
    """Fails in one line when callgrind cannot run the workloads here: the
    gate never passes without having counted."""
    try:
        probe = subprocess.run(["valgrind", "--tool=none", bin_path, "--list"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    except FileNotFoundError:
        sys.exit("perf_gate: FAILED: valgrind is not installed; the gate cannot count")
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        sys.exit(f"perf_gate: FAILED: valgrind cannot run {os.path.basename(bin_path)} on this "
                 f"host ({last})")


def run(bin_path, models, out_dir, workload, slow):
    out_file = os.path.join(out_dir, f"callgrind.{workload}")
    cmd = ["valgrind", "--tool=callgrind", "--collect-atstart=no",
           f"--callgrind-out-file={out_file}", bin_path, "--workload", workload,
           "--models", models]
    if slow:
        cmd += ["--slow", slow]
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"perf_gate: {workload} failed:\n{result.stderr[-2000:]}")
    total = None
    with open(out_file) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
    if total is None:
        sys.exit(f"perf_gate: no instruction total in {out_file}")
    annotated = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100",
                                out_file], stdout=subprocess.PIPE, text=True).stdout
    ops = {}
    for name, pattern in OPS:
        best = 0
        for line in annotated.splitlines():
            m = re.match(r"\s*([\d,]+)\s+\([^)]*\)\s+(.*)$", line)
            if m and re.search(pattern, m.group(2).split(" [")[0]):
                best = max(best, int(m.group(1).replace(",", "")))
        if best:
            ops[name] = best
    return {"instructions": total, "ops": ops}


def table(baseline, current, threshold):
    rows, regressed = [], []
    for name in sorted(set(baseline) | set(current)):
        b = baseline.get(name, {}).get("instructions")
        c = current.get(name, {}).get("instructions")
        if b is None or c is None:
            rows.append((name, b, c, None, "NEW" if b is None else "MISSING"))
            continue
        change = 100.0 * (c - b) / b
        verdict = "REGRESSED" if change > threshold else (
            "IMPROVED" if change < -threshold else "UNCHANGED")
        if verdict == "REGRESSED":
            regressed.append(name)
        rows.append((name, b, c, change, verdict))
    lines = [f"Instruction counts under callgrind; SIMD target pinned: {TARGET}; "
             f"threshold {threshold:g}%.", "",
             "| workload | baseline | current | change | verdict |",
             "| --- | ---: | ---: | ---: | --- |"]
    for name, b, c, change, verdict in rows:
        fmt = lambda v: f"{v:,}" if v is not None else "—"
        ch = f"{change:+.2f}%" if change is not None else "—"
        lines.append(f"| {name} | {fmt(b)} | {fmt(c)} | {ch} | {verdict} |")
    ops_lines = []
    for name, b, c, change, verdict in rows:
        if verdict != "REGRESSED":
            continue
        bops = baseline[name].get("ops", {})
        cops = current[name].get("ops", {})
        for op in sorted(set(bops) | set(cops)):
            if bops.get(op) and cops.get(op):
                d = 100.0 * (cops[op] - bops[op]) / bops[op]
                ops_lines.append(f"| {name} | {op} | {bops[op]:,} | {cops[op]:,} | {d:+.2f}% |")
    if ops_lines:
        lines += ["", "Per op in the regressed workloads:", "",
                  "| workload | op | baseline | current | change |",
                  "| --- | --- | ---: | ---: | ---: |"] + ops_lines
    verdict = "REGRESSED" if regressed else "PASS"
    lines += ["", f"verdict: {verdict}" + (f" ({', '.join(regressed)})" if regressed else "")]
    return "\n".join(lines), regressed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--smallmind", required=True)
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--out", default="/tmp/smallmind-perf-gate")
    ap.add_argument("--threshold", type=float, default=2.0)
    ap.add_argument("--update", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--slow", default="")
    ap.add_argument("--repeat-check", default="")
    a = ap.parse_args()

    os.makedirs(a.out, exist_ok=True)
    preflight(a.bin)
    models = os.path.join(a.out, "models")
    make_models(a.smallmind, models)
    if a.repeat_check:
        first = run(a.bin, models, a.out, a.repeat_check, a.slow)["instructions"]
        second = run(a.bin, models, a.out, a.repeat_check, a.slow)["instructions"]
        spread = abs(first - second) / first * 100
        print(f"{a.repeat_check}: {first:,} and {second:,} instructions ({spread:.4f}% apart)")
        sys.exit(0 if spread <= 0.1 else 1)

    names = subprocess.run([a.bin, "--list"], stdout=subprocess.PIPE, text=True,
                           check=True).stdout.split()
    if a.only:
        names = [n for n in names if n in a.only.split(",")]
    current = {}
    for name in names:
        current[name] = run(a.bin, models, a.out, name, a.slow)
        print(f"  {name}: {current[name]['instructions']:,}", file=sys.stderr)
    with open(os.path.join(a.out, "gate.json"), "w") as f:
        json.dump({"target": TARGET, "workloads": current}, f, indent=1, sort_keys=True)

    if a.update:
        with open(a.baseline, "w") as f:
            json.dump({"target": TARGET, "workloads": current}, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"wrote {a.baseline}")
        return
    with open(a.baseline) as f:
        baseline = json.load(f)
    if baseline.get("target") != TARGET:
        sys.exit(f"perf_gate: the baseline was measured on {baseline.get('target')}, "
                 f"this gate measures {TARGET}; run scripts/perf_gate.sh --update")
    wanted = {n: baseline["workloads"][n] for n in names if n in baseline["workloads"]}
    text, regressed = table(wanted, current, a.threshold)
    print(text)
    with open(os.path.join(a.out, "gate.md"), "w") as f:
        f.write(text + "\n")
    sys.exit(1 if regressed else 0)


if __name__ == "__main__":
    main()
