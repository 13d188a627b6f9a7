/**
 * manifest.jsonl, the index of a scanstream recording: one JSON object per
 * line, a header first, then one line per frame in stream order. The manifest
 * is the commit log: a frame exists once its line is written (after its image
 * files), so a crash leaves at most a truncated last line.
 */
import { z } from 'zod';
import { formatZodIssues, IntrinsicsSchema } from '../config';
import { SourceError } from './errors';

export const MANIFEST_VERSION = 1;

const PoseArraySchema = z.array(z.number()).length(16);

/** a path inside the recording folder: relative, no '..' */
const RelativePathSchema = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !/^[a-zA-Z]:/.test(p) && !p.split(/[\\/]/).includes('..'), {
    message: 'expected a path inside the recording folder',
  });

export const ManifestHeaderSchema = z.object({
  type: z.literal('header'),
  version: z.literal(MANIFEST_VERSION),
  createdAt: z.string(),
  source: z.record(z.string(), z.unknown()),
  intrinsics: IntrinsicsSchema,
  /** depth units per metre of the 16-bit depth PNGs */
  depthScale: z.number().positive(),
});
export type ManifestHeader = z.infer<typeof ManifestHeaderSchema>;

export const ManifestFrameSchema = z.object({
  type: z.literal('frame'),
  index: z.number().int().nonnegative(),
  timestamp: z.number().nonnegative(),
  rgb: RelativePathSchema,
  depth: RelativePathSchema.optional(),
  /** the depth image's own timestamp when it differs from the colour one (TUM) */
  depthTimestamp: z.number().nonnegative().optional(),
  /** 4×4 row-major camera-to-world */
  pose: PoseArraySchema.optional(),
  groundTruthPose: PoseArraySchema.optional(),
  /** only when this frame's intrinsics differ from the header's */
  intrinsics: IntrinsicsSchema.optional(),
});
export type ManifestFrame = z.infer<typeof ManifestFrameSchema>;

export const ManifestLineSchema = z.discriminatedUnion('type', [ManifestHeaderSchema, ManifestFrameSchema]);
export type ManifestLine = z.infer<typeof ManifestLineSchema>;

/** Parse and validate one line; a SourceError names file:line and what was wrong. */
export function parseManifestLine(text: string, file: string, line: number): ManifestLine {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SourceError(`expected one JSON object per line (${(err as Error).message})`, { file, line, cause: err });
  }
  const parsed = ManifestLineSchema.safeParse(json);
  if (!parsed.success) {
    throw new SourceError(`expected a manifest header or frame line: ${formatZodIssues(parsed.error, '(line)')}`, { file, line });
  }
  return parsed.data;
}

/** One manifest line, newline-terminated; numbers keep every digit (JSON doubles round-trip). */
export function formatManifestLine(line: ManifestLine): string {
  return `${JSON.stringify(ManifestLineSchema.parse(line))}\n`;
}
