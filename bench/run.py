#!/usr/bin/env python3
"""Time infra against Helm and Kustomize on generated workloads.

Standard library only. See bench/README.md.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Where cargo builds: the repository's target/ unless CARGO_TARGET_DIR moves it.
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
KUSTOMIZE_MAX_N = 1000  # quadratic: ~84 s at N = 1000, far more above
HELM_MAX_N = 10000  # minutes per run above
# The 100,000-service workload is larger than the defaults allow, on
# purpose: its infra.yaml is ~51 MB (16 MiB file limit), it makes 310,000
# objects (250,000) written as ~300 MB of YAML (256 MiB).
BIG_PROJECT_ENV = dict(os.environ, INFRA_MAX_FILE_BYTES=str(256 << 20), INFRA_MAX_OBJECTS="400000",
                       INFRA_MAX_OUTPUT_BYTES=str(512 << 20))


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


# Runs one command and reports its wall time and peak RSS. A forked child
# counts its parent's memory until it calls exec, so the timed commands are
# started from this small process, not from the benchmark (which holds
# large renders while it verifies them).
RUNNER_CODE = """
import json, os, subprocess, sys, time
for line in sys.stdin:
    job = json.loads(line)
    start = time.perf_counter()
    proc = subprocess.Popen(job["cmd"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=job["env"])
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    print(json.dumps({"wall": wall, "status": os.waitstatus_to_exitcode(status), "rss": usage.ru_maxrss}), flush=True)
"""
RUNNER = None


def run_timed(cmd, env):
    global RUNNER
    if RUNNER is None:
        RUNNER = subprocess.Popen([sys.executable, "-c", RUNNER_CODE], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
    RUNNER.stdin.write(json.dumps({"cmd": cmd, "env": dict(env or os.environ)}) + "\n")
    RUNNER.stdin.flush()
    return json.loads(RUNNER.stdout.readline())


def measure(cmd, runs, env=None, before=None, expected_status=0):
    """Median wall time (s) and the largest peak RSS (MiB) over `runs` runs;
    `before` runs ahead of each (untimed)."""
    walls, peaks = [], []
    for _ in range(runs):
        if before:
            before()
        result = run_timed(cmd, env)
        if result["status"] != expected_status:
            raise SystemExit(f"{' '.join(cmd)} exited with {result['status']}, expected {expected_status}")
        walls.append(result["wall"])
        peaks.append(result["rss"] / 1024)
    return statistics.median(walls), max(peaks)


def objects(stream, strip_hash_suffix):
    """(kind, name) of every document; ConfigMap hash suffixes removed."""
    found = []
    for doc in re.split(r"^---\s*$", stream, flags=re.M):
        kind = name = None
        top = None
        for line in doc.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if not line.startswith(" "):
                top = line.split(":", 1)[0]
                if top == "kind":
                    kind = line.split(":", 1)[1].strip()
            elif top == "metadata" and line.startswith("  name:"):
                name = line.split(":", 1)[1].strip()
        if kind:
            if strip_hash_suffix and kind == "ConfigMap":
                name = re.sub(r"-[0-9a-z]{10}$", "", name)
            found.append((kind, name))
    return sorted(found)


def verify(work, tools, n):
    """Checks that the renders hold the same objects. Returns the object
    count and Kustomize's measurement: its verification run is the timed one,
    since it is quadratic and runs once (and only up to KUSTOMIZE_MAX_N)."""
    infra = os.path.join(TARGET, "release", "infra")
    renders = [("infra", objects(sh([infra, "build", os.path.join(work, "infra"), "--env", "prod", "-o", "-"],
                                    env=BIG_PROJECT_ENV), True))]
    if n <= HELM_MAX_N:
        helm = [os.path.join(tools, "helm"), "template", "bench", os.path.join(work, "helm")]
        renders.append(("helm", objects(sh(helm), False)))
    kustomize_time = None
    if n <= KUSTOMIZE_MAX_N:
        cmd = [os.path.join(tools, "kubectl"), "kustomize", os.path.join(work, "kustomize", "overlays", "prod")]
        kustomize_time = measure(cmd, 1)
        renders.append(("kustomize", objects(sh(cmd), True)))
    expected = objects(open(os.path.join(work, "expected-plain.yaml")).read(), False)
    for name, got in renders:
        if got != expected:
            missing = sorted(set(expected) - set(got))[:5]
            extra = sorted(set(got) - set(expected))[:5]
            raise SystemExit(f"{name} renders other objects: missing {missing}, extra {extra}")
    return len(expected), kustomize_time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100,1000,3000,10000,100000")
    ap.add_argument("--verify", type=int, metavar="N", help="only check that the renders agree at N services")
    ap.add_argument("--no-plan", action="store_true", help="skip the plan benchmark")
    ap.add_argument("--no-charts", action="store_true", help="skip the chart benchmark")
    args = ap.parse_args()

    sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    tools = sh(["bash", os.path.join(ROOT, "scripts", "install-k8s-tools")]).strip()
    infra = os.path.join(TARGET, "release", "infra")

    if args.verify:
        with tempfile.TemporaryDirectory() as work:
            sh([sys.executable, os.path.join(ROOT, "bench", "gen_workload.py"), str(args.verify), work])
            count, _ = verify(work, tools, args.verify)
        print(f"helm, kustomize and infra render the same {count} objects")
        return

    rows, folder_rows = [], []
    for n in [int(x) for x in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as work:
            sh([sys.executable, os.path.join(ROOT, "bench", "gen_workload.py"), str(n), work])
            count, kust_t = verify(work, tools, n)
            project = os.path.join(work, "infra")
            stream = [infra, "build", project, "--env", "prod", "-o", "-"]
            runs = 11 if n < 100000 else 3
            infra_t = measure(stream, runs, env=BIG_PROJECT_ENV)
            helm_t = None
            if n <= HELM_MAX_N:
                helm_t = measure([os.path.join(tools, "helm"), "template", "bench", os.path.join(work, "helm")], 5)
            allocs = allocations(project) if n < 100000 else None
            same = single_thread_identical(stream) if n >= 100000 else None
            rows.append((n, count, infra_t, helm_t, kust_t, allocs, same))
            print(f"N={n}: {count} objects; infra {infra_t[0]:.3f}s {infra_t[1]:.0f}MiB; "
                  + (f"helm {helm_t[0]:.3f}s {helm_t[1]:.0f}MiB; " if helm_t else "helm skipped; ")
                  + (f"kustomize {kust_t[0]:.2f}s {kust_t[1]:.0f}MiB" if kust_t else "kustomize skipped"),
                  flush=True)
            if n == FOLDER_N:
                folder_rows = folder_benchmark(infra, project, infra_t, helm_t)
    plan_rows = plan_benchmark(infra) if not args.no_plan else []
    chart_rows = chart_benchmark(infra, tools) if not args.no_charts else []
    write_report(rows, folder_rows, plan_rows, chart_rows)


def allocations(project):
    """Allocations and bytes allocated per object of one build (compile and
    emit), counted by the instrumented allocator of tests/allocations.rs."""
    out = sh(["cargo", "test", "--release", "--quiet", "--test", "allocations", "--", "--ignored", "--exact",
              "report", "--nocapture"], cwd=ROOT, env=dict(BIG_PROJECT_ENV, INFRA_ALLOC_PROJECT=project))
    line = next(l for l in out.splitlines() if l.startswith("{"))
    counts = json.loads(line)
    return counts["allocations"] / counts["objects"], counts["bytes"] / counts["objects"]


def single_thread_identical(cmd):
    """Whether the stream is byte for byte the one a single thread writes."""
    digests = []
    for threads in ["1", str(os.cpu_count())]:
        proc = subprocess.run(cmd, check=True, capture_output=True, env=dict(BIG_PROJECT_ENV, INFRA_THREADS=threads))
        digests.append(hashlib.sha256(proc.stdout).hexdigest())
    return digests[0] == digests[1]


FOLDER_N = 1000


def folder_benchmark(infra, project, stream_t, helm_t):
    """`infra build` into its default output folder (compiled/prod): written
    from scratch, unchanged, and with 1% of services changed each run."""
    out = os.path.join(project, "compiled")
    build = [infra, "build", project, "--env", "prod"]
    changed = project + "-changed"
    shutil.copytree(project, changed)
    change_one_percent(changed)
    changed_build = [infra, "build", changed, "--env", "prod", "-o", os.path.join(out, "prod")]

    def remove_output():
        shutil.rmtree(out, ignore_errors=True)

    def write_the_other():
        subprocess.run(changed_build, check=True, capture_output=True)

    rows = [
        ("from scratch", measure(build, 11, before=remove_output)),
        ("unchanged", measure(build, 11)),
        ("1% of services changed", measure(build, 11, before=write_the_other)),
    ]
    print("output folder: " + "; ".join(f"{what} {t[0]:.3f}s {t[1]:.0f}MiB" for what, t in rows), flush=True)
    return [(what, t, stream_t, helm_t) for what, t in rows]


PLAN_N = 3300  # 3 * 3300 + 330 = 10,230 objects


def change_one_percent(project):
    """Every 100th service gets a new image tag and one new config value."""
    path = os.path.join(project, "infra.yaml")
    lines, current = [], None
    for line in open(path).read().split("\n"):
        m = re.match(r"    - name: svc-(\d+)$", line)
        if m:
            current = int(m.group(1))
        if current is not None and current % 100 == 0:
            line = re.sub(r"(image: \S+:)(\S+)$", r"\1\2-rc1", line)
            line = re.sub(r'(LOG_LEVEL: )"\w+"', r'\1"trace"', line)
        lines.append(line)
    open(path, "w").write("\n".join(lines))


def plan_benchmark(infra):
    """`infra plan` on a 10,230-object project: no change, then 1% of services changed."""
    rows = []
    with tempfile.TemporaryDirectory() as work:
        sh([sys.executable, os.path.join(ROOT, "bench", "gen_workload.py"), str(PLAN_N), work])
        project = os.path.join(work, "infra")
        sh([infra, "build", project, "--env", "prod"])
        objects = sum(1 for line in open(os.path.join(project, "compiled", "prod", "infra.lock")) if "file:" in line)
        cmd = [infra, "plan", project, "--env", "prod"]
        rows.append(("no change", objects, measure(cmd, 5)))
        change_one_percent(project)
        rows.append(("1% of services changed", objects, measure(cmd, 5, expected_status=2)))
        print(f"plan at {objects} objects: " + "; ".join(f"{what} {t[0]:.3f}s {t[1]:.0f}MiB" for what, _, t in rows), flush=True)
    return rows


CHART = os.path.join(ROOT, "examples", "apollo-charts")
# The values examples/apollo-charts gives kube-prometheus-stack in its `lab`
# environment, as Helm users would write them.
CHART_VALUES = """grafana:
  admin:
    existingSecret: grafana-admin
  persistence:
    enabled: false
    size: 10Gi
  grafana.ini:
    smtp:
      enabled: false
      host: ""
      from_address: grafana@apollo.lab
"""


def chart_benchmark(infra, tools):
    """`infra build` of examples/apollo-charts (lab), cold (empty render
    cache: Helm runs twice, to check determinism) and warm, against `helm
    template` of the same chart with the same values."""
    helm = os.path.join(tools, "helm")
    chart = os.path.join(CHART, "charts", "kube-prometheus-stack-88.5.3.tgz")
    with tempfile.TemporaryDirectory() as work:
        values = os.path.join(work, "values.yaml")
        open(values, "w").write(CHART_VALUES)
        cache = os.path.join(work, "cache")
        env = dict(os.environ, INFRA_HELM=helm, INFRA_CACHE_DIR=cache)
        build = [infra, "build", CHART, "--env", "lab", "-o", "-"]
        template = [helm, "template", "kps", chart, "--namespace", "monitoring", "--kube-version", "1.35.0", "-f", values]
        helm_objects = set(objects(sh(template), False))
        infra_objects = set(objects(sh(build, env=env), False))
        if not helm_objects <= infra_objects:
            raise SystemExit(f"infra lacks objects of the chart: {sorted(helm_objects - infra_objects)[:5]}")

        def empty_cache():
            subprocess.run(["rm", "-rf", cache], check=True)

        cold = measure(build, 5, env=env, before=empty_cache)
        sh(build, env=env)
        warm = measure(build, 11, env=env)
        helm_t = measure(template, 5)
    rows = [("infra build, cold (no cache)", cold), ("infra build, warm", warm), ("helm template", helm_t)]
    print("chart: " + "; ".join(f"{what} {t[0]:.3f}s {t[1]:.0f}MiB" for what, t in rows), flush=True)
    return rows


def write_report(rows, folder_rows, plan_rows, chart_rows):
    def cell(t, why="skipped"):
        return why if t is None else f"{t[0]:.3f} s, {t[1]:.0f} MiB"

    def ratio(t, base):
        return "—" if t is None or base is None else f"{t[0] / base[0]:.1f}×"

    lines = [
        "# Benchmarks",
        "",
        "Rendering the workloads of `bench/gen_workload.py` (N services: a Deployment,",
        "a Service and a ConfigMap each, a PVC for every tenth) with `infra build",
        "--env prod -o -`, `helm template` and `kubectl kustomize`, measured in one run",
        "of `python3 bench/run.py` on this project's 2-core machine. Wall time is the",
        "median of 11 runs (infra; 3 at N = 100,000), 5 (helm) or 1 (kustomize);",
        "memory is peak RSS (with a floor of about 9 MiB: a child counts its",
        "launcher's pages until it execs). Ratios are the other tool's time over",
        "infra's: how many times faster infra is. The machine shares its cores with others: absolute",
        "times vary by about 30 % between runs; ratios from one run are what to compare.",
        "Helm is left out at N = 100,000 (minutes per run) and Kustomize above",
        "N = 1,000 (its time grows quadratically). Allocations are counted by an",
        "instrumented allocator over one whole build (`tests/allocations.rs`): unlike",
        "times, they do not depend on how busy the machine is.",
        "",
        "| N | objects | infra | helm | kustomize | helm / infra | kustomize / infra | allocations / object | bytes allocated / object |",
        "|---:|---:|---|---|---|---:|---:|---:|---:|",
    ]
    for n, count, infra_t, helm_t, kust_t, allocs, _ in rows:
        per_object = f"{allocs[0]:.0f} | {allocs[1] / 1024:.1f} KiB" if allocs else "— | —"
        lines.append(f"| {n} | {count} | {cell(infra_t)} | {cell(helm_t)} | {cell(kust_t)} "
                     f"| {ratio(helm_t, infra_t)} | {ratio(kust_t, infra_t)} | {per_object} |")
    by_n = {row[0]: row for row in rows}
    if 1000 in by_n and 10000 in by_n:
        grows = by_n[10000][2][0] / by_n[1000][2][0]
        lines += ["", f"Time at N = 10,000 over time at N = 1,000: {grows:.1f} (10 is linear)."]
    for n, _, _, _, _, _, same in rows:
        if same is not None:
            lines += ["", f"At N = {n:,}, the output of the default thread count is "
                      + ("byte for byte" if same else "NOT") + " the output of `INFRA_THREADS=1`."]
    if folder_rows:
        lines += [
            "",
            "## Writing the output folder",
            "",
            f"`infra build --env prod` at N = {FOLDER_N}: the {FOLDER_N * 3 + FOLDER_N // 10:,} files and `infra.lock`",
            "of `compiled/prod`, written whole or not at all (staged beside it and",
            "swapped in). From scratch: the folder is removed before each run.",
            "Unchanged: the build finds every file as it is and writes nothing. 1% of",
            "services changed: before each run the folder is built from a copy of the",
            "project with every 100th service changed, so each run changes 1% of",
            "services back (unchanged files are hard-linked into the new folder).",
            "",
            "| case | wall | peak memory | over `-o -` | helm / infra |",
            "|---|---:|---:|---:|---:|",
        ]
        for what, t, stream_t, helm_t in folder_rows:
            lines.append(f"| {what} | {t[0]:.3f} s | {t[1]:.0f} MiB | {t[0] / stream_t[0]:.2f}× | {ratio(helm_t, t)} |")
    if plan_rows:
        lines += [
            "",
            "## `infra plan`",
            "",
            f"`infra plan --env prod` on the workload of N = {PLAN_N} services, against its",
            "compiled output: the whole run (building the project in memory, reading",
            "`infra.lock` and the files whose hash differs, comparing, printing).",
            "Median of 5 runs.",
            "",
            "| case | objects | wall | peak memory |",
            "|---|---:|---:|---:|",
        ]
        for what, objects, t in plan_rows:
            lines.append(f"| {what} | {objects} | {t[0]:.3f} s | {t[1]:.0f} MiB |")
    if chart_rows:
        helm_t = chart_rows[-1][1]
        lines += [
            "",
            "## An upstream chart",
            "",
            "`infra build examples/apollo-charts --env lab -o -` (kube-prometheus-stack",
            "88.5.3, 122 objects) against `helm template` of the same chart with the same",
            "values. Cold: the render cache is empty, so Helm renders the chart twice",
            "(infra refuses charts that render differently each time); warm: the render",
            "and the chart's default values come from the cache. Median of 5 (cold,",
            "helm) or 11 (warm) runs; the ratio is helm's time over infra's.",
            "",
            "| run | wall | peak memory | helm / infra |",
            "|---|---:|---:|---:|",
        ]
        for what, t in chart_rows:
            lines.append(f"| {what} | {t[0]:.3f} s | {t[1]:.0f} MiB | {helm_t[0] / t[0]:.1f}× |")
    lines += ["", f"Machine: {os.cpu_count()} cores; `{sh(['uname', '-srm']).strip()}`.", ""]
    with open(os.path.join(ROOT, "BENCHMARKS.md"), "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
