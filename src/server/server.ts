/**
 * The scanstream server: Bun HTTP serves the bundled viewer, one WebSocket
 * per client at /ws carries control messages (JSON, zod) and data messages
 * (binary). Scene updates come from an UpdateProducer (the pipeline worker by
 * default), are applied to the SceneState and fanned out to every client's
 * coalescing channel. Nothing here waits on a kernel.
 */
import { resolve } from 'node:path';
import type { Server } from 'bun';
import type { Observable, Subscription } from 'rxjs';
import type { PipelineUpdate } from '../pipeline/types';
import { lanAddresses, viewerUrls } from './addresses';
import { generateToken, isLoopbackHost } from './auth';
import type { ClientChannelStats } from './clientChannel';
import { ControlDispatch } from './controlDispatch';
import { FanOut, type SocketData } from './fanOut';
import { httpRoutes } from './httpRoutes';
import { observableProducer } from './localProducers';
import { ServerOptionsSchema, type ServerOptions, type ServerOptionsInput } from './options';
import type { ProducerCommand, ProducerEvent, UpdateProducer } from './producer';
import type { ServerStatus } from './protocol';
import type { RunnerOptions } from './scanRunner';
import { SceneState } from './sceneState';
import { socketHandlers } from './sockets';
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
  const fanOut = new FanOut(scene, status, options.meshIntervalMs, log);
  const eventSub: Subscription = producer.events.subscribe({
    next: (e) => {
      try {
        fanOut.handle(e);
      } catch (err) {
        log(`internal error handling a ${e.type} event: ${(err as Error).stack ?? String(err)}`);
      }
    },
  });
  const tokenQuery = token ? `?token=${encodeURIComponent(token)}` : '';
  const control = new ControlDispatch({ producer, scene, recordingsDir: resolve(options.recordingsDir), tokenQuery, maxBinaryBytes: options.maxBinaryBytes });

  let server: Server<SocketData>;
  try {
    server = Bun.serve<SocketData>({
      hostname: options.host,
      port: options.port,
      ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
      fetch: httpRoutes({ token, scene, status, clientCount: () => fanOut.clients.size }),
      error(err) {
        log(`http error: ${err.message}`);
        return new Response('internal error\n', { status: 500 });
      },
      websocket: socketHandlers({ fanOut, control, scene, status, options, log }),
    });
  } catch (e) {
    eventSub.unsubscribe();
    await producer.stop();
    throw new Error(`cannot listen on ${options.host}:${options.port}: ${(e as Error).message}`);
  }
  producer.start();

  const port = server.port ?? options.port;
  const { url, lanUrls } = viewerUrls({ tls: tls !== null, host: options.host, port, loopback, tokenQuery });
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
      [...fanOut.clients.values()].map(({ ws, channel }) => ({ id: ws.data.id, remote: ws.data.remote, buffered: ws.getBufferedAmount(), ...channel.stats })),
    command: (c) => producer.send(c),
    onEvent: (listener) => fanOut.listen(listener),
    stop() {
      stopping ??= (async () => {
        fanOut.stop();
        await producer.stop();
        eventSub.unsubscribe();
        for (const { ws } of fanOut.clients.values()) ws.close(1001, 'server stopping');
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
