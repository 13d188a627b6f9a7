/**
 * zod schemas for every option; one source of truth. Types are z.infer'd
 * from these and defaults live here only.
 */
import { z } from 'zod';

// ---- fusion ----------------------------------------------------------------

export const FusionOptionsSchema = z.object({
  /** voxel edge, metres */
  voxelSize: z.number().positive().max(1).default(0.01),
  /** truncation distance, metres (default: 4 voxels) */
  sdfTrunc: z.number().positive().optional(),
  maxWeight: z.number().min(1).default(128),
  /** block budget (8³ voxels each, 6 KiB) */
  maxBlocks: z.number().int().positive().default(131072),
  minDepth: z.number().nonnegative().default(0.1),
  maxDepth: z.number().positive().default(6),
  onFull: z.enum(['error', 'drop']).default('error'),
  /** re-mesh dirty blocks every n frames (replay: deterministic); 0 = only at the end */
  meshEvery: z.number().int().nonnegative().default(6),
  /** where poses come from */
  poses: z.enum(['groundtruth', 'source']).default('groundtruth'),
});
export type FusionOptions = z.infer<typeof FusionOptionsSchema>;
export type FusionOptionsInput = z.input<typeof FusionOptionsSchema>;
