/**
 * Control messages of the scanstream WebSocket protocol: JSON, validated by
 * zod on both ends (the viewer imports this file). Binary data messages live
 * in dataMessages.ts. docs/protocol.md is the prose version of both.
 *
 * This module must stay browser-safe: zod only, no Bun or Node APIs.
 */
import { z } from 'zod';
import { formatZodIssues } from '../config';

/** Bumped on any incompatible change to a control or data message. */
export const PROTOCOL_VERSION = 1;

export const channelSchema = z.enum(['mesh', 'pose', 'trajectory', 'frame', 'stats']);
export type Channel = z.infer<typeof channelSchema>;
export const ALL_CHANNELS: readonly Channel[] = channelSchema.options;

/** Recording names from a browser become a folder under the server's recordings dir, never a path. */
export const recordingNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a name of letters, digits, "_", "-", "." (max 64), not a path');

const v = z.literal(PROTOCOL_VERSION);

// ── client → server ────────────────────────────────────────────────────────

export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({ v, type: z.literal('hello'), client: z.string().max(100).optional(), channels: z.array(channelSchema).optional() }).strict(),
  z.object({ v, type: z.literal('subscribe'), channels: z.array(channelSchema) }).strict(),
  z.object({ v, type: z.literal('pause') }).strict(),
  z.object({ v, type: z.literal('resume') }).strict(),
  z.object({ v, type: z.literal('reset') }).strict(),
  z.object({ v, type: z.literal('setSource'), spec: z.string().min(1).max(1000) }).strict(),
  z.object({ v, type: z.literal('startRecording'), name: recordingNameSchema.optional() }).strict(),
  z.object({ v, type: z.literal('stopRecording') }).strict(),
  z.object({ v, type: z.literal('exportMesh') }).strict(),
  z
    .object({
      v,
      type: z.literal('cameraStart'),
      width: z.number().int().min(16).max(4096),
      height: z.number().int().min(16).max(4096),
      fx: z.number().positive(),
      fy: z.number().positive(),
      cx: z.number(),
      cy: z.number(),
    })
    .strict(),
  z.object({ v, type: z.literal('cameraStop') }).strict(),
  z.object({ v, type: z.literal('ping'), id: z.number() }).strict(),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;
export type ClientMessageType = ClientMessage['type'];
export const CLIENT_MESSAGE_TYPES: readonly string[] = clientMessageSchema.options.map((o) => o.shape.type.value);

// ── server → client ────────────────────────────────────────────────────────

export const errorCodeSchema = z.enum([
  'bad-json', // not JSON
  'unknown-type', // JSON without a known "type"
  'invalid', // known type, fields fail validation
  'version', // protocol version mismatch (JSON "v" or binary header byte)
  'too-large', // message over the configured cap
  'bad-frame', // camera frame with wrong length, size or encoding
  'bad-binary', // binary message that is not a client data message
  'failed', // a valid command that could not be carried out
]);
export type ErrorCode = z.infer<typeof errorCodeSchema>;

export const sourceStateSchema = z.enum(['idle', 'running', 'paused', 'ended', 'error']);
export type SourceState = z.infer<typeof sourceStateSchema>;

export const serverStatusSchema = z.object({
  source: z.string(),
  state: sourceStateSchema,
  /** recording folder (server side) while recording, else null */
  recording: z.string().nullable(),
  message: z.string().optional(),
});
export type ServerStatus = z.infer<typeof serverStatusSchema>;

export const serverMessageSchema = z.discriminatedUnion('type', [
  z.object({
    v,
    type: z.literal('welcome'),
    server: z.literal('scanstream'),
    clientId: z.number().int(),
    channels: z.array(channelSchema),
    meshIntervalMs: z.number(),
    status: serverStatusSchema,
  }),
  z.object({ v, type: z.literal('status'), status: serverStatusSchema }),
  /** brackets the late-join state: everything between begin and end is the scene as it was */
  z.object({ v, type: z.literal('snapshot'), phase: z.enum(['begin', 'end']), blocks: z.number().int(), trajectory: z.number().int() }),
  /** the scene was cleared (reset or new source): drop every block and the trajectory */
  z.object({ v, type: z.literal('reset') }),
  z.object({ v, type: z.literal('ack'), ref: z.string() }),
  z.object({ v, type: z.literal('error'), code: errorCodeSchema, message: z.string(), ref: z.string().optional() }),
  z.object({ v, type: z.literal('pong'), id: z.number() }),
  z.object({ v, type: z.literal('export'), url: z.string(), blocks: z.number().int(), triangles: z.number().int() }),
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;

/** Distributive Omit, so each union member keeps its own fields. */
type OmitV<T> = T extends unknown ? Omit<T, 'v'> : never;
export type ServerMessageBody = OmitV<ServerMessage>;
export type ClientMessageBody = OmitV<ClientMessage>;

export function serverMessage(body: ServerMessageBody): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, ...body });
}

export function clientMessage(body: ClientMessageBody): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, ...body });
}

export type ParseResult<T> = { ok: true; message: T } | { ok: false; code: ErrorCode; error: string; ref?: string };

/** Parse and validate one client control message (text frame). Never throws. */
export function parseClientMessage(text: string): ParseResult<ClientMessage> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, code: 'bad-json', error: `control message is not JSON (${(e as Error).message})` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, code: 'invalid', error: 'control message must be a JSON object with "v" and "type"' };
  }
  const record = json as Record<string, unknown>;
  const type = typeof record.type === 'string' ? record.type : undefined;
  if (type === undefined || !CLIENT_MESSAGE_TYPES.includes(type)) {
    return {
      ok: false,
      code: 'unknown-type',
      error: `unknown control message type ${JSON.stringify(record.type)}; expected one of ${CLIENT_MESSAGE_TYPES.join(', ')}`,
      ...(type !== undefined ? { ref: type } : {}),
    };
  }
  if (record.v !== PROTOCOL_VERSION) {
    return {
      ok: false,
      code: 'version',
      error: `protocol version ${JSON.stringify(record.v)} is not supported; this server speaks v=${PROTOCOL_VERSION}`,
      ref: type,
    };
  }
  const parsed = clientMessageSchema.safeParse(json);
  if (!parsed.success) return { ok: false, code: 'invalid', error: `invalid '${type}' message: ${formatZodIssues(parsed.error, '(message)')}`, ref: type };
  return { ok: true, message: parsed.data };
}

/** Parse and validate one server control message (used by the viewer and test clients). */
export function parseServerMessage(text: string): ParseResult<ServerMessage> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, code: 'bad-json', error: `server message is not JSON (${(e as Error).message})` };
  }
  const parsed = serverMessageSchema.safeParse(json);
  if (!parsed.success) return { ok: false, code: 'invalid', error: formatZodIssues(parsed.error, '(message)') };
  return { ok: true, message: parsed.data };
}
