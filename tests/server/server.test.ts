import { afterEach, describe, expect, test, setDefaultTimeout } from 'bun:test';
import { Subject } from 'rxjs';
import type { PipelineUpdate } from '../../src/pipeline/types';
import { encodeDataMessage } from '../../src/server/dataMessages';
import { serveUpdates, startServer, type ScanServer } from '../../src/server/server';
import { fakeBlock, fakeUpdate, removal, sameVersions, sceneVersions, TestClient } from './helpers';

// browser, ffmpeg and worker start-up on a loaded 2-core machine: generous, bounded
setDefaultTimeout(20000);

const servers: ScanServer[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.stop();
});

async function serve(updates: Subject<PipelineUpdate>, extra: Parameters<typeof serveUpdates>[1] = {}): Promise<ScanServer> {
  const s = await serveUpdates(updates, { port: 0, meshIntervalMs: 20, ...extra });
  servers.push(s);
  return s;
}
async function client(s: ScanServer, path = '/ws', headers?: Record<string, string>): Promise<TestClient> {
  const url = new URL(s.url);
  const c = await TestClient.connect(`ws://${url.host}${path}${url.search}`, headers);
  clients.push(c);
  return c;
}
const wsUrl = (s: ScanServer, query = ''): string => `ws://${new URL(s.url).host}/ws${query}`;

describe('HTTP', () => {
  test('serves the viewer page and bundle with security headers; 404 otherwise', async () => {
    const s = await serve(new Subject());
    const page = await fetch(s.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="viewer.js">');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const js = await fetch(new URL('/viewer.js', s.url));
    expect(js.headers.get('content-type')).toContain('javascript');
    expect((await js.text()).length).toBeGreaterThan(100_000); // three.js is in the bundle
    expect((await fetch(new URL('/nope', s.url))).status).toBe(404);
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/); // loopback: no token needed
  });
});

describe('scene streaming', () => {
  test('a late joiner receives every live block at its latest version, the trajectory and the latest pose', async () => {
    const updates = new Subject<PipelineUpdate>();
    const s = await serve(updates);
    const early = await client(s);
    for (let i = 0; i < 40; i++) updates.next(fakeUpdate(i, [fakeBlock(i % 10, i % 3, 0, Math.floor(i / 10) + 1, 3 + (i % 5))]));
    updates.next(fakeUpdate(40, [removal(9, 0, 0, 99)]));
    const expected = sceneVersions(s.scene.blocks);
    expect(Object.keys(expected).length).toBe(30 - 1); // 30 distinct keys (i%10, i%3) minus the removed one
    await early.waitFor('live deltas', () => sameVersions(early.blocks, s.scene.blocks));

    const late = await client(s);
    await late.waitFor('snapshot end', () => late.controlsOf('snapshot').some((m) => m.phase === 'end'));
    expect(sceneVersions(late.blocks)).toEqual(expected);
    expect(late.triangles).toBe(s.scene.triangles);
    // mesh arrays equal what the pipeline sent
    const b = late.blocks.get('3,0,0')!.message;
    const sent = fakeBlock(3, 0, 0, b.version, 3 + (b.frameIndex % 5));
    expect([...b.positions]).toEqual([...sent.positions]);
    expect([...b.colors]).toEqual([...sent.colors]);
    expect([...b.indices]).toEqual([...sent.indices]);
    expect(late.trajectory.length).toBe(41 * 3);
    expect(late.trajectory[3 * 40]).toBeCloseTo(0.4, 5);
    const poses = late.data.filter((m) => m.kind === 'pose');
    expect(poses.at(-1)).toMatchObject({ frameIndex: 40 });
    const begin = late.controlsOf('snapshot')[0]!;
    expect(begin).toMatchObject({ phase: 'begin', blocks: Object.keys(expected).length, trajectory: 41 });
    expect(late.controlsOf('welcome')[0]).toMatchObject({ server: 'scanstream', meshIntervalMs: 20 });
  });

  test('reset from a client clears every client, then new blocks flow', async () => {
    const updates = new Subject<PipelineUpdate>();
    const s = await serve(updates);
    const a = await client(s);
    const b = await client(s);
    updates.next(fakeUpdate(0, [fakeBlock(0, 0, 0, 1), fakeBlock(1, 0, 0, 1)]));
    await b.waitFor('two blocks', () => b.blocks.size === 2);
    a.send({ type: 'reset' });
    await b.waitFor('reset', () => b.controlsOf('reset').length === 1);
    expect(b.blocks.size).toBe(0);
    expect(s.scene.blocks.size).toBe(0);
    updates.next(fakeUpdate(1, [fakeBlock(5, 0, 0, 1)]));
    await b.waitFor('new block', () => b.blocks.has('5,0,0'));
    expect([...b.blocks.keys()]).toEqual(['5,0,0']);
  });

  test('/mesh.ply exports the current scene', async () => {
    const updates = new Subject<PipelineUpdate>();
    const s = await serve(updates);
    updates.next(fakeUpdate(0, [fakeBlock(0, 0, 0, 1, 4), fakeBlock(0, 1, 0, 1, 7)]));
    const c = await client(s);
    c.send({ type: 'exportMesh' });
    await c.waitFor('export reply', () => c.controlsOf('export').length === 1);
    const reply = c.controlsOf('export')[0]!;
    expect(reply).toMatchObject({ url: '/mesh.ply', blocks: 2, triangles: 11 });
    const ply = new Uint8Array(await (await fetch(new URL(reply.url, s.url))).arrayBuffer());
    const header = new TextDecoder().decode(ply.subarray(0, 400)).split('end_header\n')[0]!;
    expect(header).toContain('element vertex 15'); // (4+2) + (7+2)
    expect(header).toContain('element face 11');
    expect(ply.byteLength).toBe(header.length + 'end_header\n'.length + 15 * 15 + 11 * 13);
  });
});

