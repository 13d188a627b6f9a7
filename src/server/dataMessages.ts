/**
 * Binary data messages of the scanstream WebSocket protocol (see
 * docs/protocol.md). Every message is
 *
 *   u8 type | u8 protocol version | u8 section count n | u8 flags (0) | u32 seq
 *   | u32 × n section byte lengths | sections, each starting 4-byte aligned
 *
 * all little-endian. Section 0 is the type's fixed-size meta record; the
 * others are raw typed arrays (float32 positions, uint8 colours, uint32
 * indices, JPEG bytes), so a receiver views them in place without copying.
 *
 * Browser-safe: DataView and typed arrays only.
 */
import { z } from 'zod';
import type { BrowserCameraFrame } from '../frames/cameraFrame';
import type { Intrinsics } from '../geometry/intrinsics';
import { TRACKING_STATES, type TrackingState } from '../tracking/trackingState';
import { PROTOCOL_VERSION } from './protocol';

export const DataType = {
  MeshBlock: 1,
  Pose: 2,
  Trajectory: 3,
  FrameImage: 4,
  Stats: 5,
  /** client → server: a frame from the browser's camera */
  CameraFrame: 16,
} as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];


const HEADER_FIXED = 8;
const MAX_SECTIONS = 8;

const META_BYTES: Record<DataTypeCode, number> = {
  [DataType.MeshBlock]: 20,
  [DataType.Pose]: 176,
  [DataType.Trajectory]: 8,
  [DataType.FrameImage]: 12,
  [DataType.Stats]: 28,
  [DataType.CameraFrame]: 36,
};
const SECTION_COUNT: Record<DataTypeCode, number> = {
  [DataType.MeshBlock]: 4,
  [DataType.Pose]: 1,
  [DataType.Trajectory]: 2,
  [DataType.FrameImage]: 2,
  [DataType.Stats]: 2,
  [DataType.CameraFrame]: 2,
};

export class DataMessageError extends Error {
  override name = 'DataMessageError';
}

export interface MeshBlockMessage {
  kind: 'meshBlock';
  seq: number;
  bx: number;
  by: number;
  bz: number;
  version: number;
  /** the frame whose integration produced this version */
  frameIndex: number;
  positions: Float32Array;
  colors: Uint8Array;
  /** empty = the block has no surface any more (removal) */
  indices: Uint32Array;
}

export interface PoseMessage {
  kind: 'pose';
  seq: number;
  frameIndex: number;
  trackingState: TrackingState;
  /** source clock, seconds */
  timestamp: number;
  /** wall clock (ms since epoch) when the frame entered the pipeline; NaN if unknown */
  enteredAt: number;
  /** 4×4 row-major camera-to-world */
  pose: Float64Array;
  intrinsics: Intrinsics;
}

export interface TrajectoryMessage {
  kind: 'trajectory';
  seq: number;
  /** index of the first point within the whole trajectory */
  start: number;
  /** xyz camera centres, float32 */
  points: Float32Array;
}

export interface FrameImageMessage {
  kind: 'frame';
  seq: number;
  frameIndex: number;
  width: number;
  height: number;
  /** JPEG bytes */
  jpeg: Uint8Array;
}

export interface StatsMessage {
  kind: 'stats';
  seq: number;
  frameIndex: number;
  frames: number;
  blocks: number;
  triangles: number;
  trackingState: TrackingState;
  /** pipeline frames per second (recent) */
  fps: number;
  /** frames a live source dropped because the pipeline lagged */
  dropped: number;
  /** ms per stage for the latest frame */
  timings: Record<string, number>;
}

/** A browser camera's frame on the wire (client → server). */
export interface CameraFrameMessage extends BrowserCameraFrame {
  kind: 'cameraFrame';
  seq: number;
}

export type DataMessage = MeshBlockMessage | PoseMessage | TrajectoryMessage | FrameImageMessage | StatsMessage | CameraFrameMessage;
/** What encodeDataMessage takes: a message without its sequence number. */
export type DataMessageInput = DataMessage extends infer M ? (M extends DataMessage ? Omit<M, 'seq'> : never) : never;

