import { afterEach, describe, expect, test, setDefaultTimeout } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { encodeDataMessage } from '../../src/server/dataMessages';
import { startServer, type ScanServer } from '../../src/server/server';
import { sameVersions, TestClient } from './helpers';

// browser, ffmpeg and worker start-up on a loaded 2-core machine: generous, bounded
setDefaultTimeout(30000);

const fakeScan = new URL('./fakeScan.ts', import.meta.url).href;
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function start(source: string, moduleOptions: Record<string, unknown> = {}, recordingsDir?: string): Promise<{ server: ScanServer; client: TestClient }> {
  const server = await startServer({ port: 0, source, scanModule: fakeScan, moduleOptions, meshIntervalMs: 20, ...(recordingsDir ? { recordingsDir } : {}) });
  cleanup.push(() => server.stop());
  const client = await TestClient.connect(`ws://127.0.0.1:${server.port}/ws`);
  cleanup.push(() => client.close());
  return { server, client };
}
const lastStatus = (c: TestClient): string | undefined => c.controlsOf('status').at(-1)?.status.state;
const lastFrame = (c: TestClient): number => {
  const s = c.data.filter((m) => m.kind === 'stats').at(-1);
  return s && s.kind === 'stats' ? s.frameIndex : -1;
};

describe('pipeline worker', () => {
  test('runs the scan off the main thread; the client ends with the scene the pipeline made', async () => {
    const { server, client } = await start('fake:40', { intervalMs: 2, span: 8 });
    await client.waitFor('source ended', () => lastStatus(client) === 'ended', 10_000);
    await client.waitFor('final scene', () => sameVersions(client.blocks, server.scene.blocks));
    // frame i meshes block i mod 8 at version ⌊i/8⌋+1: 40 frames → 8 blocks at version 5
    expect(Object.values(Object.fromEntries([...client.blocks].map(([k, b]) => [k, b.version])))).toEqual(Array(8).fill(5));
    expect(client.trajectory.length).toBe(40 * 3);
    const frames = client.data.filter((m) => m.kind === 'frame');
    expect(frames.length).toBeGreaterThan(0); // JPEG previews made in the worker
    const f = frames[0]!;
    if (f.kind === 'frame') expect([f.jpeg[0], f.jpeg[1]]).toEqual([0xff, 0xd8]);
  });

  test('pause holds a replay where it is, resume continues after the last frame, reset starts a fresh scene', async () => {
    const { server, client } = await start('fake:100000', { intervalMs: 5 });
    await client.waitFor('some frames', () => lastFrame(client) >= 5);
    client.send({ type: 'pause' });
    await client.waitFor('paused', () => lastStatus(client) === 'paused');
    const held = lastFrame(client);
    await Bun.sleep(150);
    expect(lastFrame(client)).toBeLessThanOrEqual(held + 1); // a frame in flight may still land
    const pausedAt = lastFrame(client);
    client.send({ type: 'resume' });
    await client.waitFor('running again', () => lastFrame(client) > pausedAt + 3);
    const stats = client.data.filter((m) => m.kind === 'stats').map((m) => (m.kind === 'stats' ? m.frameIndex : 0));
    expect(stats.filter((i) => i === pausedAt + 1).length).toBe(1); // continued, not restarted
    client.send({ type: 'reset' });
    await client.waitFor('reset', () => client.controlsOf('reset').length === 1);
    await client.waitFor('new blocks', () => client.blocks.size > 0);
    // after a reset the pipeline starts over: block versions begin at 1 again
    expect(Math.min(...[...server.scene.blocks.values()].map((b) => b.version))).toBe(1);
  });

  test('recording from the viewer writes through the scan module recorder and stops cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scanstream-rec-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const { client } = await start('fake:100000', { intervalMs: 5 }, dir);
    client.send({ type: 'startRecording', name: 'take-1' });
    await client.waitFor('recording status', () => client.controlsOf('status').some((m) => m.status.recording?.endsWith('take-1') === true));
    await Bun.sleep(150);
    client.send({ type: 'stopRecording' });
    await client.waitFor('recording stopped', () => client.controlsOf('status').at(-1)?.status.recording === null);
    await client.waitFor('recorder finished', () => existsSync(join(dir, 'take-1', 'done')));
    const lines = readFileSync(join(dir, 'take-1', 'frames.txt'), 'utf8').trim().split('\n').map(Number);
    expect(lines.length).toBeGreaterThan(3);
    // consecutive frames, none lost or repeated
    expect(lines).toEqual(lines.map((_, i) => lines[0]! + i));
  });

  test("a browser camera: frames over the WebSocket become the source (RGB and JPEG); bad frames get an error", async () => {
    const { server, client } = await start('fake:0', { intervalMs: 5 });
    const k = { width: 64, height: 48, fx: 55, fy: 55, cx: 31.5, cy: 23.5 };
    client.send({ type: 'cameraStart', ...k });
    await client.waitFor('browser source running', () => client.controlsOf('status').some((m) => m.status.source === 'browser' && m.status.state === 'running'));
    const rgb = new Uint8Array(64 * 48 * 3).map((_, i) => (i * 5) & 255);
    client.sendRaw(encodeDataMessage({ kind: 'cameraFrame', index: 0, timestamp: 1, encoding: 'rgb', ...k, data: rgb }, 1));
    await client.waitFor('first camera frame fused', () => lastFrame(client) === 0);
    const jpeg = new Uint8Array(await sharp(rgb, { raw: { width: 64, height: 48, channels: 3 } }).jpeg().toBuffer());
    client.sendRaw(encodeDataMessage({ kind: 'cameraFrame', index: 1, timestamp: 2, encoding: 'jpeg', ...k, data: jpeg }, 2));
    await client.waitFor('jpeg camera frame fused', () => lastFrame(client) === 1);
    const pose = client.data.filter((m) => m.kind === 'pose').at(-1);
    expect(pose?.kind === 'pose' && pose.intrinsics).toEqual({ ...k });
    // a JPEG whose size disagrees with the header is refused by the decoder in the worker
    const e = client.nextError();
    client.sendRaw(encodeDataMessage({ kind: 'cameraFrame', index: 2, timestamp: 3, encoding: 'jpeg', ...k, width: 80, height: 60, data: jpeg }, 3));
    expect((await e).message).toMatch(/JPEG is 64×48×3; the header says 80×60×3/);
    expect(server.scene.blocks.size).toBeGreaterThan(0);
  });
});
