#!/usr/bin/env bash
# Runs fuzz targets for a bounded time each, with their seed corpus and dictionary, and fails
# when any of them finds a crash (a sanitizer report, a FUZZ_CHECK, a timeout or running out
# of memory). Before fuzzing, each target replays its reproducers in fuzz/crashes/TARGET-*
# (bugs once found and fixed), so a bug that comes back fails at once whatever the fuzzer
# happens to try.
#
#   fuzz/run.sh BUILD_DIR [TARGET...]       every target of fuzz/CMakeLists.txt when none given
#
# FUZZ_SECONDS (default 60) is the time per target; FUZZ_JOBS (default: the cores) how many run
# at once; FUZZ_ARGS adds libFuzzer flags; FUZZ_WORK
# (default BUILD_DIR/fuzz/work) is where runs keep their findings. What a run finds stays
# under FUZZ_WORK/TARGET: the corpus it grew (libFuzzer writes new
# inputs to the first corpus folder, so the seeds in fuzz/corpus are only read), the log, and
# crash-* / timeout-* / oom-* reproducers.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: fuzz/run.sh BUILD_DIR [TARGET...]}
shift
seconds=${FUZZ_SECONDS:-60}
if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for source in "$here"/fuzz_*.cpp; do targets+=("$(basename "$source" .cpp)"); done
fi

# One target: its reproducers replayed, then fuzzing. It prints only when done, so targets run
# side by side (FUZZ_JOBS at once) print whole lines.
fuzz_target() {
  local target=$1 binary=$build/fuzz/$1 work=${FUZZ_WORK:-$build/fuzz/work}/$1
  mkdir -p "$work/corpus" "$work/artifacts"
  rm -f "$work/failed"
  local args=(-max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1
              -artifact_prefix="$work/artifacts/")
  [ -f "$here/dict/$target.dict" ] && args+=(-dict="$here/dict/$target.dict")
  local reproducers=() file
  for file in "$here"/crashes/"$target"-*; do [ -f "$file" ] && reproducers+=("$file"); done
  if [ ${#reproducers[@]} -gt 0 ] &&
     ! "$binary" -timeout=25 -rss_limit_mb=2048 "${reproducers[@]}" >"$work/replay.log" 2>&1; then
    touch "$work/failed"
    { tail -n 40 "$work/replay.log"
      echo "fuzz: $target FAILED on a reproducer of fuzz/crashes; log in $work/replay.log"; } >&2
    return
  fi
  # shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
  if "$binary" "${args[@]}" ${FUZZ_ARGS:-} "$work/corpus" "$here/corpus/$target" \
      >"$work/log" 2>&1; then
    # The last status line, e.g. "#123456 DONE cov: 1234 ft: 5678 corp: 90/12Kb ... exec/s: 2000"
    echo "fuzz: $target for ${seconds}s (${#reproducers[@]} reproducers replayed)"
    grep -E '^#[0-9]+' "$work/log" | tail -n 1 | sed 's/^/  /'
  else
    touch "$work/failed"
    { tail -n 40 "$work/log"
      echo "fuzz: $target FAILED; reproducers in $work/artifacts, log in $work/log"; } >&2
  fi
}

for target in "${targets[@]}"; do
  [ -x "$build/fuzz/$target" ] || { echo "fuzz: $build/fuzz/$target is not built" >&2; exit 1; }
done
parallel=${FUZZ_JOBS:-$(nproc)}
for target in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  fuzz_target "$target" &
done
wait

failed=()
for target in "${targets[@]}"; do
  [ -e "${FUZZ_WORK:-$build/fuzz/work}/$target/failed" ] && failed+=("$target")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds}s each without a crash"
