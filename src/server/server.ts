/**
 * The scanstream server: Bun HTTP serves the bundled viewer, one WebSocket
 * per client at /ws carries control messages (JSON, zod) and data messages
 * (binary). Scene updates come from an UpdateProducer (the pipeline worker by
 * default), are applied to the SceneState and fanned out to every client's
 * coalescing channel. Nothing here waits on a kernel.
 */
import { networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import type { Server, ServerWebSocket } from 'bun';
import type { Observable, Subscription } from 'rxjs';
import type { PipelineUpdate } from '../pipeline/types';
import { validateCameraFrame } from '../frames/browserSource';
import { generateToken, isLoopbackHost, originAllowed, requestToken, tokenMatches } from './auth';
import { ClientChannel, type ClientChannelStats } from './clientChannel';
import { DataMessageError, DataType, decodeDataMessage, readDataHeader } from './dataMessages';
import { observableProducer } from './localProducers';
import { ServerOptionsSchema, type ServerOptions, type ServerOptionsInput } from './options';
import { meshBlocksToPly } from './ply';
import type { ProducerCommand, ProducerEvent, UpdateProducer } from './producer';
import {
  ALL_CHANNELS,
  PROTOCOL_VERSION,
  parseClientMessage,
  type ClientMessage,
  type ServerMessageBody,
  type ServerStatus,
} from './protocol';
import type { RunnerOptions } from './scanRunner';
import { SceneState } from './sceneState';
import { wallMs } from './sceneUpdate';
import { loadOrCreateCertificate } from './tls';
import { viewerBundle } from './viewerBundle';
import { workerProducer } from './workerProducer';

export interface StartServerOptions extends ServerOptionsInput {
  /** frame source spec run in the pipeline worker (ignored when `producer` is given) */
  source?: string;
  /** what produces updates; default: the pipeline worker running `source` */
  producer?: UpdateProducer;
  /** URL of the scan module for the worker (tests pass a fake pipeline) */
  scanModule?: string;
  moduleOptions?: Record<string, unknown>;
  /** record the source from its first frame into this folder (worker producer only) */
  recordDir?: string;
  /** log lines (default: none) */
  log?: (line: string) => void;
}

export interface ClientInfo extends ClientChannelStats {
  id: number;
  remote: string;
  buffered: number;
}

export interface ScanServer {
  /** what to open, with the token when one is required */
  readonly url: string;
  /** the same for each LAN address, when bound beyond loopback */
  readonly lanUrls: string[];
  readonly port: number;
  readonly token: string | null;
  /** SHA-256 of the TLS certificate under --https */
  readonly fingerprint: string | null;
  readonly scene: SceneState;
  readonly status: ServerStatus;
  readonly options: ServerOptions;
  clients(): ClientInfo[];
  /** send a command to the producer as a client would (CLI: start recording into a given folder) */
  command(c: ProducerCommand): void;
  /** producer events, after the scene has applied them (tests and benchmarks watch this) */
  onEvent(listener: (e: ProducerEvent) => void): () => void;
  stop(): Promise<void>;
}

interface SocketData {
  id: number;
  remote: string;
}

function lanAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) out.push(a.address);
  }
  return out;
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  // the token is in the page URL; keep it out of Referer headers
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; connect-src 'self' ws: wss:; media-src 'self' blob: mediastream:",
};

