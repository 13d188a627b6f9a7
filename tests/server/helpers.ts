/** Shared test helpers: synthetic mesh blocks and updates, and a protocol-aware ws client. */
import WebSocket from 'ws';
import { type Frame } from '../../src/frames/frame';
import { blockKey, type MeshBlock } from '../../src/fusion/meshBlock';
import { identityPose } from '../../src/geometry/se3';
import type { PipelineUpdate } from '../../src/pipeline/types';
import { decodeDataMessage, type DataMessage } from '../../src/server/dataMessages';
import { clientMessage, parseServerMessage, type ClientMessageBody, type ServerMessage } from '../../src/server/protocol';
import type { SceneUpdate } from '../../src/server/sceneUpdate';

/** A block whose mesh is a strip of `triangles` triangles with vertices inside the block's cube; values depend on version. */
export function fakeBlock(bx: number, by: number, bz: number, version: number, triangles = 4, blockSize = 0.08): MeshBlock {
  const vertices = triangles + 2;
  const positions = new Float32Array(vertices * 3);
  const colors = new Uint8Array(vertices * 3);
  for (let i = 0; i < vertices; i++) {
    positions[3 * i] = (bx + (i >> 1) / (vertices / 2 + 1)) * blockSize;
    positions[3 * i + 1] = (by + (i & 1) * 0.8) * blockSize;
    positions[3 * i + 2] = (bz + 0.5 + 0.01 * version) * blockSize;
    colors[3 * i] = (40 * bx + 17 * version) & 255;
    colors[3 * i + 1] = (90 + 30 * by + i) & 255;
    colors[3 * i + 2] = (200 - 20 * bz) & 255;
  }
  const indices = new Uint32Array(triangles * 3);
  for (let t = 0; t < triangles; t++) indices.set(t % 2 ? [t, t + 2, t + 1] : [t, t + 1, t + 2], 3 * t);
  return { bx, by, bz, version, positions, colors, indices };
}

export function removal(bx: number, by: number, bz: number, version: number): MeshBlock {
  return { bx, by, bz, version, positions: new Float32Array(0), colors: new Uint8Array(0), indices: new Uint32Array(0) };
}

export function fakePose(i: number): Float64Array {
  const p = identityPose();
  p[3] = 0.01 * i;
  p[7] = -0.2;
  p[11] = 0.05 * Math.sin(i / 5);
  return p;
}

export function fakeFrame(index: number, width = 64, height = 48): Frame {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 7 + index * 13) & 255;
  return { index, timestamp: index / 30, width, height, rgb, intrinsics: { fx: 50, fy: 50, cx: 31.5, cy: 23.5, width, height } };
}

export function fakeUpdate(index: number, meshBlocks: MeshBlock[], triangles = 0): PipelineUpdate {
  const frame = fakeFrame(index);
  return {
    frame,
    pose: fakePose(index),
    meshBlocks,
    timings: { integrate: 1.5, mesh: meshBlocks.length ? 0.5 : 0 },
    stats: { frames: index + 1, blocks: meshBlocks.length, triangles, trackingState: 'groundtruth' },
  };
}

export function fakeSceneUpdate(index: number, meshBlocks: MeshBlock[]): SceneUpdate {
  const u = fakeUpdate(index, meshBlocks);
  return {
    frameIndex: index,
    timestamp: u.frame.timestamp,
    enteredAt: 1000 + index,
    pose: u.pose,
    intrinsics: u.frame.intrinsics,
    meshBlocks,
    timings: u.timings,
    stats: u.stats,
    fps: 30,
    dropped: 0,
  };
}

export interface ClientBlock {
  version: number;
  triangles: number;
  message: Extract<DataMessage, { kind: 'meshBlock' }>;
}

/** A ws client that decodes everything and keeps the scene the way a viewer would. */
export class TestClient {
  readonly ws: WebSocket;
  readonly controls: ServerMessage[] = [];
  readonly data: DataMessage[] = [];
  readonly blocks = new Map<string, ClientBlock>();
  readonly protocolErrors: string[] = [];
  trajectory: number[] = [];
  bytes = 0;
  closed: { code: number; reason: string } | null = null;
  private waiters: (() => void)[] = [];

  private constructor(url: string, headers?: Record<string, string>) {
    this.ws = new WebSocket(url, headers ? { headers } : {});
    this.ws.on('message', (raw, isBinary) => {
      const buf = raw as Buffer;
      this.bytes += buf.byteLength;
      if (!isBinary) {
        const r = parseServerMessage(buf.toString('utf8'));
        if (!r.ok) this.protocolErrors.push(r.error);
        else {
          this.controls.push(r.message);
          if (r.message.type === 'reset' || r.message.type === 'welcome') {
            this.blocks.clear();
            this.trajectory = [];
          }
        }
      } else {
        try {
          const m = decodeDataMessage(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
          this.data.push(m);
          if (m.kind === 'meshBlock') {
            const key = blockKey(m);
            const old = this.blocks.get(key);
            if (!old || old.version < m.version) {
              if (m.indices.length === 0) this.blocks.delete(key);
              else this.blocks.set(key, { version: m.version, triangles: m.indices.length / 3, message: m });
            }
          } else if (m.kind === 'trajectory') {
            this.trajectory.length = 3 * m.start;
            this.trajectory.push(...m.points);
          }
        } catch (e) {
          this.protocolErrors.push((e as Error).message);
        }
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async connect(url: string, headers?: Record<string, string>): Promise<TestClient> {
    const c = new TestClient(url, headers);
    await new Promise<void>((resolve, reject) => {
      c.ws.once('open', () => resolve());
      c.ws.once('error', reject);
      c.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return c;
  }

  send(body: ClientMessageBody): void {
    this.ws.send(clientMessage(body));
  }

  sendRaw(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  /** Resolves when `pred` holds (checked on every message); rejects after timeoutMs saying what it waited for. */
  async waitFor(what: string, pred: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  controlsOf<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }>[] {
    return this.controls.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
  }

  /** Waits for the next error reply after the current count. */
  async nextError(timeoutMs = 3000): Promise<Extract<ServerMessage, { type: 'error' }>> {
    const before = this.controlsOf('error').length;
    await this.waitFor('an error reply', () => this.controlsOf('error').length > before, timeoutMs);
    return this.controlsOf('error')[before]!;
  }

  get triangles(): number {
    let n = 0;
    for (const b of this.blocks.values()) n += b.triangles;
    return n;
  }

  close(): void {
    this.ws.close();
  }
}

/** block key → version (keys sorted), as held by a SceneState or a client. */
export function sceneVersions(blocks: Map<string, { version: number }>): Record<string, number> {
  return Object.fromEntries([...blocks].map(([k, b]) => [k, b.version] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function sameVersions(a: Map<string, { version: number }>, b: Map<string, { version: number }>): boolean {
  return JSON.stringify(sceneVersions(a)) === JSON.stringify(sceneVersions(b));
}
