import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { backendChoices } from '../native/library';
import { parseBackendFlag } from './backendFlag';
import { encodeQr, renderQrTerminal } from '../server/qr';
import { startServer, type ScanServer, type StartServerOptions } from '../server/server';

export const serveUsage = `usage: scanstream serve [--source SPEC] [--port 8080] [--host 127.0.0.1] [--https] [--token T]
                       [--mesh-interval 200] [--recordings DIR] [--backend ${backendChoices.join('|')}] [--voxel M]
                       [--poses auto|groundtruth|track] [--pace fast|realtime] [--open]

Runs SPEC through the pipeline (in a worker) and serves the live viewer.
  --source      synthetic:room (default), tum:DIR, recording:DIR, camera:0, lavfi:GRAPH, video:FILE
  --host        interface to bind; anything but loopback needs the printed token (and a phone
                needs --https for camera access)
  --https       self-signed certificate, made on first use, kept in the user's config dir
  --poses       ground truth (replays that have it) or RGB-D tracking; auto = tracking for live sources
  --pace        replays: as fast as the pipeline goes (default) or at the recorded frame rate
  --recordings  where the viewer's Record button writes (default ./recordings)
  --open        open the viewer in the default browser`;

export interface ServeFlags {
  source: string;
  options: StartServerOptions;
  open: boolean;
  /** every parsed flag, including a caller's extra ones */
  values: Record<string, string | boolean | undefined>;
}

/** Parses serve's flags (shared by replay and record); returns a usage error string instead of throwing. */
export function parseServeFlags(argv: string[], extra: ParseArgsOptionsConfig = {}): ServeFlags | string {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        source: { type: 'string' },
        port: { type: 'string', default: '8080' },
        host: { type: 'string', default: '127.0.0.1' },
        https: { type: 'boolean', default: false },
        token: { type: 'string' },
        'mesh-interval': { type: 'string', default: '200' },
        recordings: { type: 'string', default: 'recordings' },
        backend: { type: 'string' },
        voxel: { type: 'string' },
        poses: { type: 'string', default: 'auto' },
        pace: { type: 'string', default: 'fast' },
        open: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
        ...extra,
      },
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | boolean | undefined> });
  } catch (e) {
    return (e as Error).message;
  }
  if (values.help) return '';
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const port = Number(str('port'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) return `--port must be an integer 0..65535, got '${str('port')}'`;
  const meshIntervalMs = Number(str('mesh-interval'));
  if (!(meshIntervalMs >= 0)) return `--mesh-interval must be a number of milliseconds ≥ 0, got '${str('mesh-interval')}'`;
  const backendFlag = parseBackendFlag(str('backend'));
  if ('error' in backendFlag) return backendFlag.error;
  const backend = backendFlag.backend;
  const voxel = str('voxel');
  if (voxel !== undefined && !(Number(voxel) > 0)) return `--voxel must be a positive number of metres, got '${voxel}'`;
  const poses = str('poses') ?? 'auto';
  if (!['auto', 'groundtruth', 'track'].includes(poses)) return `--poses must be auto, groundtruth or track, got '${poses}'`;
  const pace = str('pace') ?? 'fast';
  if (pace !== 'fast' && pace !== 'realtime') return `--pace must be fast or realtime, got '${pace}'`;
  const token = str('token');
  if (token !== undefined && token.length < 8) return '--token must be at least 8 characters';
  const moduleOptions: Record<string, unknown> = { poses, pace };
  if (backend) moduleOptions.backend = backend;
  if (voxel) moduleOptions.fusion = { voxelSize: Number(voxel) };
  return {
    source: str('source') ?? 'synthetic:room',
    open: values.open === true,
    values,
    options: {
      port,
      host: str('host') ?? '127.0.0.1',
      https: values.https === true,
      meshIntervalMs,
      recordingsDir: str('recordings') ?? 'recordings',
      moduleOptions,
      ...(token ? { token } : {}),
    },
  };
}

export function openInBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? ['open', url] : process.platform === 'win32' ? ['cmd', '/c', 'start', '', url] : ['xdg-open', url];
  try {
    Bun.spawn(cmd, { stdout: 'ignore', stderr: 'ignore' }).unref();
  } catch {
    // no browser here: the URL is printed
  }
}

/** Prints where to look; a QR code of the LAN URL when the server is reachable from other devices. */
export function announce(server: ScanServer, source: string): void {
  const lines = [`scanstream: serving ${source}`, `  viewer  ${server.url}`];
  for (const u of server.lanUrls) lines.push(`  LAN     ${u}`);
  if (server.fingerprint) lines.push(`  TLS certificate SHA-256 ${server.fingerprint}`, '  (self-signed: accept it once in the browser after checking this fingerprint)');
  console.log(lines.join('\n'));
  const phoneUrl = server.lanUrls[0];
  if (phoneUrl) {
    try {
      console.log(`\nscan with a phone on the same network:\n${renderQrTerminal(encodeQr(phoneUrl))}\n`);
    } catch (e) {
      console.log(`(no QR code: ${(e as Error).message})`);
    }
  }
}

/** Resolves on SIGINT/SIGTERM after stopping the server (recordings are finished first). */
export async function serveUntilInterrupted(server: ScanServer): Promise<number> {
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log('\nscanstream: stopping');
  await server.stop();
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const flags = parseServeFlags(argv);
  if (typeof flags === 'string') {
    if (flags === '') {
      console.log(serveUsage);
      return 0;
    }
    console.error(`scanstream serve: ${flags}\n\n${serveUsage}`);
    return 2;
  }
  const server = await startServer({ ...flags.options, source: flags.source, log: (l) => console.error(`scanstream: ${l}`) });
  announce(server, flags.source);
  if (flags.open) openInBrowser(server.url);
  return serveUntilInterrupted(server);
}
