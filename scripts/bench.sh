#!/usr/bin/env bash
# Runs the benchmarks of a build folder. Usage: scripts/bench.sh BUILD_DIR [benchmark flags]
# The flags go to archive_bench (Google Benchmark). FIELDSYNC_BENCH_LARGE=1 adds the
# 1,000,000-object runs of reconciliation (about 3 minutes more, most of it signing and
# storing a million objects). Results and what they mean: docs/benchmarks.md.
# The gossip backlog over an emulated satellite link takes minutes and runs alone: see
# docs/benchmarks.md, "Gossip". field_bench runs its quick sizes here (about 2 minutes, most
# of it waiting on emulated satellite and 2G links); `field_bench --full` is the documented run
# (docs/benchmarks.md, "Field links").
set -euo pipefail
build=$1
shift
# The commit's breakdown and the import to a million objects fill archives of 100k-1M
# objects each (about 15 minutes, 7 GB under /tmp): only with FIELDSYNC_BENCH_LARGE=1.
"$build/bench/archive_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_filter='-BM_Commit|BM_ImportGrowth' "$@"
"$build/bench/reconcile_bench" 100000
"$build/bench/sync_bench" all
if [[ "${FIELDSYNC_BENCH_LARGE:-0}" == 1 ]]; then
  "$build/bench/archive_bench" --benchmark_filter='BM_Commit|BM_ImportGrowth'
  "$build/bench/reconcile_bench" 1000000
  "$build/bench/sync_bench" index 100000 1000000
fi
"$build/bench/gossip_bench"
"$build/bench/field_bench"
