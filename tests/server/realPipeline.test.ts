/**
 * The real wiring (src/server/scan.ts): synthetic room → TSDF fusion over
 * bun:ffi inside the pipeline worker → server → client, and the CLI's
 * record → replay --headless round trip on the same scene.
 */
import { afterAll, expect, setDefaultTimeout, test } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../src/server/server';
import { sameVersions, TestClient } from './helpers';

setDefaultTimeout(60_000);
const SPEC = 'synthetic:room?frames=12&width=160&height=120&fx=130&fy=130';
const dir = mkdtempSync(join(tmpdir(), 'scanstream-real-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('synthetic room through the real pipeline in the worker reaches the client block for block', async () => {
  const server = await startServer({ port: 0, source: SPEC, meshIntervalMs: 0 });
  const client = await TestClient.connect(`ws://127.0.0.1:${server.port}/ws`);
  try {
    await client.waitFor('source ended', () => client.controlsOf('status').some((m) => m.status.state === 'ended' || m.status.state === 'error'), 45_000);
    const last = client.controlsOf('status').at(-1)!.status;
    expect(last.message ?? '').toBe('');
    expect(last.state).toBe('ended');
    await client.waitFor('final scene', () => sameVersions(client.blocks, server.scene.blocks));
    console.log(`real pipeline: ${server.scene.blocks.size} blocks, ${server.scene.triangles} triangles from 12 frames`);
    expect(server.scene.blocks.size).toBeGreaterThan(50);
    expect(client.triangles).toBe(server.scene.triangles);
    expect(client.trajectory.length).toBe(12 * 3);
    const stats = client.data.filter((m) => m.kind === 'stats').at(-1);
    expect(stats?.kind === 'stats' && stats.trackingState).toBe('groundtruth');
  } finally {
    client.close();
    await server.stop();
  }
});

test('scanstream record then replay --headless reproduces the scene', async () => {
  const cli = join(import.meta.dir, '..', '..', 'src', 'cli.ts');
  const rec = join(dir, 'rec');
  const r1 = Bun.spawnSync([process.execPath, cli, 'record', '--source', SPEC, '--out', rec, '--frames', '8']);
  expect(r1.stderr.toString()).toBe('');
  expect(r1.exitCode).toBe(0);
  expect(r1.stdout.toString()).toContain('recorded 8 frames');
  expect(readFileSync(join(rec, 'manifest.jsonl'), 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(8);
  const ply = join(dir, 'mesh.ply');
  const r2 = Bun.spawnSync([process.execPath, cli, 'replay', rec, '--headless', '--ply', ply]);
  expect(r2.exitCode).toBe(0);
  const summary = JSON.parse(r2.stdout.toString()) as { state: string; frames: number; blocks: number; triangles: number };
  expect(summary).toMatchObject({ state: 'ended', frames: 8 });
  expect(summary.triangles).toBeGreaterThan(1000);
  expect(existsSync(ply)).toBe(true);
  expect(readFileSync(ply).subarray(0, 300).toString('latin1')).toContain(`element face ${summary.triangles}`);
});

test('CLI usage errors exit 2 and say what is wrong', () => {
  const cli = join(import.meta.dir, '..', '..', 'src', 'cli.ts');
  const bad = Bun.spawnSync([process.execPath, cli, 'serve', '--port', 'x']);
  expect(bad.exitCode).toBe(2);
  expect(bad.stderr.toString()).toContain("--port must be an integer 0..65535, got 'x'");
  const help = Bun.spawnSync([process.execPath, cli, 'serve', '--help']);
  expect(help.exitCode).toBe(0);
  expect(help.stdout.toString()).toContain('usage: scanstream serve');
  const rec = Bun.spawnSync([process.execPath, cli, 'record', '--out', join(dir, 'x')]);
  expect(rec.exitCode).toBe(2);
  expect(rec.stderr.toString()).toContain('--source is required');
});
