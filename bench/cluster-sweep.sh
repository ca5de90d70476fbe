#!/usr/bin/env bash
# The measurement in docs/cluster.md: the same tiny and small MLP sweeps in process, in 2 local worker processes
# and through Slurm (--slurm-cpus 1), checked byte for byte, then the fixed cost of one trivial evaluation job.
# Needs a Slurm cluster (sudo ./scripts/slurm-cluster start; export the SLURM_CONF it prints) and the
# dataset-fashion-mnist package. Usage: bench/cluster-sweep.sh OUT (OUT must be a folder every node sees).
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
M="$(realpath -m "${1:?usage: bench/cluster-sweep.sh OUT}")"
rm -rf "$M"; mkdir -p "$M"
./soup --help >/dev/null   # build first, outside the timings
t() { local name=$1; shift; local s e; s=$(date +%s.%N); "$@" >"$M/$name.log" 2>&1; local rc=$?; e=$(date +%s.%N)
      echo "$name rc=$rc wall=$(echo "$e - $s" | bc) load=$(cut -d' ' -f1-3 /proc/loadavg)"; }
for size in tiny small; do
  if [ $size = tiny ]; then A=(--runs 3 --subset 64 --steps 4); else A=(--runs 8 --subset 512 --steps 100); fi
  t $size-inprocess ./soup finetune --model mlp --data fashion-mnist "${A[@]}" --out "$M/$size-inprocess"
  t $size-parallel2 ./soup finetune --model mlp --data fashion-mnist "${A[@]}" --out "$M/$size-parallel2" --parallel 2
  t $size-slurm ./soup finetune --model mlp --data fashion-mnist "${A[@]}" --out "$M/$size-slurm" --executor slurm --slurm-cpus 1 --slurm-poll 1
  for r in "$M/$size-inprocess"/run-*; do n=$(basename "$r")
    cmp -s "$r/model.safetensors" "$M/$size-slurm/$n/model.safetensors" && cmp -s "$r/model.safetensors" "$M/$size-parallel2/$n/model.safetensors" \
      || echo "DIFFERENT $size $n"; done
done
mkdir -p "$M/model"; cp "$M/tiny-inprocess/run-000/"* "$M/model/"
t eval-inprocess ./soup eval "$M/model" --eval-cmd 'echo 1 # {model}'
t eval-slurm ./soup eval "$M/model" --eval-cmd 'echo 1 # {model}' --executor slurm --result-file "$M/eval.json" --slurm-poll 1
t eval-slurm-poll0.2 ./soup eval "$M/model" --eval-cmd 'echo 1 # {model}' --executor slurm --result-file "$M/eval2.json" --slurm-poll 0.2
