import { expect, test, setDefaultTimeout } from 'bun:test';
import { Subject } from 'rxjs';
import type { PipelineUpdate } from '../../src/pipeline/types';
import { serveUpdates } from '../../src/server/server';
import { fakeBlock, fakeUpdate, sameVersions, TestClient } from './helpers';

// browser, ffmpeg and worker start-up on a loaded 2-core machine: generous, bounded
setDefaultTimeout(30000);

test('a client that reads nothing is held to a bounded queue, others keep up, and it then catches up', async () => {
  const highWaterBytes = 64 * 1024;
  const updates = new Subject<PipelineUpdate>();
  const server = await serveUpdates(updates, { port: 0, meshIntervalMs: 10, highWaterBytes });
  const url = `ws://127.0.0.1:${server.port}/ws`;
  const fast = await TestClient.connect(url);
  const slow = await TestClient.connect(url);
  try {
    await slow.waitFor('welcome', () => slow.controlsOf('welcome').length === 1);
    slow.ws.pause(); // stops reading: TCP fills up, then the server sees backpressure

    const keys = 24;
    const trianglesPerBlock = 2000; // ≈ 54 kB per block message
    let maxMessage = 0;
    let worstSlow = { buffered: 0, pendingBlocks: 0 };
    for (let i = 0; i < 400; i++) {
      const blocks = [0, 1, 2, 3].map((j) => fakeBlock((i * 4 + j) % keys, 0, 0, Math.floor((i * 4 + j) / keys) + 1, trianglesPerBlock));
      updates.next(fakeUpdate(i, blocks));
      for (const b of server.scene.blocks.values()) maxMessage = Math.max(maxMessage, b.message.byteLength);
      const s = server.clients().find((c) => c.id === 2)!;
      worstSlow = { buffered: Math.max(worstSlow.buffered, s.buffered), pendingBlocks: Math.max(worstSlow.pendingBlocks, s.pendingBlocks) };
      if (i % 10 === 0) await Bun.sleep(5);
    }
    const slowStats = server.clients().find((c) => c.id === 2)!;
    const sentBytes = 400 * 4 * maxMessage;
    console.log(
      `slow client: max buffered ${worstSlow.buffered} B (high water ${highWaterBytes}, max message ${maxMessage}), ` +
        `max pending blocks ${worstSlow.pendingBlocks}/${keys}, coalesced ${slowStats.coalesced}, sent ${slowStats.bytesSent} of ~${sentBytes} B produced`,
    );
    // bounded: at most one message past the high-water mark in the socket, at most one pending message per block
    expect(worstSlow.buffered).toBeLessThanOrEqual(highWaterBytes + maxMessage);
    expect(worstSlow.pendingBlocks).toBeLessThanOrEqual(keys);
    expect(slowStats.coalesced).toBeGreaterThan(0);

    // the fast client is not held back by the slow one
    await fast.waitFor('fast client has the current scene', () => sameVersions(fast.blocks, server.scene.blocks), 10_000);

    // the slow client resumes reading and converges to the current scene
    slow.ws.resume();
    await slow.waitFor('slow client catches up', () => sameVersions(slow.blocks, server.scene.blocks), 15_000);
    expect(slow.triangles).toBe(server.scene.triangles);
    expect(slow.protocolErrors).toEqual([]);
  } finally {
    fast.close();
    slow.close();
    await server.stop();
  }
});
