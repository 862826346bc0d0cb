#!/usr/bin/env bash
# Builds Herald's libFuzzer targets and runs each for a bounded time; exits non-zero when one crashes.
#   Fuzz/run.sh [seconds-per-target] [target…]      (default: 30 seconds, every target)
# Each target starts from its committed seed corpus (Fuzz/corpus/<target>/, read only) plus what earlier
# runs found (artifacts/fuzz/<target>/corpus/); a crashing input is written to artifacts/fuzz/<target>/.
# Fuzz/README.md says how to run longer and how to turn a crash into a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(client-message resp-reply)

# Release builds fuzz three times faster and keep Swift's overflow, bounds and precondition checks (-O, not -Ounchecked).
scratch="$root/.build-fuzz-targets"
build=(swift build --package-path Fuzz --scratch-path "$scratch" --sanitize=fuzzer --sanitize=address -c release)
mkdir -p "$root/artifacts/fuzz"
if ! "${build[@]}" >"$root/artifacts/fuzz/build.log" 2>&1; then
  grep -v -e "Cannot export local symbol '__asan" "$root/artifacts/fuzz/build.log" | tail -40 >&2
  echo "fuzz: the targets did not build (artifacts/fuzz/build.log)" >&2
  exit 1
fi
bin=$("${build[@]}" --show-bin-path)

executable() {
  case "$1" in
    client-message) echo ClientMessageFuzz ;;
    resp-reply) echo RESPReplyFuzz ;;
    *) echo "unknown fuzz target '$1' (client-message, resp-reply)" >&2; exit 2 ;;
  esac
}

# hiredis reserves 8 bytes per element an array header announces, before the elements arrive: address space, not
# memory. Redis is trusted, so resp-reply limits resident memory only, and a reservation AddressSanitizer cannot
# make returns null (as in production) instead of aborting. Fuzz/README.md has the reasoning.
limits() {
  case "$1" in
    resp-reply) echo "-malloc_limit_mb=1048576" ;;
    *) echo "" ;;
  esac
}
asan_options() {
  case "$1" in
    resp-reply) echo "allocator_may_return_null=1" ;;
    *) echo "" ;;
  esac
}

failed=0
for target in "${targets[@]}"; do
  program="$bin/$(executable "$target")"
  [ -x "$program" ] || { echo "fuzz: $program was not built" >&2; exit 1; }
  out="$root/artifacts/fuzz/$target"
  mkdir -p "$out/corpus"
  log="$out/fuzz.log"
  # -timeout: one input taking this long is a hang, reported like a crash. -rss_limit_mb: so is an input that
  # makes the parser hold gigabytes; for client-message, so is one allocation of that size (libFuzzer's default).
  # Swift's own backtracer is off so that libFuzzer and AddressSanitizer report a crash (and save its input).
  # shellcheck disable=SC2046
  if SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=$(asan_options "$target") "$program" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 $(limits "$target") \
      -dict="Fuzz/dict/$target.dict" -artifact_prefix="$out/" -print_final_stats=1 \
      "$out/corpus" "Fuzz/corpus/$target" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz $target: no crash in $seconds s ($runs inputs)"
  else
    failed=1
    echo "fuzz $target: FAILED — log: $log" >&2
    grep -E "Fatal error|ERROR: |SUMMARY: |^ *#[0-9]+ |Test unit written" "$log" | head -40 >&2
    ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* 2>/dev/null >&2 || true
  fi
done
exit $failed
