import { encodePly } from '../fusion/ply';
import { concatBlocks, type BlockGeometry } from '../fusion/meshBlock';

/** Binary little-endian PLY of mesh blocks (vertex xyz float + rgb uchar, triangle faces). */
export type PlyBlock = BlockGeometry;

export function meshBlocksToPly(blocks: Iterable<PlyBlock>): Uint8Array<ArrayBuffer> {
  return encodePly(concatBlocks(blocks)) as Uint8Array<ArrayBuffer>;
}
