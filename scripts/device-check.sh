#!/usr/bin/env bash
# The GPU machine's check, in one call (never run by CI). Steps (STEPS, default all):
#   build     the CPU (+ stand-in) and CUDA libraries (sm_90)
#   parity    the parity suite: every kernel on CUDA (or on the CPU in its place) vs the CPU
#   sanitize  compute-sanitizer memcheck and racecheck over the CUDA parity group (memcheck, racecheck: one of them)
#   bench     bench/backends.ts (fusion frames and every kernel's parity case per backend)
#   scan      `scan` of the TUM clip (.device/tum30) on --backend cpu and cuda: trajectory
#             difference (ATE of one against the other), per-stage times and the CPU fallback's cost
#   mast3r    bench/mast3r.ts --backend cuda: our kernels on CUDA against MASt3R's code on torch CUDA
#             and again with SCANSTREAM_CUDA_FFMA=1 (the float32 FFMA scan instead of the tensor cores), summarised
#   (bench and mast3r run with SCANSTREAM_CUDA_SYNC=1: each call waits for its kernels, so a call's time is theirs)
# Results under $OUT (at most 8 files come back): summary.txt, logs.txt, parity.txt,
# backends.json, scan-cpu.json, scan-cuda.json, scan-compare.json, mast3r.json.
#
# Prepare here first (the device call carries .device; ~60 MiB of the 64 allowed):
#   mkdir -p .device && xz -T2 -c node_modules/bun/bin/bun.exe > .device/bun.xz
#   tar cJf .device/sharp.tar.xz -C node_modules sharp @img detect-libc semver
#   bun build tests/parity/parity.test.ts --target=bun --outfile .device/parity.test.js
#   bun build bench/backends.ts --target=bun --outfile .device/backends.js
#   bun build src/cli.ts --target=bun --external sharp --outfile .device/cli.js
#   bun build bench/mast3r.ts --target=bun --outfile .device/mast3r.js
#   git archive --format=tar.gz -o .device/src.tgz HEAD   (optional: check HEAD, bundles built from it too)
#   .device/tum30: the first 30 frames of ../shared/data/tum_fr1_rpy with lossless WebP colour
#     (pixel-identical to the PNGs; the clip in PNG does not fit the carry) and the PNG depth,
#     associations.txt and groundtruth.txt
# then `bash scripts/device-check.sh` there with carry [".device"].
set -u
STEPS=${STEPS:-build parity scan mast3r bench sanitize}
# .device/src.tgz (git archive HEAD): check that commit, not the working tree that travelled with it
if [ -f .device/src.tgz ] && [ -z "${SCANSTREAM_CHECKOUT:-}" ]; then
  rm -rf /tmp/checkout && mkdir -p /tmp/checkout && tar xzf .device/src.tgz -C /tmp/checkout && cp -r .device /tmp/checkout/
  cd /tmp/checkout && export SCANSTREAM_CHECKOUT=1
fi
has() { [[ " $STEPS " == *" $1 "* ]]; }
log() { echo "$*" | tee -a "$OUT/summary.txt"; }
xz -d -c .device/bun.xz > /tmp/bun && chmod +x /tmp/bun
mkdir -p node_modules && tar xJf .device/sharp.tar.xz -C node_modules
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$OUT/summary.txt"
export SCANSTREAM_ROOT=$PWD
if has build; then
  (cmake -S native -B build/cpu -DCMAKE_BUILD_TYPE=Release && cmake --build build/cpu -j"$(nproc)" --target scanstream_cpu scanstream_standin) \
    > /tmp/build-cpu.log 2>&1 || { log "cpu build failed"; tail -20 /tmp/build-cpu.log; }
  (cmake -S native/cuda -B build/cuda -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 && cmake --build build/cuda -j"$(nproc)") \
    > /tmp/build-cuda.log 2>&1 || { log "cuda build failed"; tail -30 /tmp/build-cuda.log; }
  { echo "== build-cpu"; tail -5 /tmp/build-cpu.log; echo "== build-cuda"; tail -5 /tmp/build-cuda.log; } >> "$OUT/logs.txt"
fi
if has parity; then
  timeout 120 /tmp/bun test ./.device/parity.test.js > "$OUT/parity.txt" 2>&1; log "parity exit $?"
  grep -E "^\(fail\)|pass$|fail$|skip$" "$OUT/parity.txt" | tail -6 | tee -a "$OUT/summary.txt"
fi
if has scan; then
  # cuda-sync: every CUDA call waits for its kernels (SCANSTREAM_CUDA_SYNC=1), so its per-kernel times are the kernels'
  for b in cpu cuda cuda-sync; do
    SCANSTREAM_CUDA_SYNC=$([ $b = cuda-sync ] && echo 1 || echo 0) timeout 200 /tmp/bun .device/cli.js scan --source tum:.device/tum30 \
      --intrinsics fr1 --out /tmp/scan-$b --quiet --backend ${b%-sync} > /tmp/scan-$b.out 2> /tmp/scan-$b.err; log "scan $b exit $?"
    [ $b = cuda-sync ] || cp /tmp/scan-$b/report.json "$OUT/scan-$b.json" 2>/dev/null
    { echo "== scan $b"; tail -5 /tmp/scan-$b.out; tail -10 /tmp/scan-$b.err; } >> "$OUT/logs.txt"
  done
  # the CUDA trajectory against the CPU's (rigid Horn alignment as TUM's evaluate_ate: a pure offset shows too)
  /tmp/bun .device/cli.js eval traj --est /tmp/scan-cuda/trajectory.txt --truth /tmp/scan-cpu/trajectory.txt > "$OUT/scan-compare.json" 2>> "$OUT/logs.txt"
  log "scan compare exit $?"
  python3 - <<'PY' | tee -a "$OUT/summary.txt"
