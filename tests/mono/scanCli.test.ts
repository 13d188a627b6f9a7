import { afterAll, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { lastValueFrom, map, take, toArray } from 'rxjs';
import { syntheticSource } from '../../src/frames/synthetic';
import { NativeContext } from '../../src/native';
import { depthAwarePipeline } from '../../src/pipeline/mono';
import { readPly } from '../../src/fusion/ply';

const root = resolve(import.meta.dir, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'scanstream-mono-'));
const ctx = NativeContext.create({ backend: 'cpu' });
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  ctx.destroy();
});

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync([process.execPath, join(root, 'src', 'cli.ts'), ...args], { cwd: work, env: { ...process.env, CI: '1' } });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

test('scan --mode mono on a synthetic source writes trajectory.txt, mesh.ply and report.json with a Sim3 ATE', async () => {
  const out = join(work, 'syn');
  const r = cli('scan', '--mode', 'mono', '--source', 'synthetic:room?frames=45&width=320&height=240&fx=262.5&fy=262.5', '--mono', '{"depthDownsample":2}',
    '--out', out, '--quiet');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const lines = readFileSync(join(out, 'trajectory.txt'), 'utf8').split('\n').filter((l) => l && !l.startsWith('# scanstream') && !l.startsWith('# timestamp'));
  expect(lines.length).toBe(45);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
    mode: string; frames: number; tracked: number; keyframes: number; depthMaps: number; evaluation: { ate: { rmse: number; alignment: string } };
  };
  console.log(`scan --mode mono: ${report.tracked}/${report.frames} posed, ${report.keyframes} keyframes, ${report.depthMaps} depth maps, ATE (Sim3) ${(report.evaluation.ate.rmse * 100).toFixed(2)} cm`);
  expect(report.mode).toBe('mono');
  expect(report.frames).toBe(45);
  expect(report.tracked).toBeGreaterThanOrEqual(40);
  expect(report.evaluation.ate.alignment).toBe('sim3');
  expect(report.evaluation.ate.rmse).toBeLessThan(0.02);
  expect(report.depthMaps).toBeGreaterThan(0);
  const mesh = await readPly(join(out, 'mesh.ply'));
  expect(mesh.indices!.length).toBeGreaterThan(300);
  expect(existsSync(join(out, 'trajectory.svg'))).toBe(true);
}, 60_000);

test('bad mono flags fail with a message and exit code 2', () => {
  const out = join(work, 'bad');
  const cases: [string[], RegExp][] = [
    [['--mode', 'stereo'], /--mode must be rgbd or mono/],
    [['--mode', 'mono', '--distortion', '0.1,0.2'], /--distortion must be five numbers/],
    [['--mode', 'mono', '--fov', '5'], /--fov must be/],
    [['--mode', 'mono', '--mono', '{"depthPlanes": 2}'], /depthPlanes/],
    [['--mode', 'mono', '--mono', 'not json'], /--mono must be JSON/],
    [['--mode', 'mono', '--voxel-ratio', '0'], /--voxel-ratio/],
  ];
  for (const [args, message] of cases) {
    const r = cli('scan', '--source', 'synthetic:room?frames=2', '--out', out, '--quiet', ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  }
});

test('the server\'s tracking pipeline picks monocular for colour-only frames and RGB-D SLAM for frames with depth', async () => {
  const source = syntheticSource({ scene: 'room', frames: 4, width: 160, height: 120, fx: 131.25, fy: 131.25 });
  const mono = depthAwarePipeline(ctx);
  const monoUpdates = await lastValueFrom(source.pipe(map((f) => ({ ...f, depth: undefined })), mono.operator, toArray()));
  expect(mono.mode).toBe('mono');
  expect(monoUpdates.length).toBe(4);
  expect(monoUpdates[0]!.stats.trackingState).toBe('initializing');
  mono.destroy();
  const rgbd = depthAwarePipeline(ctx);
  const rgbdUpdates = await lastValueFrom(source.pipe(take(2), rgbd.operator, toArray()));
  expect(rgbd.mode).toBe('rgbd');
  expect(rgbdUpdates.length).toBeGreaterThanOrEqual(2);
  expect(rgbdUpdates[0]!.stats.trackingState).toBe('ok');
  rgbd.destroy();
}, 30_000);
