#!/usr/bin/env bash
# What users do today instead of cutover, as the benchmarks run it: one `kubectl patch` per CronJob per
# cluster, suspend on the source, then resume on the target, one CronJob after the other. Nothing more: no
# read-back, no lastScheduleTime baseline, no drain, no check for a double run. (-v=6 only makes kubectl log
# each request it sends.)
#
# Usage: kubectl-loop.sh FROM_CONTEXT TO_CONTEXT LIST TIMES REQUESTS
#   kubectl and KUBECONFIG come from the environment (PATH, KUBECONFIG), as on an operator's machine.
#   LIST      lines "namespace name"
#   TIMES     gets a line per CronJob: "namespace/name <source patch answered> <target patch answered>"
#             (epoch seconds with microseconds), for the ownerless gap.
#   REQUESTS  kubectl's own log of every request it sent (-v=6), so the bench counts them exactly; on a
#             shared lab the apiserver's counter also sees other clients.
set -euo pipefail
from=$1 to=$2 list=$3 times=$4 requests=$5

while read -r ns name; do
  kubectl -v=6 --context "$from" -n "$ns" patch cronjob "$name" -p '{"spec":{"suspend":true}}' >/dev/null 2>>"$requests"
  suspended=$EPOCHREALTIME
  kubectl -v=6 --context "$to" -n "$ns" patch cronjob "$name" -p '{"spec":{"suspend":false}}' >/dev/null 2>>"$requests"
  echo "$ns/$name $suspended $EPOCHREALTIME" >>"$times"
done <"$list"
