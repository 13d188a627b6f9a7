/**
 * A partial backend runs every command: the stand-in (the CPU library built to
 * claim only the point-map and TSDF kernels, answering SS_ERR_UNSUPPORTED for
 * the rest, as a half-ported GPU backend does) against the plain CPU backend,
 * command by command. The kernels it lacks run on the CPU in its place, over
 * the same memory: results are identical to the byte and nothing is copied.
 */
import { suffix } from 'bun:ffi';
import { afterAll, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeNpy } from '../../src/mast3r/npy';
import { randomUnitRows, syntheticDescriptorPair } from '../../src/mast3r/synthetic';
import { tumDir } from '../frames/helpers';

const root = resolve(import.meta.dir, '..', '..');
const standin = join(root, 'build', 'cpu', `libscanstream_standin.${suffix}`);
const work = mkdtempSync(join(tmpdir(), 'scanstream-partial-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** standin-mirrored: the stand-in with CUDA's memory model (a host mirror apart from what kernels read) */
type Backend = 'cpu' | 'standin' | 'standin-mirrored';
interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(backend: Backend, ...args: string[]): Run {
  const env = { ...process.env, CI: '1', SCANSTREAM_BACKEND: '', SCANSTREAM_LIB: backend === 'cpu' ? '' : standin };
  const as = backend === 'standin-mirrored' ? 'cuda' : 'cpu';
  const r = Bun.spawnSync([process.execPath, join(root, 'src', 'cli.ts'), ...args, '--backend', as], { cwd: work, env });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

interface NativeReport {
  backend: string;
  cpuFallbackKernels: string[];
  fallback: { calls: number; bytesCopied: number; kernels: string[] };
}

/** Runs a command on the CPU and the stand-in(s) into out/<backend>/; returns the runs. */
function both(name: string, args: (out: string) => string[], mirrored = false): Record<Backend, Run & { out: string }> {
  const result = {} as Record<Backend, Run & { out: string }>;
  for (const backend of ['cpu', 'standin', ...(mirrored ? ['standin-mirrored' as const] : [])] as const) {
    const out = join(work, name, backend);
    mkdirSync(out, { recursive: true });
    result[backend] = { ...cli(backend, ...args(out)), out };
    if (result[backend].code !== 0) console.error(`${name} on ${backend}:\n${result[backend].stderr}`);
    expect(result[backend].code).toBe(0);
  }
  return result;
}

function expectSameFiles(runs: Partial<Record<Backend, { out: string }>>, files: string[]): void {
  for (const other of [runs.standin, runs['standin-mirrored']]) {
    if (other) for (const f of files) expect(`${f} ${sha(join(other.out, f))}`).toBe(`${f} ${sha(join(runs.cpu!.out, f))}`);
  }
}

/** Under CUDA's memory model the fallen-back kernels' buffers crossed between host and device: bytes were copied. */
function expectMirroredCopies(run: Run & { out: string }, reportFile: string): void {
  expect(run.stderr).toContain('the cpu-standin-mirrored backend lacks');
  const native = (JSON.parse(readFileSync(join(run.out, reportFile), 'utf8')) as { native: NativeReport }).native;
  expect(native.backend).toBe('cpu-standin-mirrored');
  expect(native.fallback.bytesCopied).toBeGreaterThan(0);
}

/** The stand-in said once which kernels ran on the CPU, and copied nothing doing it. */
function expectFallbackReported(run: Run & { out: string }, reportFile: string, used: string[]): void {
  const note = /the cpu-standin backend lacks (\d+) of (\d+) kernels; they run on the CPU: ([\w, ]+)/.exec(run.stderr);
  expect(note).not.toBeNull();
  expect(run.stderr.split('the cpu-standin backend lacks').length - 1).toBe(1);
  const named = note![3]!.split(', ');
  for (const k of used) expect(named).toContain(k);
  const native = (JSON.parse(readFileSync(join(run.out, reportFile), 'utf8')) as { native: NativeReport }).native;
  expect(native.backend).toBe('cpu-standin');
  expect(native.cpuFallbackKernels).toEqual(named);
  for (const k of used) expect(native.fallback.kernels).toContain(k);
  expect(native.fallback.calls).toBeGreaterThan(0);
  expect(native.fallback.bytesCopied).toBe(0);
}

describe('every command on a partial backend gives the CPU backend\'s results', () => {
  test('the stand-in library is built and claims only point maps and TSDF', () => {
    expect(existsSync(standin)).toBe(true);
    const r = Bun.spawnSync([process.execPath, join(root, 'src', 'cli.ts'), 'backends', '--backend', 'cpu', '--json'],
      { env: { ...process.env, SCANSTREAM_LIB: standin } });
    const [report] = JSON.parse(r.stdout.toString()) as { kernels: { kernel: string; runsOn: string }[] }[];
    const own = report!.kernels.filter((k) => k.runsOn === 'backend').map((k) => k.kernel);
    expect(own).toEqual(['ss_depth_to_points', 'ss_points_to_normals', 'ss_depth_pyramid_down', 'ss_image_pyramid_down', 'ss_geotrf',
      'ss_tsdf_touched_blocks', 'ss_tsdf_integrate', 'ss_tsdf_mesh_blocks', 'ss_tsdf_raycast', 'ss_tsdf_clear_blocks',
      'ss_tsdf_hash_scatter', 'ss_tsdf_hash_lookup']);
  });

  // with mirrored memory too: every host read of a kernel's output needs a download, every host write an upload
  // (the scan once tracked nothing on CUDA: the tracker read level-0 depth without downloading it)
  test.skipIf(!existsSync(tumDir))('scan of the TUM clip: same trajectory.txt and mesh.ply, tracking kernels on the CPU in its place, shared or mirrored memory', () => {
    const runs = both('tum', (out) => ['scan', '--source', `tum:${tumDir}`, '--frames', '40', '--out', out, '--quiet'], true);
    expectSameFiles(runs, ['trajectory.txt', 'mesh.ply']);
    expectFallbackReported(runs.standin, 'report.json', ['ss_rgb_to_gray', 'ss_tsdf_raycast_guided', 'ss_icp_reduce', 'ss_orb_extract']);
    expectMirroredCopies(runs['standin-mirrored'], 'report.json');
  }, 180_000);

  test('scan --mode mono of a synthetic room: same trajectory.txt and mesh.ply, plane sweep and matching on the CPU in its place, shared or mirrored memory', () => {
    const runs = both('mono', (out) => ['scan', '--mode', 'mono', '--source', 'synthetic:room?frames=45&width=320&height=240&fx=262.5&fy=262.5',
      '--mono', '{"depthDownsample":2}', '--out', out, '--quiet'], true);
    expectSameFiles(runs, ['trajectory.txt', 'mesh.ply']);
    expectFallbackReported(runs.standin, 'report.json', ['ss_plane_sweep', 'ss_orb_extract']);
    expectMirroredCopies(runs['standin-mirrored'], 'report.json');
  }, 120_000);

  test('fuse of a synthetic room: same mesh.ply, every kernel on the stand-in itself', () => {
    const runs = both('fuse', (out) => ['fuse', '--source', 'synthetic:room?frames=20', '--out', join(out, 'mesh.ply')]);
    expectSameFiles(runs, ['mesh.ply']);
    const native = (JSON.parse(readFileSync(join(runs.standin.out, 'mesh.report.json'), 'utf8')) as { native: NativeReport }).native;
    expect(native.backend).toBe('cpu-standin');
    expect(native.fallback.calls).toBe(0);
  }, 120_000);

  describe('every mast3r subcommand', () => {
    const D = 24;
    const input = (name: string): string => join(work, 'mast3r-in', name);
    mkdirSync(join(work, 'mast3r-in'), { recursive: true });
    writeNpy(input('A.npy'), { data: randomUnitRows(300, D, 1), shape: [300, D] });
    writeNpy(input('B.npy'), { data: randomUnitRows(257, D, 2), shape: [257, D] });
    const [m1, m2] = syntheticDescriptorPair(48, 64, D, 3);
    writeNpy(input('m1.npy'), m1);
    writeNpy(input('m2.npy'), m2);
    writeNpy(input('depth.npy'), { data: Float32Array.from({ length: 2 * 12 * 16 }, (_, i) => (i % 7 === 0 ? 0 : 1 + (i % 5) * 0.25)), shape: [2, 12, 16] });
    writeNpy(input('p2.npy'), { data: Float32Array.of(100, 80, 150, 130, 50, 80, 100, 130), shape: [1, 2, 2, 2] });
    writeNpy(input('P.npy'), { data: Float32Array.of(500, 0, 100, 0, 0, 500, 80, 0, 0, 0, 1, 0, 500, 0, 100, -50, 0, 500, 80, 0, 0, 0, 1, 0), shape: [1, 2, 3, 4] });
    const N = 2, H = 5, W = 6;
    writeNpy(input('d.npy'), { data: Float32Array.from({ length: N * H * W }, (_, i) => 2 + 0.01 * (i % 7)), shape: [N, H, W] });
    writeNpy(input('c.npy'), { data: Float32Array.from({ length: N * H * W }, (_, i) => 1 + (i % 3)), shape: [N, H, W] });
    writeNpy(input('cam.npy'), { data: Float32Array.of(1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0.1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1), shape: [N, 4, 4] });
    writeNpy(input('K.npy'), { data: Float32Array.of(10, 0, 2.5, 0, 10, 2, 0, 0, 1, 10, 0, 2.5, 0, 10, 2, 0, 0, 1), shape: [N, 3, 3] });

    const cases: [string, (out: string) => string[], string[], string[]][] = [
      ['reciprocal-nn', (o) => ['reciprocal-nn', input('A.npy'), input('B.npy'), '--dist', 'dot', '--out', join(o, 'r')], ['r.nn_a.npy', 'r.nn_b.npy'], ['ss_mast3r_reciprocal_nn']],
      ['fast-reciprocal-nn', (o) => ['fast-reciprocal-nn', input('m1.npy'), input('m2.npy'), '--subsample', '4', '--pixel-tol', '2', '--out', join(o, 'f')],
        ['f.xy1.npy', 'f.xy2.npy'], ['ss_mast3r_desc_index', 'ss_mast3r_nn_query']],
      ['depthmap-to-pts3d', (o) => ['depthmap-to-pts3d', input('depth.npy'), '--fx', '300', '--fy', '310', '--out', join(o, 'pts.npy')], ['pts.npy'], []],
      ['triangulate', (o) => ['triangulate', input('p2.npy'), input('P.npy'), '--out', join(o, 'X.npy')], ['X.npy'], ['ss_mast3r_triangulate']],
      ['refine-depths-tsdf', (o) => ['refine-depths-tsdf', input('d.npy'), input('c.npy'), input('cam.npy'), input('K.npy'), '--tau', '0.05', '--samples', '20', '--seed', '7',
        '--out', join(o, 'o.npy')], ['o.npy'], ['ss_mast3r_refine_depths_tsdf']],
    ];
    for (const [name, args, files, fallsBack] of cases) {
      test(`mast3r ${name}: same output files${fallsBack.length ? `, ${fallsBack.join(' and ')} on the CPU in its place` : ''}`, () => {
        const runs = both(`mast3r-${name}`, (o) => ['mast3r', ...args(o)]);
        expectSameFiles(runs, files);
        for (const k of fallsBack) expect(runs.standin.stderr).toMatch(new RegExp(`the cpu-standin backend lacks \\d+ of \\d+ kernels; they run on the CPU: .*${k}`));
      }, 60_000);
    }
  });
});
