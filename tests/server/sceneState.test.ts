import { describe, expect, test } from 'bun:test';
import { ClientChannel, type MessageSink } from '../../src/server/clientChannel';
import { decodeDataMessage, type MeshBlockMessage } from '../../src/server/dataMessages';
import { parseServerMessage, type ServerMessage } from '../../src/server/protocol';
import { SceneState } from '../../src/server/sceneState';
import { fakeBlock, fakeSceneUpdate, removal, sceneVersions } from './helpers';

/** A socket whose buffer only drains when the test says so. */
class FakeSink implements MessageSink {
  buffered = 0;
  readonly sent: (string | Uint8Array)[] = [];
  blocked = false;
  send(data: string | Uint8Array): number {
    this.sent.push(data);
    const n = typeof data === 'string' ? data.length : data.byteLength;
    if (this.blocked) this.buffered += n;
    return this.blocked ? -1 : n;
  }
  getBufferedAmount(): number {
    return this.buffered;
  }
  controls(): ServerMessage[] {
    return this.sent.filter((d): d is string => typeof d === 'string').map((t) => {
      const r = parseServerMessage(t);
      if (!r.ok) throw new Error(r.error);
      return r.message;
    });
  }
  blocks(): MeshBlockMessage[] {
    return this.sent
      .filter((d): d is Uint8Array => typeof d !== 'string')
      .map((d) => decodeDataMessage(d))
      .filter((m): m is MeshBlockMessage => m.kind === 'meshBlock');
  }
}

describe('SceneState', () => {
  test('keeps the latest version of each block, ignores stale ones, applies removals', () => {
    const s = new SceneState();
    s.apply(fakeSceneUpdate(0, [fakeBlock(0, 0, 0, 1, 4), fakeBlock(1, 0, 0, 1, 6)]));
    expect(s.triangles).toBe(10);
    const d = s.apply(fakeSceneUpdate(1, [fakeBlock(0, 0, 0, 3, 8), fakeBlock(1, 0, 0, 1, 100)]));
    expect(d.blocks.map((b) => [b.key, b.version])).toEqual([['0,0,0', 3]]); // (1,0,0) v1 again is stale
    expect(sceneVersions(s.blocks)).toEqual({ '0,0,0': 3, '1,0,0': 1 });
    expect(s.triangles).toBe(14);
    s.apply(fakeSceneUpdate(2, [fakeBlock(0, 0, 0, 2, 5)])); // older than 3: ignored
    expect(s.triangles).toBe(14);
    const r = s.apply(fakeSceneUpdate(3, [removal(1, 0, 0, 2), removal(5, 5, 5, 1)]));
    expect(r.blocks.map((b) => b.key)).toEqual(['1,0,0']); // removing an unknown block is a no-op
    expect(sceneVersions(s.blocks)).toEqual({ '0,0,0': 3 });
    expect(s.triangles).toBe(8);
    expect(s.trajectoryLength).toBe(4);
    s.apply(fakeSceneUpdate(3, [fakeBlock(7, 7, 7, 1)])); // a final mesh-only update for the same frame
    expect(s.trajectoryLength).toBe(4);
    s.apply(fakeSceneUpdate(3, [removal(7, 7, 7, 2)]));
    const m = decodeDataMessage(s.blocks.get('0,0,0')!.message) as MeshBlockMessage;
    expect(m.frameIndex).toBe(1);
    expect([...m.positions]).toEqual([...fakeBlock(0, 0, 0, 3, 8).positions]);
  });

  test('trajectory grows past its initial capacity and is sent in order', () => {
    const s = new SceneState();
    for (let i = 0; i < 2500; i++) s.apply(fakeSceneUpdate(i, []));
    const msg = decodeDataMessage(s.trajectoryMessage(2000, 10)!);
    expect(msg.kind).toBe('trajectory');
    if (msg.kind !== 'trajectory') return;
    expect(msg.start).toBe(2000);
    expect(msg.points.length).toBe(30);
    expect(msg.points[0]).toBeCloseTo(20, 4); // x = 0.01 i
  });
});

