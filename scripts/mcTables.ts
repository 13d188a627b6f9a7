/**
 * Marching-cubes tables for the 256 corner sign configurations, derived
 * rather than copied (scripts/gen-mc-tables.ts writes them as C; the kernel
 * tests compare against them).
 *
 * Corner c sits at (c&1, c>>1&1, c>>2&1). Edge e = 4·axis + k joins the k-th
 * corner (ascending index) whose axis bit is 0 to that corner + axis.
 * On each face, crossing points are paired so that inside corners are cut off
 * separately (the rule depends only on the face's four corners, so the two
 * cubes sharing a face agree and the mesh is watertight). Segments chain into
 * loops, each triangulated as a fan.
 */
type V3 = [number, number, number];
const corner = (c: number): V3 => [c & 1, (c >> 1) & 1, (c >> 2) & 1];

export const edges: { a: number; b: number; axis: number }[] = [];
for (let axis = 0; axis < 3; axis++) {
  for (let c = 0; c < 8; c++) if (!((c >> axis) & 1)) edges.push({ a: c, b: c | (1 << axis), axis });
}
const edgeOf = (p: number, q: number): number => edges.findIndex((e) => (e.a === p && e.b === q) || (e.a === q && e.b === p));

const sub = (p: V3, q: V3): V3 => [p[0] - q[0], p[1] - q[1], p[2] - q[2]];
const cross = (p: V3, q: V3): V3 => [p[1] * q[2] - p[2] * q[1], p[2] * q[0] - p[0] * q[2], p[0] * q[1] - p[1] * q[0]];
const dot = (p: V3, q: V3): number => p[0] * q[0] + p[1] * q[1] + p[2] * q[2];

/** faces as 4 corners counter-clockwise seen from outside the cube */
const faces: number[][] = [];
for (let axis = 0; axis < 3; axis++) {
  for (const side of [0, 1]) {
    const cs = [0, 1, 2, 3, 4, 5, 6, 7].filter((c) => ((c >> axis) & 1) === side);
    const u = (axis + 1) % 3, v = (axis + 2) % 3;
    const ang = (c: number): number => Math.atan2((corner(c)[v] as number) - 0.5, (corner(c)[u] as number) - 0.5);
    cs.sort((p, q) => ang(p) - ang(q));
    const normal: V3 = [0, 0, 0];
    normal[axis] = side ? 1 : -1;
    const n = cross(sub(corner(cs[1]!), corner(cs[0]!)), sub(corner(cs[2]!), corner(cs[1]!)));
    if (dot(n, normal) < 0) cs.reverse();
    faces.push(cs);
  }
}

export function triangulate(config: number): number[] {
  const inside = (c: number): boolean => ((config >> c) & 1) === 1;
  const next = new Map<number, number>();
  for (const f of faces) {
    const crossings: { edge: number; entering: boolean }[] = [];
    for (let i = 0; i < 4; i++) {
      const p = f[i]!, q = f[(i + 1) % 4]!;
      if (inside(p) !== inside(q)) crossings.push({ edge: edgeOf(p, q), entering: inside(q) });
    }
    for (let i = 0; i < crossings.length; i++) {
      const leave = crossings[i]!;
      if (leave.entering) continue;
      // pair with the entering crossing just before it: cuts each inside corner off alone
      for (let k = 1; k <= crossings.length; k++) {
        const prev = crossings[(i - k + crossings.length) % crossings.length]!;
        if (prev.entering) {
          next.set(prev.edge, leave.edge);
          break;
        }
      }
    }
  }
  const tris: number[] = [];
  const seen = new Set<number>();
  for (const start of [...next.keys()].sort((p, q) => p - q)) {
    if (seen.has(start)) continue;
    const loop: number[] = [];
    for (let e = start; !seen.has(e); e = next.get(e)!) {
      seen.add(e);
      loop.push(e);
    }
    for (let i = 1; i + 1 < loop.length; i++) tris.push(loop[0]!, loop[i]!, loop[i + 1]!);
  }
  return tris;
}


export interface McTables {
  /** edge e joins edgeCorner[e][0] to edgeCorner[e][1] along edgeAxis[e] */
  edgeCorner: [number, number][];
  edgeAxis: number[];
  /** triangle edge lists per config (3 entries per triangle) */
  tris: number[][];
  /** bit e set when config's triangles use edge e */
  edgeMask: number[];
}

export function mcTables(): McTables {
  const tris = Array.from({ length: 256 }, (_, c) => triangulate(c));
  return {
    edgeCorner: edges.map((e): [number, number] => [e.a, e.b]),
    edgeAxis: edges.map((e) => e.axis),
    tris,
    edgeMask: tris.map((t) => t.reduce((m, e) => m | (1 << e), 0)),
  };
}
