/**
 * The server's copy of the current scene, kept as encoded data messages so a
 * message is encoded once and sent to every client as the same bytes. A late
 * or reconnecting client is sent everything held here (the snapshot), then
 * deltas.
 */
import { blockKey, type BlockCoord, type MeshBlock } from '../fusion/meshBlock';
import { decodeDataMessage, encodeDataMessage, type MeshBlockMessage } from './dataMessages';
import type { FramePreview, SceneUpdate } from './sceneUpdate';

export interface StoredBlock {
  key: string;
  version: number;
  triangles: number;
  /** the encoded MeshBlock data message (empty indices = removal) */
  message: Uint8Array;
}

/** What one update changed, for fan-out to the clients. */
export interface SceneDelta {
  /** new block versions and removals, in arrival order */
  blocks: StoredBlock[];
  pose: Uint8Array;
  stats: Uint8Array;
}

export class SceneState {
  readonly blocks = new Map<string, StoredBlock>();
  pose: Uint8Array | null = null;
  frame: Uint8Array | null = null;
  stats: Uint8Array | null = null;
  triangles = 0;
  /** encoded bytes of live blocks */
  meshBytes = 0;
  private seq = 0;
  private trajectory = new Float32Array(3 * 1024);
  private trajectoryPoints = 0;
  private lastFrameIndex = -1;

  get trajectoryLength(): number {
    return this.trajectoryPoints;
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  /** Apply one pipeline update; stale block versions (≤ the stored one) are ignored. */
  apply(u: SceneUpdate): SceneDelta {
    const blocks: StoredBlock[] = [];
    for (const b of u.meshBlocks) {
      const stored = this.applyBlock(b, b.indices.length / 3, () => this.encodeBlock(b, u.frameIndex));
      if (stored) blocks.push(stored);
    }
    if (u.packed) {
      const buffer = u.packed.buffer;
      for (const p of u.packed.blocks) {
        // a copy per block, so a live block never keeps a whole update's buffer alive
        const stored = this.applyBlock(p, p.triangles, () => new Uint8Array(buffer, p.offset, p.length).slice());
        if (stored) blocks.push(stored);
      }
    }
    // a pipeline's final mesh-only update repeats its last frame: one trajectory point per frame
    if (u.frameIndex !== this.lastFrameIndex) this.appendTrajectory(u.pose);
    this.lastFrameIndex = u.frameIndex;
    const trackingState = u.stats.trackingState;
    this.pose = encodeDataMessage(
      { kind: 'pose', frameIndex: u.frameIndex, trackingState, timestamp: u.timestamp, enteredAt: u.enteredAt, pose: u.pose, intrinsics: u.intrinsics },
      this.nextSeq(),
    );
    this.stats = encodeDataMessage(
      {
        kind: 'stats',
        frameIndex: u.frameIndex,
        frames: u.stats.frames,
        blocks: u.stats.blocks,
        triangles: u.stats.triangles,
        trackingState,
        fps: u.fps,
        dropped: u.dropped,
        timings: u.timings,
      },
      this.nextSeq(),
    );
    return { blocks, pose: this.pose, stats: this.stats };
  }

  private encodeBlock(b: MeshBlock, frameIndex: number): Uint8Array {
    return encodeDataMessage(
      { kind: 'meshBlock', bx: b.bx, by: b.by, bz: b.bz, version: b.version, frameIndex, positions: b.positions, colors: b.colors, indices: b.indices },
      this.nextSeq(),
    );
  }

  private applyBlock(b: BlockCoord & { version: number }, triangles: number, encode: () => Uint8Array): StoredBlock | null {
    const key = blockKey(b);
    const old = this.blocks.get(key);
    if (old && old.version >= b.version) return null;
    const removal = triangles === 0;
    if (removal && !old) return null;
    const message = encode();
    const stored: StoredBlock = { key, version: b.version, triangles, message };
    if (old) {
      this.triangles -= old.triangles;
      this.meshBytes -= old.message.byteLength;
    }
    if (removal) {
      this.blocks.delete(key);
    } else {
      this.blocks.set(key, stored);
      this.triangles += stored.triangles;
      this.meshBytes += message.byteLength;
    }
    return stored;
  }

  private appendTrajectory(pose: Float64Array): void {
    if (3 * (this.trajectoryPoints + 1) > this.trajectory.length) {
      const grown = new Float32Array(this.trajectory.length * 2);
      grown.set(this.trajectory);
      this.trajectory = grown;
    }
    // row-major camera-to-world: the camera centre is the translation column
    this.trajectory.set([pose[3]!, pose[7]!, pose[11]!], 3 * this.trajectoryPoints);
    this.trajectoryPoints++;
  }

  /** Encoded trajectory points [start, start + maxPoints) as one message, or null if none. */
  trajectoryMessage(start: number, maxPoints = 16384): Uint8Array | null {
    const end = Math.min(this.trajectoryPoints, start + maxPoints);
    if (end <= start) return null;
    return encodeDataMessage({ kind: 'trajectory', start, points: this.trajectory.slice(3 * start, 3 * end) }, this.nextSeq());
  }

  setPreview(p: FramePreview): Uint8Array {
    this.frame = encodeDataMessage({ kind: 'frame', frameIndex: p.frameIndex, width: p.width, height: p.height, jpeg: p.jpeg }, this.nextSeq());
    return this.frame;
  }

  /** Every live block, decoded (for export). */
  meshBlocks(): MeshBlockMessage[] {
    const out: MeshBlockMessage[] = [];
    for (const b of this.blocks.values()) {
      const m = decodeDataMessage(b.message);
      if (m.kind === 'meshBlock') out.push(m);
    }
    return out;
  }

  reset(): void {
    this.blocks.clear();
    this.pose = this.frame = this.stats = null;
    this.triangles = 0;
    this.meshBytes = 0;
    this.trajectoryPoints = 0;
    this.lastFrameIndex = -1;
  }
}
