"""Time and peak memory per VNF workflow: nfvmon's generator against a bare yaml.safe_dump.

    python benchmarks/bench_generate.py [--count 10000] [--vnfd PATH] [--json]

Three variants each generate `--count` workflows for the same VNFD, in their own process (so
each max RSS is that variant's own):
- `nfvmon from file`: `vnf_workflow(path, ...)`: read, parse and validate the VNFD, normalise,
  render, self-check (parse back + round-trip), every time;
- `nfvmon from data`: `vnf_workflow_from_data(dict, ...)` on a VNFD loaded once;
- `baseline`, the reference: what Tacker did, build the workflow as a Python dict and
  `yaml.safe_dump` it, with no validation and no self-check. Its dict has the same keys and
  values as nfvmon's output (its shape is taken from one real nfvmon workflow).
Workflow i has vnf_id `vnf-<i>`, one loopback address 127.0.x.y per monitored VDU and action
id `UUID(int=i)`, so runs are comparable. Times come from a pass with tracemalloc off; the
tracemalloc peak from a separate, shorter pass. The last workflow of each variant is parsed
back with yaml.safe_load and the three must be equal, value for value and type for type.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DEFAULT_VNFD = (Path(__file__).resolve().parent.parent
                / "tests/data/tacker-samples/tosca-vnfd-monitor-multi-vdu.yaml")
VARIANTS = ("nfvmon from file", "nfvmon from data", "baseline")
#: Workflows per variant in the tracemalloc pass (results are discarded, so the peak is the
#: working set of one generation; more workflows would only cost time).
TRACE_COUNT = 200
WARM_UP = 20

Case = tuple[str, dict[str, list[str]], str]  # vnf_id, {VDU: [IP]}, action_id


def make_cases(count: int, vdus: Sequence[str], first: int = 1) -> list[Case]:
    """Workflow inputs for i = first .. first+count-1: ids and loopback addresses vary with i."""
    cases = []
    for i in range(first, first + count):
        ips = {}
        for j, vdu in enumerate(vdus):
            n = (i * len(vdus) + j) % 65536
            ips[vdu] = [f"127.0.{n // 256}.{n % 256}"]
        cases.append((f"vnf-{i:05d}", ips, str(uuid.UUID(int=i))))
    return cases


def baseline_generator(reference_text: str, reference_vnf_id: str) -> Callable[[Case], str]:
    """A Tacker-style generator: dict → yaml.safe_dump, shaped like one nfvmon workflow."""
    import yaml

    doc = yaml.safe_load(reference_text)
    (name,) = (key for key in doc if key != "version")
    if not name.endswith(reference_vnf_id):
        raise RuntimeError(f"workflow name {name!r} does not end with {reference_vnf_id!r}")
    prefix = name[: -len(reference_vnf_id)]
    body = {key: value for key, value in doc[name].items() if key != "tasks"}
    ((task_name, task),) = doc[name]["tasks"].items()
    task_rest = {key: value for key, value in task.items() if key != "input"}
    if set(task["input"]) != {"vnf_id", "action_id", "policies"}:
        raise RuntimeError(f"unexpected task input keys {sorted(task['input'])}")
    policies = task["input"]["policies"]  # read only: each call builds its own dicts

    def generate(case: Case) -> str:
        vnf_id, ips, action_id = case
        definition = {
            "version": doc["version"],
            prefix + vnf_id: {
                **body,
                "tasks": {task_name: {**task_rest, "input": {
                    "vnf_id": vnf_id,
                    "action_id": action_id,
                    "policies": [{"vdu": p["vdu"], "mgmt_ips": list(ips[p["vdu"]]),
                                  "monitor": p["monitor"], "parameters": dict(p["parameters"]),
                                  "actions": dict(p["actions"])} for p in policies],
                }}},
            },
        }
        return yaml.safe_dump(definition)

    return generate


def variant_generator(variant: str, vnfd_path: str) -> tuple[Callable[[Case], str], list[str]]:
    """The generate function of `variant`, and the VDUs that need a management address."""
    from nfvmon.generator import tosca, vnf_workflow, vnf_workflow_from_data
    from nfvmon.generator.loader import load_yaml_file

    vnfd = load_yaml_file(vnfd_path, tosca.vnfd_duplicate_is_error)
    vdus = list(dict.fromkeys(policy.vdu for policy in tosca.vdu_policies(vnfd, vnfd_path)))
    if variant == "nfvmon from file":
        return (lambda case: vnf_workflow(vnfd_path, *case).text), vdus
    if variant == "nfvmon from data":
        return (lambda case: vnf_workflow_from_data(vnfd, vnfd_path, *case).text), vdus
    (reference,) = make_cases(1, vdus, first=0)
    text = vnf_workflow_from_data(vnfd, vnfd_path, *reference).text
    return baseline_generator(text, reference[0]), vdus


def max_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def run_variant(variant: str, vnfd_path: str, count: int, trace_count: int) -> dict[str, Any]:
    """Child process: time `count` workflows, then trace `trace_count` more; one JSON result."""
    generate, vdus = variant_generator(variant, vnfd_path)
    cases = make_cases(count, vdus)
    for case in cases[:WARM_UP]:  # template compilation, regex and import caches
        generate(case)
    rss_ready = max_rss_kib()

    durations = [0] * count
    clock = time.perf_counter_ns
    began = clock()
    for index, case in enumerate(cases):
        start = clock()
        text = generate(case)
        durations[index] = clock() - start
    elapsed_ns = clock() - began
    rss_max = max_rss_kib()

    traced = cases[:trace_count]
    tracemalloc.start()
    for case in traced:
        generate(case)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    durations.sort()
    return {
        "variant": variant,
        "count": count,
        "vdus": len(vdus),
        "total_s": elapsed_ns / 1e9,
        "per_workflow_us": {"mean": elapsed_ns / count / 1e3,
                            "p50": percentile(durations, 0.50) / 1e3,
                            "p99": percentile(durations, 0.99) / 1e3},
        "workflows_per_s": count / (elapsed_ns / 1e9),
        "tracemalloc_peak_kib": peak / 1024,
        "tracemalloc_count": len(traced),
        "max_rss_kib": rss_max,
        "max_rss_ready_kib": rss_ready,
        "last_workflow": text,
    }


def percentile(ordered: Sequence[int], q: float) -> int:
    """Nearest-rank percentile of an ascending sequence."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def spawn(variant: str, vnfd_path: str, count: int) -> dict[str, Any] | None:
    child = subprocess.run(
        [sys.executable, __file__, "--child", variant, "--vnfd", vnfd_path,
         "--count", str(count)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"},
        check=False)
    if child.returncode != 0:
        print(f"{variant}: generation failed (exit {child.returncode}), see above",
              file=sys.stderr)
        return None
    return json.loads(child.stdout)


def same_content(texts: Sequence[str]) -> str | None:
    """None if all texts parse back with yaml.safe_load to equal documents, else why not."""
    import yaml

    # JSON text tells 1 from 1.0 from true, which == does not.
    docs = []
    for text in texts:
        doc = yaml.safe_load(text)
        if not isinstance(doc, dict) or doc.get("version") != "2.0":
            return f"not a Mistral v2 workflow: {text[:80]!r}"
        docs.append(json.dumps(doc, sort_keys=True))
    if len(set(docs)) != 1:
        return "the variants' last workflows differ once parsed"
    return None


def print_table(results: dict[str, dict[str, Any]], vnfd_path: str, sanity: str | None,
                wall_s: float, load_before: float) -> None:
    first = next(iter(results.values()))
    print(f"{first['count']} VNF workflows each, {first['vdus']} monitored VDUs, "
          f"VNFD {vnfd_path}")
    print(f"{'variant':<17} {'mean us':>9} {'p50 us':>9} {'p99 us':>9} {'wf/s':>8} "
          f"{'total s':>8} {'tracemalloc peak':>17} {'max RSS':>9} {'RSS ready':>9}")
    for variant, r in results.items():
        t = r["per_workflow_us"]
        print(f"{variant:<17} {t['mean']:>9.1f} {t['p50']:>9.1f} {t['p99']:>9.1f} "
              f"{r['workflows_per_s']:>8.0f} {r['total_s']:>8.1f} "
              f"{r['tracemalloc_peak_kib']:>13.0f} KiB {r['max_rss_kib'] / 1024:>5.1f} MiB "
              f"{r['max_rss_ready_kib'] / 1024:>5.1f} MiB")
    base = results.get("baseline")
    if base:
        for variant in ("nfvmon from file", "nfvmon from data"):
            if variant in results:
                ratio = (results[variant]["per_workflow_us"]["mean"]
                         / base["per_workflow_us"]["mean"])
                print(f"ratio {variant} / baseline (mean time per workflow): {ratio:.1f}x")
    print(f"times: tracemalloc off; tracemalloc peak: a separate pass of "
          f"{first['tracemalloc_count']} workflows per variant, results discarded")
    print("max RSS: ru_maxrss of each variant's own process after the timed pass; RSS ready: "
          "the same after imports, inputs and warm-up, before timing")
    print("sanity: last workflow of each variant parses with yaml.safe_load, all equal:",
          "ok" if sanity is None else f"FAILED ({sanity})")
    print(f"wall time of the whole run: {wall_s:.0f} s; Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, 1-min load average before the run {load_before:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10000, help="workflows per variant")
    parser.add_argument("--vnfd", default=str(DEFAULT_VNFD), help="TOSCA or Tacker VNFD")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count < 1:
        parser.error("--count must be at least 1")
    if args.child:
        result = run_variant(args.child, args.vnfd, args.count, min(args.count, TRACE_COUNT))
        json.dump(result, sys.stdout)
        return 0
    if not os.path.isfile(args.vnfd):
        parser.error(f"{args.vnfd}: no such file")

    load_before = os.getloadavg()[0]  # other work on the machine skews every figure
    began = time.monotonic()
    results = {}
    for variant in VARIANTS:
        result = spawn(variant, args.vnfd, args.count)
        if result is None:
            return 1
        results[variant] = result
    wall_s = time.monotonic() - began
    sanity = same_content([r.pop("last_workflow") for r in results.values()])

    if args.json:
        base_mean = results["baseline"]["per_workflow_us"]["mean"]
        json.dump({"vnfd": args.vnfd, "results": results, "sanity_error": sanity,
                   "wall_s": wall_s, "load_average_1min_before": load_before,
                   "cpus": os.cpu_count(), "python": sys.version.split()[0],
                   "ratio_to_baseline": {v: results[v]["per_workflow_us"]["mean"] / base_mean
                                         for v in VARIANTS if v != "baseline"}},
                  sys.stdout, indent=2)
        print()
    else:
        print_table(results, args.vnfd, sanity, wall_s, load_before)
    return 0 if sanity is None else 1


if __name__ == "__main__":
    sys.exit(main())
