#!/usr/bin/env bash
# The GPU machine's check, in one call (never run by CI): builds the CPU and CUDA libraries there (sm_90),
# runs the parity suite CUDA vs CPU, compute-sanitizer memcheck and racecheck on it, and the backends
# benchmark twice; results under $OUT. Prepare here first (the device call carries .device):
#   mkdir -p .device && xz -T2 -c node_modules/bun/bin/bun.exe > .device/bun.xz
#   bun build tests/parity/parity.test.ts --target=bun --outfile .device/parity.test.js
#   bun build bench/backends.ts --target=bun --outfile .device/backends.js
# then run `bash scripts/device-check.sh` there with carry [".device"]. See ../shared/device.md.
set -u
xz -d -c .device/bun.xz > /tmp/bun && chmod +x /tmp/bun
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$OUT/gpu.txt"
(cmake -S native -B build/cpu -DCMAKE_BUILD_TYPE=Release && cmake --build build/cpu -j"$(nproc)") > "$OUT/build-cpu.log" 2>&1 ||
  { echo "cpu build failed"; tail -20 "$OUT/build-cpu.log"; }
(cmake -S native/cuda -B build/cuda -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 && cmake --build build/cuda -j"$(nproc)") \
  > "$OUT/build-cuda.log" 2>&1 || { echo "cuda build failed"; tail -30 "$OUT/build-cuda.log"; }
export SCANSTREAM_ROOT=$PWD
timeout 200 /tmp/bun test ./.device/parity.test.js > "$OUT/parity.txt" 2>&1; echo "parity exit $?"
grep -E "^\(fail\)|pass$|fail$|skip$" "$OUT/parity.txt" | tail -6
timeout 200 compute-sanitizer --tool memcheck --print-limit 20 /tmp/bun test ./.device/parity.test.js -t cuda > "$OUT/memcheck.txt" 2>&1
echo "memcheck exit $?"; grep -E "ERROR SUMMARY" "$OUT/memcheck.txt" | tail -1
timeout 200 compute-sanitizer --tool racecheck --print-limit 20 /tmp/bun test ./.device/parity.test.js -t "cuda.*TSDF" > "$OUT/racecheck.txt" 2>&1
echo "racecheck exit $?"; grep -E "RACECHECK SUMMARY" "$OUT/racecheck.txt" | tail -1
for run in 1 2; do
  timeout 150 /tmp/bun .device/backends.js > "$OUT/backends$run.json" 2>> "$OUT/backends.err"; echo "bench $run exit $?"
done
python3 - <<'PY'
import json, os
for run in (1, 2):
    d = json.load(open(f"{os.environ['OUT']}/backends{run}.json"))
    for k, v in d['results'].items():
        print(k, 'threads', v['threads'], 'integrate', v['integrate']['medianMs'], 'mesh', v['incrementalMesh']['medianMs'],
              'raycast', v['raycast']['medianMs'], 'tris', v['triangles'])
PY