import json, os
out = os.environ['OUT']
c = json.load(open(f'{out}/scan-compare.json'))
print('cuda vs cpu trajectory ATE rmse (m):', c['ate']['rmse'], 'max:', c['ate'].get('max'))
for b in ('cpu', 'cuda', 'cuda-sync'):
    r = json.load(open(f'/tmp/scan-{b}/report.json'))
    n = r['native']
    stages = {k: v['medianMs'] for k, v in r['stages'].items()}
    fb = n['fallback']
    print(b, 'frames', r['frames'], 'fps', r['framesPerSecond'], 'pipeline fps', r.get('pipelineFramesPerSecond'), 'stages', stages)
    print(b, 'fallback calls', fb['calls'], 'bytes', fb['bytesCopied'], 'ms', round(fb['ms'], 1),
          'ms/frame', round(fb['ms'] / max(1, r['frames']), 2), 'kernels', fb['kernels'])
    # where the time goes: kernels, transfers, the FFI's share, and TypeScript (the stages' rest)
    t = n['times']
    staged = sum(v['meanMs'] * v['count'] for v in r['stages'].values())
    native = t['kernelMs'] + t['uploads']['ms'] + t['downloads']['ms']
    per = lambda ms: round(ms / max(1, r['frames']), 3)
    print(b, 'per frame ms: stages', per(staged), 'kernels', per(t['kernelMs']), 'uploads', per(t['uploads']['ms']),
          'downloads', per(t['downloads']['ms']), 'ffi (est.)', per(t['ffiMsEstimate']), 'typescript', per(staged - native))
    print(b, 'top kernels (calls, ms):', [(k['kernel'], k['calls'], k['ms']) for k in t['byKernel'][:6]])
PY
fi
if has mast3r; then
  SCANSTREAM_CUDA_SYNC=1 SCANSTREAM_COMMIT=$(cat .device/commit 2>/dev/null) timeout 150 /tmp/bun .device/mast3r.js --backend cuda > "$OUT/mast3r.json" 2> /tmp/mast3r.err
  log "mast3r bench exit $?"
  # the same with the FFMA scan in place of the tensor cores (SCANSTREAM_CUDA_FFMA=1), its headline numbers only
  SCANSTREAM_CUDA_FFMA=1 SCANSTREAM_CUDA_SYNC=1 timeout 150 /tmp/bun .device/mast3r.js --backend cuda > /tmp/mast3r-ffma.json 2> /tmp/mast3r-ffma.err
  log "mast3r bench (FFMA scan) exit $?"
  python3 - <<'PY' | tee -a "$OUT/summary.txt"
import json, os
for name, f in (('tensor', os.environ['OUT'] + '/mast3r.json'), ('ffma', '/tmp/mast3r-ffma.json')):
    try:
        r = json.load(open(f))
    except Exception as e:
        print(name, 'no result', e); continue
    nn = r.get('reciprocal_nn', {}).get('20000', {})
    fast = {k.split(' ')[0]: (v.get('kernel', {}).get('median_ms'), v.get('torch_ms'), v.get('same_as_torch')) for k, v in r.get('fast_reciprocal_nn', {}).items()}
    print(name, 'reciprocal 20000: kernel', nn.get('kernel', {}).get('median_ms'), 'torch', nn.get('torch_ms'), 'same', nn.get('same_as_torch'),
          '| fast (kernel, torch, same):', fast)
PY
  { echo "== mast3r stderr"; tail -60 /tmp/mast3r.err; } | tee -a "$OUT/logs.txt" | tail -40
fi
if has bench; then
  timeout 60 /tmp/bun .device/backends.js > "$OUT/backends.json" 2>> /tmp/backends.err; log "bench exit $?"
  { echo "== backends stderr"; tail -20 /tmp/backends.err; } >> "$OUT/logs.txt"
fi
if has sanitize || has memcheck; then
  timeout 120 compute-sanitizer --tool memcheck --print-limit 20 /tmp/bun test --timeout 60000 ./.device/parity.test.js -t "^cuda" > /tmp/memcheck.txt 2>&1
  log "memcheck exit $? $(grep -E 'ERROR SUMMARY' /tmp/memcheck.txt | tail -1)"
  { echo "== memcheck"; tail -30 /tmp/memcheck.txt; } >> "$OUT/logs.txt"
fi
if has sanitize || has racecheck; then
  timeout 150 compute-sanitizer --tool racecheck --print-limit 20 /tmp/bun test --timeout 60000 ./.device/parity.test.js -t "^cuda" > /tmp/racecheck.txt 2>&1
  log "racecheck exit $? $(grep -E 'RACECHECK SUMMARY' /tmp/racecheck.txt | tail -1)"
  { echo "== racecheck"; tail -15 /tmp/racecheck.txt; } >> "$OUT/logs.txt"
fi
