/**
 * The WebSocket lifecycle: a client is welcomed with the current scene
 * (snapshot, then deltas), its messages go to the control dispatch, a
 * drained socket takes the coalesced updates, a closed one leaves.
 */
import type { WebSocketHandler } from 'bun';
import { ClientChannel } from './clientChannel';
import type { ControlDispatch } from './controlDispatch';
import type { FanOut, SocketData } from './fanOut';
import type { ServerOptions } from './options';
import { ALL_CHANNELS, parseClientMessage, type ServerStatus } from './protocol';
import type { SceneState } from './sceneState';

export function socketHandlers(o: { fanOut: FanOut; control: ControlDispatch; scene: SceneState; status: ServerStatus; options: ServerOptions;
  log: (line: string) => void }): WebSocketHandler<SocketData> {
  const { fanOut, control, scene, status, options, log } = o;
  const clients = fanOut.clients;
  return {
    // messages between our caps and this get an error reply; beyond it Bun closes with 1009
    maxPayloadLength: Math.max(options.maxBinaryBytes, options.maxControlBytes) * 4,
    backpressureLimit: options.highWaterBytes * 8,
    idleTimeout: 120,
    perMessageDeflate: false,
    open(ws) {
      const channel = new ClientChannel(ws.data.id, ws, scene, { highWaterBytes: options.highWaterBytes }, ALL_CHANNELS);
      clients.set(ws.data.id, { ws, channel });
      channel.control({
        type: 'welcome',
        server: 'scanstream',
        clientId: ws.data.id,
        channels: [...ALL_CHANNELS],
        meshIntervalMs: options.meshIntervalMs,
        status: { ...status },
      });
      channel.startSnapshot();
      channel.flush(true);
    },
    message(ws, message) {
      const client = clients.get(ws.data.id);
      if (!client) return;
      const { channel } = client;
      try {
        if (typeof message === 'string') {
          if (message.length > options.maxControlBytes) {
            channel.control({ type: 'error', code: 'too-large', message: `control message of ${message.length} bytes exceeds the ${options.maxControlBytes}-byte cap` });
            return;
          }
          const parsed = parseClientMessage(message);
          if (!parsed.ok) {
            channel.control({ type: 'error', code: parsed.code, message: parsed.error, ...(parsed.ref !== undefined ? { ref: parsed.ref } : {}) });
            return;
          }
          control.control(ws.data.id, channel, parsed.message);
          fanOut.flushAll(false);
        } else {
          control.binary(ws.data.id, channel, new Uint8Array(message.buffer, message.byteOffset, message.byteLength));
        }
      } catch (e) {
        log(`client ${ws.data.id}: internal error: ${(e as Error).stack ?? String(e)}`);
        channel.control({ type: 'error', code: 'failed', message: `internal error: ${(e as Error).message}` });
      }
    },
    drain(ws) {
      clients.get(ws.data.id)?.channel.flush(true);
    },
    close(ws) {
      clients.delete(ws.data.id);
      control.closed(ws.data.id);
    },
  };
}
