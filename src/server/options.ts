/** Server options: one zod schema with the defaults (re-exported by src/config.ts). */
import { z } from 'zod';

const PORT = { error: 'must be an integer 0..65535' };

export const ServerOptionsSchema = z.object({
  /** interface to bind; anything but loopback requires a token */
  host: z.string().min(1).default('127.0.0.1'),
  /** 0 = any free port */
  port: z.number(PORT).int(PORT).min(0, PORT).max(65535, PORT).default(8080),
  /** access token; generated when host is not loopback and none is given */
  token: z.string().min(8).optional(),
  /** serve HTTPS with a self-signed certificate kept in the user's config dir (phones need it for camera access) */
  https: z.boolean().default(false),
  /** where the certificate lives (default: $XDG_CONFIG_HOME/scanstream/tls or ~/.config/scanstream/tls) */
  tlsDir: z.string().optional(),
  /** mesh updates go to clients at most this often */
  meshIntervalMs: z.number().min(0).max(10000).default(200),
  /** frame previews at most this often */
  frameIntervalMs: z.number().min(0).max(10000).default(100),
  previewWidth: z.number().int().min(32).max(1920).default(320),
  previewQuality: z.number().int().min(10).max(100).default(70),
  /** a client's socket may buffer this much before its updates are held back (and coalesced) */
  highWaterBytes: z.number().int().min(1024).default(1 << 20),
  /** largest JSON control message accepted */
  maxControlBytes: z.number().int().min(256).default(64 << 10),
  /** largest binary message (browser camera frame) accepted */
  maxBinaryBytes: z.number().int().min(1024).default(8 << 20),
  /** recordings started from a viewer go into subfolders of this */
  recordingsDir: z.string().default('recordings'),
});
export type ServerOptions = z.infer<typeof ServerOptionsSchema>;
export type ServerOptionsInput = z.input<typeof ServerOptionsSchema>;
