/**
 * One viewer connection's outgoing side, with coalescing backpressure.
 *
 * Nothing is queued as a list of messages: the channel holds at most one
 * pending message per mesh block key (latest version wins), one pose, one
 * frame preview and one stats message, plus how much of the trajectory the
 * client has. So its memory is bounded by the scene, not by how long the
 * client has been slow, and a slow client never slows the pipeline or the
 * other clients. Messages go to the socket only while its buffered amount is
 * below a high-water mark; the rest waits here for the next flush (a mesh
 * tick or the socket's drain event).
 */
import type { Channel } from './protocol';
import { serverMessage, type ServerMessageBody } from './protocol';
import type { SceneDelta, SceneState } from './sceneState';

/** trajectory points per message when catching up */
const TRAJECTORY_CHUNK = 16384;

/** The part of Bun's ServerWebSocket a channel uses (a fake in unit tests). */
export interface MessageSink {
  /** Bun semantics: bytes sent (> 0), -1 queued under backpressure, 0 dropped */
  send(data: string | Uint8Array): number;
  getBufferedAmount(): number;
}

export interface ClientChannelOptions {
  /** stop sending while the socket buffers at least this many bytes */
  highWaterBytes: number;
}

export interface ClientChannelStats {
  bytesSent: number;
  messagesSent: number;
  /** block messages replaced by a newer version before they were sent */
  coalesced: number;
  /** largest number of block messages ever pending at once */
  maxPendingBlocks: number;
  pendingBlocks: number;
}

export class ClientChannel {
  channels: Set<Channel>;
  private readonly pendingBlocks = new Map<string, Uint8Array>();
  private pendingPose: Uint8Array | null = null;
  private pendingFrame: Uint8Array | null = null;
  private pendingStats: Uint8Array | null = null;
  private trajectorySent = 0;
  private snapshotPending = false;
  private readonly counters: ClientChannelStats = { bytesSent: 0, messagesSent: 0, coalesced: 0, maxPendingBlocks: 0, pendingBlocks: 0 };

  constructor(
    readonly id: number,
    private readonly sink: MessageSink,
    private readonly scene: SceneState,
    private readonly options: ClientChannelOptions,
    channels: Iterable<Channel>,
  ) {
    this.channels = new Set(channels);
  }

  get stats(): ClientChannelStats {
    return { ...this.counters, pendingBlocks: this.pendingBlocks.size };
  }

  /** Send a control message now (replies are small and rare, so they skip the coalescing). */
  control(body: ServerMessageBody): void {
    this.write(serverMessage(body));
  }

  /** Queue the whole current scene (late join, reconnect, new subscription), bracketed by snapshot markers. */
  startSnapshot(): void {
    this.control({ type: 'snapshot', phase: 'begin', blocks: this.scene.blocks.size, trajectory: this.scene.trajectoryLength });
    if (this.channels.has('mesh')) for (const b of this.scene.blocks.values()) this.queueBlock(b.key, b.message);
    if (this.channels.has('pose')) this.pendingPose = this.scene.pose;
    if (this.channels.has('stats')) this.pendingStats = this.scene.stats;
    if (this.channels.has('frame')) this.pendingFrame = this.scene.frame;
    this.trajectorySent = 0;
    this.snapshotPending = true;
  }

  subscribe(channels: Iterable<Channel>): void {
    const next = new Set(channels);
    const added = [...next].some((c) => !this.channels.has(c));
    this.channels = next;
    if (!next.has('mesh')) this.pendingBlocks.clear();
    if (!next.has('pose')) this.pendingPose = null;
    if (!next.has('stats')) this.pendingStats = null;
    if (!next.has('frame')) this.pendingFrame = null;
    if (added) this.startSnapshot();
  }

  onDelta(delta: SceneDelta): void {
    if (this.channels.has('mesh')) for (const b of delta.blocks) this.queueBlock(b.key, b.message);
    if (this.channels.has('pose')) this.pendingPose = delta.pose;
    if (this.channels.has('stats')) this.pendingStats = delta.stats;
  }

  onFrame(message: Uint8Array): void {
    if (this.channels.has('frame')) this.pendingFrame = message;
  }

  /** The scene was cleared: drop everything pending and tell the client before any new data. */
  onReset(): void {
    this.pendingBlocks.clear();
    this.pendingPose = this.pendingFrame = this.pendingStats = null;
    this.trajectorySent = 0;
    this.snapshotPending = false;
    this.control({ type: 'reset' });
  }

  private queueBlock(key: string, message: Uint8Array): void {
    if (this.pendingBlocks.has(key)) {
      this.pendingBlocks.delete(key); // re-insert so the map's order stays oldest-first
      this.counters.coalesced++;
    }
    this.pendingBlocks.set(key, message);
    if (this.pendingBlocks.size > this.counters.maxPendingBlocks) this.counters.maxPendingBlocks = this.pendingBlocks.size;
  }

  private write(data: string | Uint8Array): boolean {
    const r = this.sink.send(data);
    if (r === 0) return false;
    this.counters.messagesSent++;
    this.counters.bytesSent += typeof data === 'string' ? data.length : data.byteLength;
    return true;
  }

  private room(): boolean {
    return this.sink.getBufferedAmount() < this.options.highWaterBytes;
  }

  /**
   * Send what is pending while the socket has room. Mesh blocks go only when
   * `mesh` is set (the server's mesh tick, or a drain). Returns true when
   * nothing is left pending.
   */
  flush(mesh: boolean): boolean {
    const take = (m: Uint8Array | null): boolean => m === null || (this.room() && this.write(m));
    if (take(this.pendingStats)) this.pendingStats = null;
    if (take(this.pendingPose)) this.pendingPose = null;
    if (this.channels.has('trajectory')) {
      while (this.trajectorySent < this.scene.trajectoryLength && this.room()) {
        const end = Math.min(this.scene.trajectoryLength, this.trajectorySent + TRAJECTORY_CHUNK);
        const msg = this.scene.trajectoryMessage(this.trajectorySent, end - this.trajectorySent);
        if (!msg || !this.write(msg)) break;
        this.trajectorySent = end;
      }
    }
    if (take(this.pendingFrame)) this.pendingFrame = null;
    if (mesh) {
      for (const [key, message] of this.pendingBlocks) {
        if (!this.room() || !this.write(message)) break;
        this.pendingBlocks.delete(key);
      }
    }
    const idle =
      this.pendingBlocks.size === 0 &&
      this.pendingPose === null &&
      this.pendingStats === null &&
      this.pendingFrame === null &&
      (!this.channels.has('trajectory') || this.trajectorySent >= this.scene.trajectoryLength);
    if (idle && this.snapshotPending) {
      this.snapshotPending = false;
      this.control({ type: 'snapshot', phase: 'end', blocks: this.scene.blocks.size, trajectory: this.scene.trajectoryLength });
    }
    return idle;
  }
}
