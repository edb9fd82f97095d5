#!/usr/bin/env bash
# What a new user waits for on `cargo run --release`: a cold release build of the
# binary (`cargo build --release --locked -p vllm-sim`, an empty target directory, the
# crates already downloaded), for each REV, interleaved run by run so all see the same
# machine. Prints each build's wall and CPU (user + sys) seconds, then their medians.
#
#   bench/cold-build.sh [RUNS] [REV...]   (default 3 runs of HEAD; `.` is the work tree)
#
# Each REV other than `.` is built in a temporary git worktree. FEATURES (e.g.
# FEATURES=jemalloc) is passed to every build.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
runs=${1:-3}
shift || true
revs=("${@:-HEAD}")
work=$(mktemp -d)
cleanup() {
  for rev in "${revs[@]}"; do
    [ -d "$work/tree-$rev" ] && git worktree remove --force "$work/tree-$rev" >/dev/null 2>&1
  done
  rm -rf "$work"
}
trap cleanup EXIT

tree() { # REV: the directory holding its sources
  if [ "$1" = . ]; then pwd; return; fi
  [ -d "$work/tree-$1" ] || git worktree add --detach "$work/tree-$1" "$1" >/dev/null 2>&1
  echo "$work/tree-$1"
}

for rev in "${revs[@]}"; do (cd "$(tree "$rev")" && cargo fetch --locked --quiet); done
echo "== $(nproc) cores, load $(load); revs: ${revs[*]}; features: ${FEATURES:-default}"
for run in $(seq "$runs"); do
  for rev in "${revs[@]}"; do
    rm -rf "$work/target"
    dir=$(tree "$rev")
    TIMEFORMAT='%R %U %S'
    times=$( { time (cd "$dir" && CARGO_TARGET_DIR=$work/target cargo build --release --locked \
      --quiet -p vllm-sim ${FEATURES:+--features "$FEATURES"} >/dev/null 2>&1); } 2>&1 )
    read -r real user sys <<< "$times"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.1f", u + s}')
    echo "$rev $real $cpu" >> "$work/results"
    echo "run $run $rev (load $(load)): wall ${real} s, CPU ${cpu} s"
  done
done
echo "== median of $runs: wall, CPU (seconds)"
for rev in "${revs[@]}"; do
  echo "$rev $(awk -v r="$rev" '$1 == r {print $2}' "$work/results" | median)" \
    "$(awk -v r="$rev" '$1 == r {print $3}' "$work/results" | median)"
done
