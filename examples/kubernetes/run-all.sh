#!/bin/sh
# The whole chain on Kubernetes: Jobs have no "after" of their own, so each step waits for the
# one before it to complete (kubectl wait) and stops at the first failure (set -e).
#
#   avg (8 pods) -> avg-merge -> bn-update (32 pods) -> bn-merge -> eval (8 pods) -> eval-merge
set -eu
here=$(dirname "$0")
step() {  # step JOB: resume a suspended Job (or it was started by apply), then wait for it
  kubectl patch "job/$1" --type=merge -p '{"spec":{"suspend":false}}' >/dev/null 2>&1 || true
  kubectl wait --for=condition=complete --timeout=48h "job/$1"
}
kubectl apply -f "$here/avg-job.yaml";        step swa-avg; step swa-avg-merge
kubectl apply -f "$here/bn-update-job.yaml";  step swa-bn-update
kubectl apply -f "$here/bn-merge-job.yaml";   step swa-bn-merge
kubectl apply -f "$here/eval-job.yaml";       step swa-eval; step swa-eval-merge
echo "done: /work/swa-bn.safetensors and /work/eval.json on the swa-work volume"
