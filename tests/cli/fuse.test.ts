import { afterAll, describe, expect, test } from 'bun:test';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { readPly, writePly } from '../../src/fusion/ply';
import { syntheticSource } from '../../src/frames/synthetic/source';
import { cullToSeen, syntheticTruthMesh } from '../../src/frames/synthetic/truth';

const root = resolve(import.meta.dir, '..', '..');
const tum = resolve(root, '..', 'shared', 'data', 'tum_fr1_rpy');
const work = mkdtempSync(join(tmpdir(), 'scanstream-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync([process.execPath, join(root, 'src', 'cli.ts'), ...args], { cwd: work, env: { ...process.env, CI: '1' } });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe('scanstream fuse', () => {
  test.skipIf(!existsSync(tum))('fuses the TUM fr1/rpy clip with ground-truth poses into a PLY mesh and a report of 60 frames', async () => {
    const out = join(work, 'tum.ply');
    const r = cli('fuse', '--source', `tum:${tum}`, '--poses', 'groundtruth', '--voxel', '0.02', '--out', out);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { frames: number; triangles: number };
    expect(summary.frames).toBe(60);
    const mesh = await readPly(out);
    expect(mesh.indices!.length / 3).toBe(summary.triangles);
    expect(summary.triangles).toBeGreaterThan(20_000);
    const report = JSON.parse(readFileSync(join(work, 'tum.report.json'), 'utf8')) as { frames: number; stages: Record<string, { medianMs: number }> };
    expect(report.frames).toBe(60);
    expect(report.stages.integrate!.medianMs).toBeGreaterThan(0);
  });

  test('then eval mesh scores a synthetic fusion against its truth: JSON with accuracy and completeness', async () => {
    const out = join(work, 'table.ply');
    const r = cli('fuse', '--source', 'synthetic:tabletop?frames=12', '--out', out, '--voxel', '0.01');
    expect(r.code).toBe(0);
    const frames = await lastValueFrom(syntheticSource({ scene: 'tabletop', frames: 12 }).pipe(toArray()));
    const truthPath = join(work, 'table_truth.ply');
    await writePly(truthPath, cullToSeen(syntheticTruthMesh('tabletop'), frames));
    const e = cli('eval', 'mesh', '--mesh', out, '--truth', truthPath, '--voxel', '0.01');
    expect(e.code).toBe(0);
    const report = JSON.parse(e.stdout) as { accuracy: { median: number; mean: number }; completeness: number };
    expect(report.accuracy.median).toBeLessThan(0.001);
    expect(report.accuracy.mean).toBeLessThan(0.002);
    expect(report.completeness).toBeGreaterThan(0.98);
  });

  test('missing --out and a bad option value exit 2 with the reason and the usage', () => {
    const a = cli('fuse', '--source', 'synthetic:room');
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('--out is required');
    expect(a.stderr).toContain('usage: scanstream fuse');
    const b = cli('fuse', '--source', 'synthetic:room', '--out', 'x.ply', '--voxel', 'big');
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("--voxel must be a number, got 'big'");
  });

  test('an unknown source scheme and a missing folder fail with messages naming them', () => {
    const a = cli('fuse', '--source', 'kinect:0', '--out', 'x.ply');
    expect(a.code).toBe(1);
    expect(a.stderr).toContain("unknown source 'kinect:0'");
    const b = cli('fuse', '--source', `tum:${join(work, 'nope')}`, '--out', 'x.ply');
    expect(b.code).toBe(1);
    expect(b.stderr).toContain(join(work, 'nope'));
  });

  test.skipIf(!existsSync(tum))('a corrupt depth PNG stops fusion with the file named, or is skipped with --on-bad-frame skip', () => {
    const copy = join(work, 'tum_bad');
    cpSync(tum, copy, { recursive: true });
    const firstDepth = readFileSync(join(copy, 'associations.txt'), 'utf8').split('\n').find((l) => l && !l.startsWith('#'))!.split(/\s+/)[3]!;
    rmSync(join(copy, firstDepth), { force: true });
    writeFileSync(join(copy, firstDepth), 'not a png');
    const a = cli('fuse', '--source', `tum:${copy}`, '--out', join(work, 'bad.ply'), '--voxel', '0.04');
    expect(a.code).toBe(1);
    expect(a.stderr).toContain(firstDepth);
    const b = cli('fuse', '--source', `tum:${copy}`, '--out', join(work, 'bad.ply'), '--voxel', '0.04', '--on-bad-frame', 'skip');
    expect(b.code).toBe(0);
    expect((JSON.parse(b.stdout) as { frames: number }).frames).toBe(59);
  });
});

test('eval mesh refuses a truth without faces', async () => {
  const pts = join(work, 'points.ply');
  await writePly(pts, { positions: new Float32Array([0, 0, 0, 1, 0, 0, 0, 1, 0]) });
  const r = cli('eval', 'mesh', '--mesh', pts, '--truth', pts);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('triangle mesh');
});
