/**
 * NativeContext.call()'s own cost: many calls of tiny kernels on the CPU backend
 * (1×1 rgb_to_gray: 4 scalar fields, 2 buffers; geotrf of one point: a 16-float
 * array field; ICP reduce on 1×1: 7 buffers). Cold = the first call of a fresh
 * context, in a fresh process per sample. Usage: bun bench/callOverhead.ts [calls]
 */
import { NativeContext } from '../src/native';

const calls = Number(process.argv[2] ?? 100_000);

if (process.argv[2] === '--cold') {
  // a fresh process: the first call (lazy compilation, first FFI use), then the next 40
  // (about a frame's worth, three kernels in turn) before the JIT has warmed up
  const ctx = NativeContext.create({ backend: 'cpu', threads: 1 });
  const rgb = ctx.buffer(4), gray = ctx.buffer(4), pin = ctx.buffer(16), pout = ctx.buffer(16);
  const t = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  const rest = [
    () => ctx.call('ss_rgb_to_gray', { width: 1, height: 1 }, { rgb, gray }),
    () => ctx.call('ss_geotrf', { count: 1, dim: 3, t }, { in: pin, out: pout }),
    () => ctx.call('ss_image_pyramid_down', { src_width: 2, src_height: 2, channels: 1 }, { src: rgb, dst: gray }),
  ];
  for (const f of rest) f(); // each kernel's first call (its args check)
  const t0 = Bun.nanoseconds();
  ctx.call('ss_rgb_to_gray', { width: 1, height: 1 }, { rgb, gray });
  const t1 = Bun.nanoseconds();
  for (let i = 0; i < 40; i++) rest[i % 3]!();
  const t2 = Bun.nanoseconds();
  console.log(JSON.stringify({ first: (t1 - t0) / 1e3, next40: (t2 - t1) / 1e3 / 40 }));
  ctx.destroy();
  process.exit(0);
}

const ctx = NativeContext.create({ backend: 'cpu', threads: 1 });
const rgb = ctx.buffer(4), gray = ctx.buffer(4);
const pin = ctx.buffer(16), pout = ctx.buffer(16);
const t = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
const icpBufs = { cur_points: ctx.buffer(16), cur_normals: ctx.buffer(16), cur_gray: ctx.buffer(4), ref_points: ctx.buffer(16),
  ref_normals: ctx.buffer(16), ref_gray: ctx.buffer(4), out: ctx.buffer(4096) };
// 1×1 is below ICP's 4×4 minimum: the kernel checks and returns SS_ERR_INVALID_ARGUMENT, allowed here
const tooSmall = [1];
const pose = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0];

function bench(name: string, f: (i: number) => void): void {
  for (let i = 0; i < 2000; i++) f(i);
  const samples: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = Bun.nanoseconds();
    for (let i = 0; i < calls; i++) f(i);
    samples.push((Bun.nanoseconds() - t0) / 1e3 / calls);
  }
  samples.sort((a, b) => a - b);
  console.log(`${name.padEnd(28)} ${samples[2]!.toFixed(3)} µs/call (min ${samples[0]!.toFixed(3)})`);
}

bench('ss_rgb_to_gray 1x1', () => ctx.call('ss_rgb_to_gray', { width: 1, height: 1 }, { rgb, gray }));
bench('ss_geotrf 1 point', (i) => ctx.call('ss_geotrf', { count: 1, dim: 3, t, scale: i & 1 }, { in: pin, out: pout }));
bench('ss_icp_reduce 1x1', () => ctx.call('ss_icp_reduce', { width: 1, height: 1, fx: 1, fy: 1, cx: 0, cy: 0, cur_to_ref: pose,
  max_dist: 0.1, min_normal_cos: 0.5, huber_delta: 0.05 }, icpBufs, tooSmall));
// the FFI floor: the same kernel straight through bun:ffi
const { ptr } = await import('bun:ffi');
const packed = new Uint8Array(16);
new Uint32Array(packed.buffer).set([1, 1]);
const fn = ctx.lib.symbols.ss_rgb_to_gray as unknown as (...a: unknown[]) => number;
bench('raw bun:ffi rgb_to_gray', () => fn(ctx.handle, ptr(packed), rgb.handle, gray.handle));
ctx.destroy();

// cold: fresh processes, after each kernel's first call
const cold: { first: number; next40: number }[] = [];
for (let i = 0; i < 9; i++) {
  const p = Bun.spawnSync([process.execPath, import.meta.path, '--cold']);
  cold.push(JSON.parse(p.stdout.toString()));
}
const med = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`cold (fresh process, median of 9): next call ${med(cold.map((c) => c.first)).toFixed(1)} µs, ` +
  `next 40 calls ${med(cold.map((c) => c.next40)).toFixed(2)} µs/call`);
