#!/usr/bin/env python3
"""Checks examples/kubernetes/*.yaml: every file parses as YAML (PyYAML, a check-time tool only,
never a dependency of swa), every document is a batch/v1 Job, and every Indexed Job passes
--shard auto with --shard-count equal to its `completions`, and names its partial by
JOB_COMPLETION_INDEX. Exit 0 and a line per file; a skip line when PyYAML is missing."""
import glob
import os
import sys

try:
    import yaml
except ImportError:
    print("check-k8s-examples: skipped: PyYAML is not installed (pip install pyyaml)")
    sys.exit(0)

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "kubernetes")
failures = []
files = sorted(glob.glob(os.path.join(root, "*.yaml")))
if not files:
    failures.append("no manifests in examples/kubernetes")
for path in files:
    name = os.path.basename(path)
    with open(path) as handle:
        documents = [d for d in yaml.safe_load_all(handle) if d is not None]
    for document in documents:
        if document.get("apiVersion") != "batch/v1" or document.get("kind") != "Job":
            failures.append(f"{name}: a document is not a batch/v1 Job")
            continue
        spec = document["spec"]
        container = spec["template"]["spec"]["containers"][0]
        command = " ".join(container.get("command", []) + container.get("args", []))
        if spec.get("completionMode") == "Indexed":
            shards = {e["name"]: e.get("value") for e in container.get("env", [])}.get("SHARDS")
            if str(spec.get("completions")) != str(shards):
                failures.append(f"{name}: completions {spec.get('completions')} but SHARDS {shards}")
            for needle in ("--shard auto", '--shard-count "$SHARDS"'):
                if needle not in command:
                    failures.append(f"{name}: the indexed Job's command lacks {needle}")
            if "--partial" in command and "$JOB_COMPLETION_INDEX" not in command:
                failures.append(f"{name}: partials are not named by $JOB_COMPLETION_INDEX")
    print(f"check-k8s-examples: {name}: {len(documents)} Job(s) parse")
for failure in failures:
    print(f"check-k8s-examples: {failure}", file=sys.stderr)
sys.exit(1 if failures else 0)
