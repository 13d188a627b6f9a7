import { z } from 'zod';
import { FusionOptionsSchema, PaceModeSchema } from '../config';
import { encodeQr, renderQrTerminal } from '../server/qr';
import { ServerOptionsSchema } from '../server/options';
import type { ScanModuleOptions } from '../server/scan';
import { startServer, type ScanServer, type StartServerOptions } from '../server/server';
import { backendFlag, backendHelp, runCommand, type Command, type FlagHelp } from './args';

const server = ServerOptionsSchema.shape;

/** --port, as the server takes it */
export const portFlag = server.port;

/** The flags of a served pipeline, shared by serve, record and replay. */
export const serveFlags = {
  source: z.string().default('synthetic:room'),
  port: portFlag,
  host: server.host,
  https: server.https,
  token: server.token,
  meshInterval: server.meshIntervalMs,
  recordings: server.recordingsDir,
  backend: backendFlag,
  voxel: FusionOptionsSchema.shape.voxelSize.unwrap().optional(),
  poses: z.enum(['auto', 'groundtruth', 'track']).default('auto'),
  pace: PaceModeSchema.default('fast'),
  open: z.boolean().default(false),
};

export const serveHelp: { [K in keyof typeof serveFlags]: FlagHelp } = {
  source: { arg: 'SPEC', help: 'synthetic:room, tum:DIR, recording:DIR, camera:0, lavfi:GRAPH, video:FILE' },
  port: { help: 'viewer port (0: any free one)' },
  host: { help: 'interface to bind; anything but loopback needs the printed token (and a phone\nneeds --https for camera access)' },
  https: { help: 'self-signed certificate, made on first use, kept in the user\'s config dir' },
  token: { arg: 'T', help: 'access token, at least 8 characters (default: made up when the host is not loopback)' },
  meshInterval: { arg: 'MS', help: 'mesh updates to the viewers at most this often' },
  recordings: { arg: 'DIR', help: 'where the viewer\'s Record button writes' },
  backend: backendHelp,
  voxel: { arg: 'M', help: 'voxel size in metres (default: the pipeline\'s)' },
  poses: { help: 'ground truth (replays that have it) or tracking; auto = tracking for live sources' },
  pace: { help: 'replays: as fast as the pipeline goes, or at the recorded frame rate' },
  open: { help: 'open the viewer in the default browser' },
};

type ServeValues = z.output<z.ZodObject<typeof serveFlags>>;

/** What the pipeline worker runs for the served-pipeline flags. */
export function scanModuleOptions(f: Pick<ServeValues, 'poses' | 'pace' | 'backend' | 'voxel'>): ScanModuleOptions {
  return {
    poses: f.poses, pace: f.pace, ...(f.backend ? { backend: f.backend } : {}), ...(f.voxel !== undefined ? { fusion: { voxelSize: f.voxel } } : {}),
  };
}

/** What startServer takes for the served-pipeline flags (the source apart). */
export function serverOptions(f: Omit<ServeValues, 'source'>): StartServerOptions {
  return {
    port: f.port, host: f.host, https: f.https, meshIntervalMs: f.meshInterval, recordingsDir: f.recordings, moduleOptions: { ...scanModuleOptions(f) },
    ...(f.token ? { token: f.token } : {}),
  };
}

const command = {
  name: 'scanstream serve',
  about: 'Runs SPEC through the pipeline (in a worker) and serves the live viewer.',
  flags: z.object(serveFlags),
  help: serveHelp,
} satisfies Command;

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

export function run(argv: string[]): Promise<number> {
  return runCommand(command, argv, async (f) => {
    const server = await startServer({ ...serverOptions(f), source: f.source, log: (l) => console.error(`scanstream: ${l}`) });
    announce(server, f.source);
    if (f.open) openInBrowser(server.url);
    return serveUntilInterrupted(server);
  });
}