export async function startServer(input: StartServerOptions = {}): Promise<ScanServer> {
  const { source, producer: givenProducer, scanModule, moduleOptions, recordDir, log = () => undefined, ...rest } = input;
  const options = ServerOptionsSchema.parse(rest);
  const loopback = isLoopbackHost(options.host);
  const token = options.token ?? (loopback ? null : generateToken());
  const tls = options.https ? await loadOrCreateCertificate(options.tlsDir, lanAddresses()) : null;
  // fail at start, not on the first page load, if the viewer does not build
  await viewerBundle();

  const runnerOptions: RunnerOptions = {
    frameIntervalMs: options.frameIntervalMs,
    previewWidth: options.previewWidth,
    previewQuality: options.previewQuality,
  };
  const spec = source ?? 'synthetic:room';
  const producer =
    givenProducer ??
    workerProducer({
      spec,
      runner: runnerOptions,
      ...(scanModule ? { scanModule } : {}),
      ...(moduleOptions ? { moduleOptions } : {}),
      ...(recordDir ? { recordDir: resolve(recordDir) } : {}),
    });

  const scene = new SceneState();
  const status: ServerStatus = { source: givenProducer ? 'external' : spec, state: 'idle', recording: null };
  const clients = new Map<number, { ws: ServerWebSocket<SocketData>; channel: ClientChannel }>();
  const listeners = new Set<(e: ProducerEvent) => void>();
  let nextClientId = 1;
  let cameraClient: number | null = null;
  let lastMeshFlush = -Infinity;
  let meshTimer: ReturnType<typeof setTimeout> | null = null;
  const recordingsDir = resolve(options.recordingsDir);

  const flushAll = (mesh: boolean): void => {
    for (const { ws, channel } of clients.values()) ws.cork(() => channel.flush(mesh));
  };
  const meshTick = (): void => {
    meshTimer = null;
    lastMeshFlush = wallMs();
    flushAll(true);
  };
  // leading edge: a quiet scene's first change goes out at once; then at most every meshIntervalMs
  const scheduleMesh = (): void => {
    if (meshTimer) return;
    const wait = lastMeshFlush + options.meshIntervalMs - wallMs();
    if (wait <= 0) meshTick();
    else meshTimer = setTimeout(meshTick, wait);
  };
  const broadcast = (body: ServerMessageBody): void => {
    for (const { channel } of clients.values()) channel.control(body);
  };

  const onEvent = (e: ProducerEvent): void => {
    switch (e.type) {
      case 'update': {
        const delta = scene.apply(e.update);
        for (const { channel } of clients.values()) channel.onDelta(delta);
        flushAll(false);
        if (delta.blocks.length > 0) scheduleMesh();
        break;
      }
      case 'frame': {
        const msg = scene.setPreview(e.preview);
        for (const { channel } of clients.values()) channel.onFrame(msg);
        flushAll(false);
        break;
      }
      case 'status':
        status.source = e.source;
        status.state = e.state;
        if (e.message !== undefined) status.message = e.message;
        else delete status.message;
        if (e.message) log(`source ${e.source}: ${e.state}: ${e.message}`);
        broadcast({ type: 'status', status: { ...status } });
        break;
      case 'recording':
        status.recording = e.dir;
        if (e.message !== undefined) status.message = e.message;
        else delete status.message;
        log(e.dir ? `recording to ${e.dir}` : `recording stopped${e.frames !== undefined ? ` (${e.frames} frames)` : ''}${e.message ? `: ${e.message}` : ''}`);
        broadcast({ type: 'status', status: { ...status } });
        break;
      case 'reset':
        scene.reset();
        for (const { channel } of clients.values()) channel.onReset();
        break;
      case 'clientError':
        clients.get(e.clientId)?.channel.control({ type: 'error', code: e.code, message: e.message });
        break;
    }
    for (const l of listeners) l(e);
  };
  const eventSub: Subscription = producer.events.subscribe({
    next: (e) => {
      try {
        onEvent(e);
      } catch (err) {
        log(`internal error handling a ${e.type} event: ${(err as Error).stack ?? String(err)}`);
      }
    },
  });

  const tokenQuery = token ? `?token=${encodeURIComponent(token)}` : '';

  const handleControl = (id: number, channel: ClientChannel, m: ClientMessage): void => {
    const ack = (): void => channel.control({ type: 'ack', ref: m.type });
    switch (m.type) {
      case 'hello':
        if (m.channels) channel.subscribe(m.channels);
        ack();
        break;
      case 'subscribe':
        channel.subscribe(m.channels);
        ack();
        break;
      case 'pause':
      case 'resume':
      case 'reset':
      case 'stopRecording':
        producer.send({ type: m.type });
        ack();
        break;
      case 'setSource':
        producer.send({ type: 'setSource', spec: m.spec });
        ack();
        break;
      case 'startRecording': {
        const name = m.name ?? `scan-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        producer.send({ type: 'startRecording', dir: join(recordingsDir, name) });
        ack();
        break;
      }
      case 'exportMesh':
        channel.control({ type: 'export', url: `/mesh.ply${tokenQuery}`, blocks: scene.blocks.size, triangles: scene.triangles });
        break;
      case 'cameraStart':
        cameraClient = id;
        producer.send({ type: 'cameraStart', clientId: id, intrinsics: { fx: m.fx, fy: m.fy, cx: m.cx, cy: m.cy, width: m.width, height: m.height } });
        ack();
        break;
      case 'cameraStop':
        if (cameraClient === id) cameraClient = null;
        producer.send({ type: 'cameraStop', clientId: id });
        ack();
        break;
      case 'ping':
        channel.control({ type: 'pong', id: m.id });
        break;
    }
    flushAll(false);
  };

  const handleBinary = (id: number, channel: ClientChannel, data: Uint8Array): void => {
    if (data.byteLength > options.maxBinaryBytes) {
      channel.control({ type: 'error', code: 'too-large', message: `binary message of ${data.byteLength} bytes exceeds the ${options.maxBinaryBytes}-byte cap` });
      return;
    }
    let type: number;
    try {
      const h = readDataHeader(data);
      if (h.version !== PROTOCOL_VERSION) {
        channel.control({ type: 'error', code: 'version', message: `binary message has protocol version ${h.version}; this server speaks ${PROTOCOL_VERSION}` });
        return;
      }
      type = h.type;
    } catch (e) {
      channel.control({ type: 'error', code: 'bad-binary', message: (e as Error).message });
      return;
    }
    if (type !== DataType.CameraFrame) {
      channel.control({ type: 'error', code: 'bad-binary', message: `binary message type ${type} cannot be sent by a client; only camera frames (${DataType.CameraFrame})` });
      return;
    }
    if (cameraClient !== id) {
      channel.control({ type: 'error', code: 'failed', message: 'camera frame before cameraStart: send {"type":"cameraStart",…} first' });
      return;
    }
    try {
      const m = decodeDataMessage(data.slice());
      if (m.kind !== 'cameraFrame') throw new DataMessageError('not a camera frame');
      validateCameraFrame(m);
      producer.send({ type: 'cameraFrame', clientId: id, frame: m });
    } catch (e) {
      channel.control({ type: 'error', code: 'bad-frame', message: (e as Error).message });
    }
  };

  const json = (body: unknown, status = 200): Response =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...SECURITY_HEADERS } });
  const forbidden = (): Response =>
    new Response('scanstream: this server requires the access token printed at start (?token=…)\n', { status: 401, headers: SECURITY_HEADERS });

  const fetch = async (req: Request, server: Server<SocketData>): Promise<Response | undefined> => {
    const url = new URL(req.url);
    const authorized = token === null || tokenMatches(requestToken(req, url), token);
    switch (url.pathname) {
      case '/':
      case '/index.html':
        return new Response((await viewerBundle()).html, { headers: { 'content-type': 'text/html; charset=utf-8', ...SECURITY_HEADERS } });
      case '/viewer.js':
        return new Response((await viewerBundle()).js, { headers: { 'content-type': 'text/javascript; charset=utf-8', ...SECURITY_HEADERS } });
      case '/ws': {
        if (!authorized) return forbidden();
        if (!originAllowed(req)) return new Response('scanstream: cross-origin WebSocket refused\n', { status: 403, headers: SECURITY_HEADERS });
        const remote = server.requestIP(req)?.address ?? '?';
        if (server.upgrade(req, { data: { id: nextClientId++, remote } })) return undefined;
        return new Response('scanstream: expected a WebSocket upgrade\n', { status: 426, headers: SECURITY_HEADERS });
      }
      case '/mesh.ply':
        if (!authorized) return forbidden();
        return new Response(meshBlocksToPly(scene.meshBlocks()), {
          headers: { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename="scanstream-mesh.ply"', ...SECURITY_HEADERS },
        });
      case '/status.json':
        if (!authorized) return forbidden();
        return json({ status, blocks: scene.blocks.size, triangles: scene.triangles, clients: clients.size });
      default:
        return new Response('not found\n', { status: 404, headers: SECURITY_HEADERS });
    }
  };

  let server: Server<SocketData>;
  try {
    server = Bun.serve<SocketData>({
      hostname: options.host,
      port: options.port,
      ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
      fetch,
      error(err) {
        log(`http error: ${err.message}`);
        return new Response('internal error\n', { status: 500 });
      },
      websocket: {
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
              handleControl(ws.data.id, channel, parsed.message);
            } else {
              handleBinary(ws.data.id, channel, new Uint8Array(message.buffer, message.byteOffset, message.byteLength));
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
          if (cameraClient === ws.data.id) {
            cameraClient = null;
            producer.send({ type: 'cameraStop', clientId: ws.data.id });
          }
        },
      },
    });
  } catch (e) {
    eventSub.unsubscribe();
    await producer.stop();
    throw new Error(`cannot listen on ${options.host}:${options.port}: ${(e as Error).message}`);
  }
  producer.start();

  const scheme = tls ? 'https' : 'http';
  const port = server.port ?? options.port;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `${scheme}://${shownHost}:${port}/${tokenQuery}`;
  const lanUrls = loopback ? [] : lanAddresses().map((ip) => `${scheme}://${ip}:${port}/${tokenQuery}`);

  let stopping: Promise<void> | null = null;
  return {
    url,
    lanUrls,
    port,
    token,
    fingerprint: tls?.fingerprint ?? null,
    scene,
    status,
    options,
    clients: () =>
      [...clients.values()].map(({ ws, channel }) => ({ id: ws.data.id, remote: ws.data.remote, buffered: ws.getBufferedAmount(), ...channel.stats })),
    command: (c) => producer.send(c),
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop() {
      stopping ??= (async () => {
        if (meshTimer) clearTimeout(meshTimer);
        await producer.stop();
        eventSub.unsubscribe();
        for (const { ws } of clients.values()) ws.close(1001, 'server stopping');
        await server.stop(true);
      })();
      return stopping;
    },
  };
}

/** Serve an Observable of pipeline updates running on this thread (e.g. the demo), with the same viewer. */
export function serveUpdates(updates: Observable<PipelineUpdate>, options: Omit<StartServerOptions, 'producer' | 'source'> = {}): Promise<ScanServer> {
  const o = ServerOptionsSchema.parse(options);
  const producer = observableProducer(updates, 'pipeline', { frameIntervalMs: o.frameIntervalMs, previewWidth: o.previewWidth, previewQuality: o.previewQuality });
  return startServer({ ...options, producer });
}