describe('ClientChannel coalescing backpressure', () => {
  test('a late joiner gets the snapshot bracketed by markers, every live block at its latest version', () => {
    const s = new SceneState();
    for (let i = 0; i < 30; i++) s.apply(fakeSceneUpdate(i, [fakeBlock(i % 7, 1, 0, Math.floor(i / 7) + 1)]));
    const sink = new FakeSink();
    const c = new ClientChannel(1, sink, s, { highWaterBytes: 1 << 20 }, ['mesh', 'pose', 'trajectory', 'stats', 'frame']);
    c.startSnapshot();
    expect(c.flush(true)).toBe(true);
    const controls = sink.controls();
    expect(controls[0]).toMatchObject({ type: 'snapshot', phase: 'begin', blocks: 7, trajectory: 30 });
    expect(controls.at(-1)).toMatchObject({ type: 'snapshot', phase: 'end' });
    const got = Object.fromEntries(sink.blocks().map((b) => [`${b.bx},${b.by},${b.bz}`, b.version]));
    expect(got).toEqual(sceneVersions(s.blocks));
  });

  test('a blocked client holds one pending message per block, then catches up to the current scene', () => {
    const s = new SceneState();
    const sink = new FakeSink();
    const c = new ClientChannel(1, sink, s, { highWaterBytes: 4096 }, ['mesh', 'pose', 'stats']);
    sink.blocked = true;
    // 2000 updates over 16 blocks while the socket does not drain
    for (let i = 0; i < 2000; i++) {
      c.onDelta(s.apply(fakeSceneUpdate(i, [fakeBlock(i % 16, 0, 0, Math.floor(i / 16) + 1, 20)])));
      c.flush(true);
    }
    const sentWhileBlocked = sink.sent.length;
    expect(sink.buffered).toBeLessThan(4096 + 1024); // high-water mark + one message
    expect(c.stats.pendingBlocks).toBeLessThanOrEqual(16);
    expect(c.stats.maxPendingBlocks).toBeLessThanOrEqual(16);
    expect(c.stats.coalesced).toBeGreaterThan(1900);
    // the socket drains: the next flush sends only the latest versions
    sink.blocked = false;
    sink.buffered = 0;
    expect(c.flush(true)).toBe(true);
    const after = sink.sent.slice(sentWhileBlocked).filter((d): d is Uint8Array => typeof d !== 'string').map((d) => decodeDataMessage(d));
    const blocks = after.filter((m): m is MeshBlockMessage => m.kind === 'meshBlock');
    expect(blocks.length).toBeLessThanOrEqual(16);
    const latest = new Map(sink.blocks().map((b) => [`${b.bx},${b.by},${b.bz}`, 0]));
    for (const b of sink.blocks()) latest.set(`${b.bx},${b.by},${b.bz}`, Math.max(latest.get(`${b.bx},${b.by},${b.bz}`)!, b.version));
    expect(Object.fromEntries(latest)).toEqual(sceneVersions(s.blocks));
    expect(after.filter((m) => m.kind === 'pose').length).toBe(1); // only the newest pose
  });

  test('mesh blocks wait for a mesh tick; pose and stats do not', () => {
    const s = new SceneState();
    const sink = new FakeSink();
    const c = new ClientChannel(1, sink, s, { highWaterBytes: 1 << 20 }, ['mesh', 'pose', 'stats']);
    c.onDelta(s.apply(fakeSceneUpdate(0, [fakeBlock(0, 0, 0, 1)])));
    expect(c.flush(false)).toBe(false);
    expect(sink.blocks().length).toBe(0);
    expect(sink.sent.length).toBe(2);
    expect(c.flush(true)).toBe(true);
    expect(sink.blocks().length).toBe(1);
  });

  test('reset drops everything pending and tells the client first', () => {
    const s = new SceneState();
    const sink = new FakeSink();
    const c = new ClientChannel(1, sink, s, { highWaterBytes: 1 << 20 }, ['mesh']);
    c.onDelta(s.apply(fakeSceneUpdate(0, [fakeBlock(0, 0, 0, 1)])));
    s.reset();
    c.onReset();
    c.flush(true);
    expect(sink.controls().map((m) => m.type)).toEqual(['reset']);
    expect(sink.blocks().length).toBe(0);
  });

  test('unsubscribed channels are not sent', () => {
    const s = new SceneState();
    const sink = new FakeSink();
    const c = new ClientChannel(1, sink, s, { highWaterBytes: 1 << 20 }, ['stats']);
    c.onDelta(s.apply(fakeSceneUpdate(0, [fakeBlock(0, 0, 0, 1)])));
    c.flush(true);
    const kinds = sink.sent.filter((d): d is Uint8Array => typeof d !== 'string').map((d) => decodeDataMessage(d).kind);
    expect(kinds).toEqual(['stats']);
  });
});
