/**
 * Fan-out of producer events: each is applied to the scene state, then
 * handed to every client's coalescing channel; mesh blocks go out on a tick
 * (leading edge, then at most every meshIntervalMs), everything else at once.
 */
import type { ServerWebSocket } from 'bun';
import { ClientChannel } from './clientChannel';
import type { ProducerEvent } from './producer';
import type { ServerMessageBody, ServerStatus } from './protocol';
import type { SceneState } from './sceneState';
import { wallMs } from './sceneUpdate';

/** What a WebSocket carries for the server. */
export interface SocketData {
  id: number;
  remote: string;
}

export interface Client {
  ws: ServerWebSocket<SocketData>;
  channel: ClientChannel;
}

export class FanOut {
  readonly clients = new Map<number, Client>();
  private readonly scene: SceneState;
  private readonly status: ServerStatus;
  private readonly meshIntervalMs: number;
  private readonly log: (line: string) => void;
  private readonly listeners = new Set<(e: ProducerEvent) => void>();
  private lastMeshFlush = -Infinity;
  private meshTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(scene: SceneState, status: ServerStatus, meshIntervalMs: number, log: (line: string) => void) {
    this.scene = scene;
    this.status = status;
    this.meshIntervalMs = meshIntervalMs;
    this.log = log;
  }

  /** Sends what the channels hold (mesh blocks only when `mesh`). */
  flushAll(mesh: boolean): void {
    for (const { ws, channel } of this.clients.values()) ws.cork(() => channel.flush(mesh));
  }

  broadcast(body: ServerMessageBody): void {
    for (const { channel } of this.clients.values()) channel.control(body);
  }

  /** producer events, after the scene has applied them */
  listen(listener: (e: ProducerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  handle(e: ProducerEvent): void {
    switch (e.type) {
      case 'update': {
        const delta = this.scene.apply(e.update);
        for (const { channel } of this.clients.values()) channel.onDelta(delta);
        this.flushAll(false);
        if (delta.blocks.length > 0) this.scheduleMesh();
        break;
      }
      case 'frame': {
        const msg = this.scene.setPreview(e.preview);
        for (const { channel } of this.clients.values()) channel.onFrame(msg);
        this.flushAll(false);
        break;
      }
      case 'status':
        this.status.source = e.source;
        this.status.state = e.state;
        this.setMessage(e.message);
        if (e.message) this.log(`source ${e.source}: ${e.state}: ${e.message}`);
        this.broadcast({ type: 'status', status: { ...this.status } });
        break;
      case 'recording':
        this.status.recording = e.dir;
        this.setMessage(e.message);
        this.log(e.dir ? `recording to ${e.dir}` : `recording stopped${e.frames !== undefined ? ` (${e.frames} frames)` : ''}${e.message ? `: ${e.message}` : ''}`);
        this.broadcast({ type: 'status', status: { ...this.status } });
        break;
      case 'reset':
        this.scene.reset();
        for (const { channel } of this.clients.values()) channel.onReset();
        break;
      case 'clientError':
        this.clients.get(e.clientId)?.channel.control({ type: 'error', code: e.code, message: e.message });
        break;
    }
    for (const l of this.listeners) l(e);
  }

  stop(): void {
    if (this.meshTimer) clearTimeout(this.meshTimer);
    this.meshTimer = null;
  }

  private setMessage(message: string | undefined): void {
    if (message !== undefined) this.status.message = message;
    else delete this.status.message;
  }

  private meshTick(): void {
    this.meshTimer = null;
    this.lastMeshFlush = wallMs();
    this.flushAll(true);
  }

  // leading edge: a quiet scene's first change goes out at once; then at most every meshIntervalMs
  private scheduleMesh(): void {
    if (this.meshTimer) return;
    const wait = this.lastMeshFlush + this.meshIntervalMs - wallMs();
    if (wait <= 0) this.meshTick();
    else this.meshTimer = setTimeout(() => this.meshTick(), wait);
  }
}
