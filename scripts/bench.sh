#!/usr/bin/env bash
# Runs the benchmarks of a build folder. Usage: scripts/bench.sh BUILD_DIR [benchmark flags]
# (the flags go to archive_bench). The gossip backlog over an emulated satellite link takes
# minutes and runs alone: see docs/benchmarks.md, "Gossip".
set -euo pipefail
build=$1
shift
"$build/bench/archive_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true "$@"
"$build/bench/gossip_bench"
