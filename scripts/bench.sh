#!/usr/bin/env bash
# Runs the benchmarks of a build folder. Usage: scripts/bench.sh BUILD_DIR [benchmark flags]
set -euo pipefail
build=$1
shift
"$build/bench/archive_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true "$@"
