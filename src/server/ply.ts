/** Binary little-endian PLY of mesh blocks (vertex xyz float + rgb uchar, triangle faces). */
export interface PlyBlock {
  positions: Float32Array;
  colors: Uint8Array;
  indices: Uint32Array;
}

export function meshBlocksToPly(blocks: Iterable<PlyBlock>): Uint8Array<ArrayBuffer> {
  const list = [...blocks];
  const vertices = list.reduce((n, b) => n + b.positions.length / 3, 0);
  const faces = list.reduce((n, b) => n + b.indices.length / 3, 0);
  const header = new TextEncoder().encode(
    [
      'ply',
      'format binary_little_endian 1.0',
      'comment scanstream mesh export',
      `element vertex ${vertices}`,
      'property float x',
      'property float y',
      'property float z',
      'property uchar red',
      'property uchar green',
      'property uchar blue',
      `element face ${faces}`,
      'property list uchar int vertex_indices',
      'end_header',
      '',
    ].join('\n'),
  );
  const out = new Uint8Array(header.length + vertices * 15 + faces * 13);
  out.set(header);
  const dv = new DataView(out.buffer);
  let o = header.length;
  for (const b of list) {
    const n = b.positions.length / 3;
    for (let i = 0; i < n; i++) {
      dv.setFloat32(o, b.positions[3 * i]!, true);
      dv.setFloat32(o + 4, b.positions[3 * i + 1]!, true);
      dv.setFloat32(o + 8, b.positions[3 * i + 2]!, true);
      out[o + 12] = b.colors[3 * i]!;
      out[o + 13] = b.colors[3 * i + 1]!;
      out[o + 14] = b.colors[3 * i + 2]!;
      o += 15;
    }
  }
  let base = 0;
  for (const b of list) {
    for (let t = 0; t < b.indices.length; t += 3) {
      out[o] = 3;
      dv.setInt32(o + 1, base + b.indices[t]!, true);
      dv.setInt32(o + 5, base + b.indices[t + 1]!, true);
      dv.setInt32(o + 9, base + b.indices[t + 2]!, true);
      o += 13;
    }
    base += b.positions.length / 3;
  }
  return out;
}