describe('bad input never crashes the server', () => {
  test('every kind of bad message gets a clear error and everyone else keeps being served', async () => {
    const updates = new Subject<PipelineUpdate>();
    const s = await serve(updates, { maxControlBytes: 1024, maxBinaryBytes: 64 * 1024 });
    const bad = await client(s);
    const good = await client(s);
    const expectError = async (send: () => void, code: string, pattern: RegExp): Promise<void> => {
      const p = bad.nextError();
      send();
      const e = await p;
      expect(e.code).toBe(code as never);
      expect(e.message).toMatch(pattern);
    };
    await expectError(() => bad.sendRaw('{"v":1,"type":'), 'bad-json', /not JSON/);
    await expectError(() => bad.sendRaw('{"v":1,"type":"rm -rf"}'), 'unknown-type', /unknown control message type "rm -rf"; expected one of hello, /);
    await expectError(() => bad.sendRaw('{"v":7,"type":"pause"}'), 'version', /protocol version 7 is not supported; this server speaks v=1/);
    await expectError(() => bad.sendRaw(JSON.stringify({ v: 1, type: 'setSource', spec: 'x'.repeat(2000) })), 'too-large', /exceeds the 1024-byte cap/);
    await expectError(() => bad.sendRaw('{"v":1,"type":"setSource","spec":""}'), 'invalid', /invalid 'setSource' message: spec: /);
    await expectError(() => bad.sendRaw(new Uint8Array([1, 2, 3])), 'bad-binary', /shorter than the 8-byte header/);
    await expectError(() => bad.sendRaw(new Uint8Array(100 * 1024)), 'too-large', /exceeds the 65536-byte cap/);
    const block = encodeDataMessage({ kind: 'meshBlock', ...fakeBlock(0, 0, 0, 1), frameIndex: 0 }, 1);
    await expectError(() => bad.sendRaw(block), 'bad-binary', /cannot be sent by a client/);
    const wrongVersion = block.slice();
    wrongVersion[1] = 9;
    await expectError(() => bad.sendRaw(wrongVersion), 'version', /protocol version 9/);
    const frame = (bytes: number): Uint8Array =>
      encodeDataMessage({ kind: 'cameraFrame', index: 0, timestamp: 0, width: 32, height: 24, encoding: 'rgb', fx: 30, fy: 30, cx: 16, cy: 12, data: new Uint8Array(bytes) }, 1);
    await expectError(() => bad.sendRaw(frame(32 * 24 * 3)), 'failed', /before cameraStart/);
    // this producer streams updates from elsewhere: it cannot take a camera, and says so
    await expectError(() => bad.send({ type: 'cameraStart', width: 32, height: 24, fx: 30, fy: 30, cx: 16, cy: 12 }), 'failed', /'cameraStart' is not supported/);
    await expectError(() => bad.sendRaw(frame(100)), 'bad-frame', /RGB payload is 100 bytes; expected 2304/);

    // the bad client is still connected and answered, the good one still gets the scene
    bad.send({ type: 'ping', id: 42 });
    await bad.waitFor('pong', () => bad.controlsOf('pong').some((m) => m.id === 42));
    updates.next(fakeUpdate(0, [fakeBlock(2, 2, 2, 1)]));
    await good.waitFor('block after bad input', () => good.blocks.has('2,2,2'));
    expect(good.controlsOf('error')).toEqual([]);
    expect(bad.closed).toBeNull();
  });
});

describe('access control', () => {
  test('with a token, /ws and /mesh.ply need it; the page itself does not', async () => {
    const s = await serve(new Subject(), { token: 'test-token-0123456789' });
    expect(s.url).toContain('?token=test-token-0123456789');
    expect((await fetch(new URL('/', s.url).href)).status).toBe(200);
    expect((await fetch(new URL('/mesh.ply', s.url).href)).status).toBe(401);
    expect((await fetch(new URL('/mesh.ply?token=wrong', s.url).href)).status).toBe(401);
    expect((await fetch(new URL('/mesh.ply?token=test-token-0123456789', s.url).href)).status).toBe(200);
    await expect(TestClient.connect(wsUrl(s))).rejects.toThrow('HTTP 401');
    await expect(TestClient.connect(wsUrl(s, '?token=nope'))).rejects.toThrow('HTTP 401');
    const ok = await TestClient.connect(wsUrl(s, '?token=test-token-0123456789'));
    clients.push(ok);
    await ok.waitFor('welcome', () => ok.controlsOf('welcome').length === 1);
    const bearer = await TestClient.connect(wsUrl(s), { authorization: 'Bearer test-token-0123456789' });
    clients.push(bearer);
  });

  test('binding beyond loopback generates a token; cross-origin WebSockets are refused', async () => {
    const s = await startServer({ host: '0.0.0.0', port: 0, producer: undefined, source: 'synthetic:room', scanModule: new URL('./fakeScan.ts', import.meta.url).href });
    servers.push(s);
    expect(s.token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(s.url).toContain(`?token=${s.token}`);
    await expect(TestClient.connect(`ws://127.0.0.1:${s.port}/ws`)).rejects.toThrow('HTTP 401');
    await expect(TestClient.connect(`ws://127.0.0.1:${s.port}/ws?token=${s.token}`, { origin: 'http://evil.example' })).rejects.toThrow('HTTP 403');
    const same = await TestClient.connect(`ws://127.0.0.1:${s.port}/ws?token=${s.token}`, { origin: `http://127.0.0.1:${s.port}` });
    clients.push(same);
  });
});