const align4 = (n: number): number => (n + 3) & ~3;

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function assemble(type: DataTypeCode, seq: number, meta: Uint8Array, payloads: ArrayBufferView[]): Uint8Array {
  const sections = [meta, ...payloads.map(bytesOf)];
  let offset = HEADER_FIXED + 4 * sections.length;
  const offsets: number[] = [];
  for (const s of sections) {
    offsets.push(offset);
    offset = align4(offset + s.byteLength);
  }
  const out = new Uint8Array(offset);
  const dv = new DataView(out.buffer);
  dv.setUint8(0, type);
  dv.setUint8(1, PROTOCOL_VERSION);
  dv.setUint8(2, sections.length);
  dv.setUint8(3, 0);
  dv.setUint32(4, seq >>> 0, true);
  sections.forEach((s, i) => {
    dv.setUint32(HEADER_FIXED + 4 * i, s.byteLength, true);
    out.set(s, offsets[i]!);
  });
  return out;
}

function trackingCode(state: TrackingState): number {
  const i = TRACKING_STATES.indexOf(state);
  if (i < 0) throw new DataMessageError(`tracking state '${String(state)}' is not one of ${TRACKING_STATES.join(', ')}`);
  return i;
}

function trackingName(code: number): TrackingState {
  const s = TRACKING_STATES[code];
  if (s === undefined) throw new DataMessageError(`tracking state code ${code} is not one of 0..${TRACKING_STATES.length - 1}`);
  return s;
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/** Encode one data message; `seq` is the sender's sequence number (wraps at 2^32). */
export function encodeDataMessage(msg: DataMessageInput, seq: number): Uint8Array {
  switch (msg.kind) {
    case 'meshBlock': {
      const meta = new Uint8Array(META_BYTES[DataType.MeshBlock]);
      const dv = new DataView(meta.buffer);
      dv.setInt32(0, msg.bx, true);
      dv.setInt32(4, msg.by, true);
      dv.setInt32(8, msg.bz, true);
      dv.setUint32(12, msg.version >>> 0, true);
      dv.setUint32(16, msg.frameIndex >>> 0, true);
      return assemble(DataType.MeshBlock, seq, meta, [msg.positions, msg.colors, msg.indices]);
    }
    case 'pose': {
      const meta = new Uint8Array(META_BYTES[DataType.Pose]);
      const dv = new DataView(meta.buffer);
      dv.setUint32(0, msg.frameIndex >>> 0, true);
      dv.setUint32(4, trackingCode(msg.trackingState), true);
      dv.setFloat64(8, msg.timestamp, true);
      dv.setFloat64(16, msg.enteredAt, true);
      if (msg.pose.length !== 16) throw new DataMessageError(`pose must have 16 elements (4×4 row-major), got ${msg.pose.length}`);
      for (let i = 0; i < 16; i++) dv.setFloat64(24 + 8 * i, msg.pose[i]!, true);
      const k = msg.intrinsics;
      [k.fx, k.fy, k.cx, k.cy, k.width, k.height].forEach((x, i) => dv.setFloat32(152 + 4 * i, x, true));
      return assemble(DataType.Pose, seq, meta, []);
    }
    case 'trajectory': {
      const meta = new Uint8Array(META_BYTES[DataType.Trajectory]);
      const dv = new DataView(meta.buffer);
      dv.setUint32(0, msg.start >>> 0, true);
      dv.setUint32(4, Math.floor(msg.points.length / 3), true);
      return assemble(DataType.Trajectory, seq, meta, [msg.points]);
    }
    case 'frame': {
      const meta = new Uint8Array(META_BYTES[DataType.FrameImage]);
      const dv = new DataView(meta.buffer);
      dv.setUint32(0, msg.frameIndex >>> 0, true);
      dv.setUint32(4, msg.width, true);
      dv.setUint32(8, msg.height, true);
      return assemble(DataType.FrameImage, seq, meta, [msg.jpeg]);
    }
    case 'stats': {
      const meta = new Uint8Array(META_BYTES[DataType.Stats]);
      const dv = new DataView(meta.buffer);
      dv.setUint32(0, msg.frameIndex >>> 0, true);
      dv.setUint32(4, msg.frames >>> 0, true);
      dv.setUint32(8, msg.blocks >>> 0, true);
      dv.setUint32(12, msg.triangles >>> 0, true);
      dv.setUint32(16, trackingCode(msg.trackingState), true);
      dv.setFloat32(20, msg.fps, true);
      dv.setUint32(24, msg.dropped >>> 0, true);
      return assemble(DataType.Stats, seq, meta, [utf8.encode(JSON.stringify(msg.timings))]);
    }
    case 'cameraFrame': {
      const meta = new Uint8Array(META_BYTES[DataType.CameraFrame]);
      const dv = new DataView(meta.buffer);
      dv.setUint32(0, msg.index >>> 0, true);
      dv.setUint16(4, msg.width, true);
      dv.setUint16(6, msg.height, true);
      dv.setFloat64(8, msg.timestamp, true);
      dv.setFloat32(16, msg.fx, true);
      dv.setFloat32(20, msg.fy, true);
      dv.setFloat32(24, msg.cx, true);
      dv.setFloat32(28, msg.cy, true);
      dv.setUint32(32, msg.encoding === 'jpeg' ? 1 : 0, true);
      return assemble(DataType.CameraFrame, seq, meta, [msg.data]);
    }
  }
}

/** A block mesh as packMeshBlocks takes it; `packed` (positions | colours padded to 4 | indices, see fusion/meshBlock.ts) is copied whole. */
type MeshSections = { positions: ArrayBufferView; colors: ArrayBufferView; indices: ArrayBufferView; packed?: Uint8Array; vertexCount?: number; indexCount?: number };

/** byte lengths of the three sections, without making views of a packed block */
function sectionBytes(b: MeshSections): [number, number, number] {
  if (b.packed && b.vertexCount !== undefined && b.indexCount !== undefined) return [12 * b.vertexCount, 3 * b.vertexCount, 4 * b.indexCount];
  return [b.positions.byteLength, b.colors.byteLength, b.indices.byteLength];
}

/** Bytes of the MeshBlock message for a block (header, meta and aligned sections). */
export function meshBlockMessageBytes(b: MeshSections): number {
  const [p, c, i] = sectionBytes(b);
  return HEADER_FIXED + 4 * 4 + align4(META_BYTES[DataType.MeshBlock]) + align4(p) + align4(c) + align4(i);
}

/** Where one block's MeshBlock message lies in a PackedMeshMessages buffer. */
export interface PackedMeshMessage {
  bx: number;
  by: number;
  bz: number;
  version: number;
  triangles: number;
  /** the block's MeshBlock message is buffer[offset, offset + length) */
  offset: number;
  length: number;
}

/** Many MeshBlock messages in one buffer: what the pipeline worker transfers (zero-copy) to the server thread. */
export interface PackedMeshMessages {
  buffer: ArrayBuffer;
  blocks: PackedMeshMessage[];
}

export function packMeshBlocks(
  blocks: readonly (MeshSections & { bx: number; by: number; bz: number; version: number })[],
  frameIndex: number,
  firstSeq: number,
): PackedMeshMessages {
  const total = blocks.reduce((n, b) => n + meshBlockMessageBytes(b), 0);
  const out = new Uint8Array(total);
  // one DataView and no per-block temporaries: this runs for thousands of blocks per mesh update
  const dv = new DataView(out.buffer);
  const packed: PackedMeshMessage[] = [];
  const metaBytes = META_BYTES[DataType.MeshBlock];
  let at = 0;
  blocks.forEach((b, i) => {
    const lengths = sectionBytes(b);
    dv.setUint8(at, DataType.MeshBlock);
    dv.setUint8(at + 1, PROTOCOL_VERSION);
    dv.setUint8(at + 2, 4);
    dv.setUint8(at + 3, 0);
    dv.setUint32(at + 4, (firstSeq + i) >>> 0, true);
    dv.setUint32(at + 8, metaBytes, true);
    lengths.forEach((n, k) => dv.setUint32(at + 12 + 4 * k, n, true));
    let o = at + HEADER_FIXED + 16;
    dv.setInt32(o, b.bx, true);
    dv.setInt32(o + 4, b.by, true);
    dv.setInt32(o + 8, b.bz, true);
    dv.setUint32(o + 12, b.version >>> 0, true);
    dv.setUint32(o + 16, frameIndex >>> 0, true);
    o += align4(metaBytes);
    if (b.packed && b.vertexCount !== undefined) {
      // the record is the three sections already aligned: one copy
      out.set(b.packed, o);
      o += b.packed.byteLength;
    } else {
      for (const s of [b.positions, b.colors, b.indices]) {
        out.set(bytesOf(s), o);
        o += align4(s.byteLength);
      }
    }
    packed.push({ bx: b.bx, by: b.by, bz: b.bz, version: b.version, triangles: lengths[2] / 12, offset: at, length: o - at });
    at = o;
  });
  return { buffer: out.buffer, blocks: packed };
}

/** Header fields, readable without decoding the body (for routing and caps). */
export interface DataHeader {
  type: number;
  version: number;
  seq: number;
  sections: { offset: number; length: number }[];
}

export function readDataHeader(buf: Uint8Array): DataHeader {
  if (buf.byteLength < HEADER_FIXED) throw new DataMessageError(`binary message of ${buf.byteLength} bytes is shorter than the ${HEADER_FIXED}-byte header`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const type = dv.getUint8(0);
  const version = dv.getUint8(1);
  const n = dv.getUint8(2);
  const seq = dv.getUint32(4, true);
  if (n < 1 || n > MAX_SECTIONS) throw new DataMessageError(`binary message declares ${n} sections; expected 1..${MAX_SECTIONS}`);
  if (buf.byteLength < HEADER_FIXED + 4 * n) throw new DataMessageError(`binary message of ${buf.byteLength} bytes is too short for ${n} section lengths`);
  let offset = HEADER_FIXED + 4 * n;
  const sections: { offset: number; length: number }[] = [];
  for (let i = 0; i < n; i++) {
    const length = dv.getUint32(HEADER_FIXED + 4 * i, true);
    if (offset + length > buf.byteLength) {
      throw new DataMessageError(`section ${i} (${length} bytes at ${offset}) runs past the end of the ${buf.byteLength}-byte message`);
    }
    sections.push({ offset, length });
    offset = align4(offset + length);
  }
  return { type, version, seq, sections };
}

/** A typed view of a section, copied only when the section is not aligned for the element type. */
function view<T extends Float32Array | Uint32Array | Float64Array>(
  ctor: { new (buffer: ArrayBuffer, byteOffset: number, length: number): T; new (length: number): T; BYTES_PER_ELEMENT: number },
  buf: Uint8Array,
  offset: number,
  length: number,
  what: string,
): T {
  const size = ctor.BYTES_PER_ELEMENT;
  if (length % size !== 0) throw new DataMessageError(`${what}: ${length} bytes is not a multiple of ${size}`);
  const abs = buf.byteOffset + offset;
  if (abs % size === 0 && buf.buffer instanceof ArrayBuffer) return new ctor(buf.buffer, abs, length / size);
  const copy = new ctor(length / size);
  new Uint8Array(copy.buffer).set(buf.subarray(offset, offset + length));
  return copy;
}

const timingsSchema = z.record(z.string(), z.number());

/** Decode and validate one binary data message. Throws DataMessageError saying what is wrong. */
export function decodeDataMessage(buf: Uint8Array): DataMessage {
  const h = readDataHeader(buf);
  if (h.version !== PROTOCOL_VERSION) {
    throw new DataMessageError(`binary message has protocol version ${h.version}; expected ${PROTOCOL_VERSION}`);
  }
  const type = h.type as DataTypeCode;
  const metaBytes = META_BYTES[type];
  if (metaBytes === undefined) throw new DataMessageError(`unknown binary message type ${h.type}`);
  if (h.sections.length !== SECTION_COUNT[type]) {
    throw new DataMessageError(`binary message type ${type} must have ${SECTION_COUNT[type]} sections, got ${h.sections.length}`);
  }
  const m = h.sections[0]!;
  if (m.length !== metaBytes) throw new DataMessageError(`binary message type ${type}: meta record is ${m.length} bytes; expected ${metaBytes}`);
  const dv = new DataView(buf.buffer, buf.byteOffset + m.offset, m.length);
  const sec = (i: number): { offset: number; length: number } => h.sections[i]!;
  const bytes = (i: number): Uint8Array => buf.subarray(sec(i).offset, sec(i).offset + sec(i).length);

  switch (type) {
    case DataType.MeshBlock: {
      const positions = view(Float32Array, buf, sec(1).offset, sec(1).length, 'mesh block positions');
      const colors = bytes(2);
      const indices = view(Uint32Array, buf, sec(3).offset, sec(3).length, 'mesh block indices');
      const vertices = positions.length / 3;
      if (!Number.isInteger(vertices)) throw new DataMessageError(`mesh block positions: ${positions.length} floats is not a multiple of 3`);
      if (colors.length !== vertices * 3) throw new DataMessageError(`mesh block colours: ${colors.length} bytes for ${vertices} vertices; expected ${vertices * 3}`);
      if (indices.length % 3 !== 0) throw new DataMessageError(`mesh block indices: ${indices.length} is not a multiple of 3 (triangles)`);
      let max = 0;
      for (let i = 0; i < indices.length; i++) if (indices[i]! > max) max = indices[i]!;
      if (indices.length > 0 && max >= vertices) throw new DataMessageError(`mesh block indices: index ${max} out of range for ${vertices} vertices`);
      return {
        kind: 'meshBlock',
        seq: h.seq,
        bx: dv.getInt32(0, true),
        by: dv.getInt32(4, true),
        bz: dv.getInt32(8, true),
        version: dv.getUint32(12, true),
        frameIndex: dv.getUint32(16, true),
        positions,
        colors,
        indices,
      };
    }
    case DataType.Pose: {
      const pose = new Float64Array(16);
      for (let i = 0; i < 16; i++) pose[i] = dv.getFloat64(24 + 8 * i, true);
      const f = (o: number): number => dv.getFloat32(152 + 4 * o, true);
      return {
        kind: 'pose',
        seq: h.seq,
        frameIndex: dv.getUint32(0, true),
        trackingState: trackingName(dv.getUint32(4, true)),
        timestamp: dv.getFloat64(8, true),
        enteredAt: dv.getFloat64(16, true),
        pose,
        intrinsics: { fx: f(0), fy: f(1), cx: f(2), cy: f(3), width: f(4), height: f(5) },
      };
    }
    case DataType.Trajectory: {
      const points = view(Float32Array, buf, sec(1).offset, sec(1).length, 'trajectory points');
      const count = dv.getUint32(4, true);
      if (points.length !== count * 3) throw new DataMessageError(`trajectory: header says ${count} points, payload has ${points.length / 3}`);
      return { kind: 'trajectory', seq: h.seq, start: dv.getUint32(0, true), points };
    }
    case DataType.FrameImage:
      return {
        kind: 'frame',
        seq: h.seq,
        frameIndex: dv.getUint32(0, true),
        width: dv.getUint32(4, true),
        height: dv.getUint32(8, true),
        jpeg: bytes(1),
      };
    case DataType.Stats: {
      let timings: Record<string, number>;
      try {
        timings = timingsSchema.parse(JSON.parse(utf8d.decode(bytes(1))));
      } catch (e) {
        throw new DataMessageError(`stats: timings section is not a JSON object of numbers (${(e as Error).message})`);
      }
      return {
        kind: 'stats',
        seq: h.seq,
        frameIndex: dv.getUint32(0, true),
        frames: dv.getUint32(4, true),
        blocks: dv.getUint32(8, true),
        triangles: dv.getUint32(12, true),
        trackingState: trackingName(dv.getUint32(16, true)),
        fps: dv.getFloat32(20, true),
        dropped: dv.getUint32(24, true),
        timings,
      };
    }
    case DataType.CameraFrame: {
      const enc = dv.getUint32(32, true);
      if (enc !== 0 && enc !== 1) throw new DataMessageError(`camera frame: encoding ${enc} is not 0 (rgb) or 1 (jpeg)`);
      return {
        kind: 'cameraFrame',
        seq: h.seq,
        index: dv.getUint32(0, true),
        width: dv.getUint16(4, true),
        height: dv.getUint16(6, true),
        timestamp: dv.getFloat64(8, true),
        fx: dv.getFloat32(16, true),
        fy: dv.getFloat32(20, true),
        cx: dv.getFloat32(24, true),
        cy: dv.getFloat32(28, true),
        encoding: enc === 1 ? 'jpeg' : 'rgb',
        data: bytes(1),
      };
    }
  }
}
