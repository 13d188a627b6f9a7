/**
 * What the viewer knows about the scene, independent of rendering (so it
 * works without WebGL and tests can read it): live blocks and their
 * versions, triangle count, trajectory length, latest pose and stats.
 */
import type { MeshBlockMessage, PoseMessage, StatsMessage } from '../src/server/dataMessages';
import type { ServerStatus } from '../src/server/protocol';

export interface ViewerSnapshot {
  connected: boolean;
  clientId: number | null;
  webgl: boolean;
  blocks: number;
  triangles: number;
  /** block key → version */
  versions: Record<string, number>;
  trajectory: number;
  /** latest camera-to-world pose, row-major */
  pose: number[] | null;
  frameIndex: number | null;
  stats: Omit<StatsMessage, 'kind' | 'seq'> | null;
  status: ServerStatus | null;
  /** snapshot markers seen since load (a late join completes one) */
  snapshotsCompleted: number;
  bytesReceived: number;
  errors: string[];
}

export function blockKeyOf(m: { bx: number; by: number; bz: number }): string {
  return `${m.bx},${m.by},${m.bz}`;
}

export class ViewerModel {
  readonly blocks = new Map<string, { version: number; triangles: number }>();
  triangles = 0;
  trajectory = 0;
  pose: PoseMessage | null = null;
  stats: StatsMessage | null = null;
  status: ServerStatus | null = null;
  connected = false;
  clientId: number | null = null;
  snapshotsCompleted = 0;
  bytesReceived = 0;
  readonly errors: string[] = [];

  /** Returns 'set', 'remove' or null (stale version: ignore). */
  applyBlock(m: MeshBlockMessage): 'set' | 'remove' | null {
    const key = blockKeyOf(m);
    const old = this.blocks.get(key);
    if (old && old.version >= m.version) return null;
    if (old) this.triangles -= old.triangles;
    if (m.indices.length === 0) {
      if (!old) return null;
      this.blocks.delete(key);
      return 'remove';
    }
    const triangles = m.indices.length / 3;
    this.blocks.set(key, { version: m.version, triangles });
    this.triangles += triangles;
    return 'set';
  }

  clear(): void {
    this.blocks.clear();
    this.triangles = 0;
    this.trajectory = 0;
    this.pose = null;
  }

  addError(e: string): void {
    this.errors.push(e);
    if (this.errors.length > 50) this.errors.shift();
  }

  snapshot(webgl: boolean): ViewerSnapshot {
    const versions: Record<string, number> = {};
    for (const [k, b] of this.blocks) versions[k] = b.version;
    let stats: ViewerSnapshot['stats'] = null;
    if (this.stats) {
      const { kind: _k, seq: _s, ...rest } = this.stats;
      stats = rest;
    }
    return {
      connected: this.connected,
      clientId: this.clientId,
      webgl,
      blocks: this.blocks.size,
      triangles: this.triangles,
      versions,
      trajectory: this.trajectory,
      pose: this.pose ? [...this.pose.pose] : null,
      frameIndex: this.pose?.frameIndex ?? null,
      stats,
      status: this.status,
      snapshotsCompleted: this.snapshotsCompleted,
      bytesReceived: this.bytesReceived,
      errors: [...this.errors],
    };
  }
}
