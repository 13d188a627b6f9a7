import { describe, expect, test } from 'bun:test';
import {
  DataMessageError,
  DataType,
  decodeDataMessage,
  encodeDataMessage,
  packMeshBlocks,
  type CameraFrameMessage,
  type MeshBlockMessage,
  type PoseMessage,
  type StatsMessage,
} from '../../src/server/dataMessages';
import { CLIENT_MESSAGE_TYPES, type ClientMessageBody, PROTOCOL_VERSION, clientMessage, parseClientMessage, parseServerMessage, serverMessage } from '../../src/server/protocol';
import { fakeBlock } from './helpers';

describe('binary data messages round-trip', () => {
  test('mesh block: every field and array equals what was encoded', () => {
    const b = fakeBlock(-3, 7, 2, 5, 9);
    const bytes = encodeDataMessage({ kind: 'meshBlock', ...b, frameIndex: 41 }, 1234);
    expect(bytes.byteLength % 4).toBe(0);
    const m = decodeDataMessage(bytes) as MeshBlockMessage;
    expect(m.kind).toBe('meshBlock');
    expect([m.seq, m.bx, m.by, m.bz, m.version, m.frameIndex]).toEqual([1234, -3, 7, 2, 5, 41]);
    expect([...m.positions]).toEqual([...b.positions]);
    expect([...m.colors]).toEqual([...b.colors]);
    expect([...m.indices]).toEqual([...b.indices]);
    // arrays are views into the message, not copies
    expect(m.positions.buffer).toBe(bytes.buffer);
  });

  test('mesh block removal (no vertices, no indices)', () => {
    const m = decodeDataMessage(
      encodeDataMessage({ kind: 'meshBlock', bx: 1, by: 2, bz: 3, version: 9, frameIndex: 0, positions: new Float32Array(0), colors: new Uint8Array(0), indices: new Uint32Array(0) }, 1),
    ) as MeshBlockMessage;
    expect(m.indices.length).toBe(0);
    expect(m.positions.length).toBe(0);
    expect(m.version).toBe(9);
  });

  test('decodes from an unaligned buffer offset (copies only then)', () => {
    const bytes = encodeDataMessage({ kind: 'meshBlock', ...fakeBlock(0, 0, 0, 1, 3), frameIndex: 0 }, 7);
    const shifted = new Uint8Array(bytes.byteLength + 1);
    shifted.set(bytes, 1);
    const m = decodeDataMessage(shifted.subarray(1)) as MeshBlockMessage;
    expect([...m.positions]).toEqual([...fakeBlock(0, 0, 0, 1, 3).positions]);
    expect(m.seq).toBe(7);
  });

  test('pose with intrinsics and entry time', () => {
    const pose = new Float64Array(16).map((_, i) => i * 0.125 - 1);
    const input: Omit<PoseMessage, 'seq'> = {
      kind: 'pose',
      frameIndex: 77,
      trackingState: 'lost',
      timestamp: 1305031102.175304,
      enteredAt: 1.7e12 + 0.25,
      pose,
      intrinsics: { fx: 525, fy: 525.5, cx: 319.5, cy: 239.5, width: 640, height: 480 },
    };
    const m = decodeDataMessage(encodeDataMessage(input, 3)) as PoseMessage;
    expect({ ...m, pose: [...m.pose] }).toEqual({ ...input, seq: 3, pose: [...pose] });
  });

  test('trajectory, frame image and stats', () => {
    const points = new Float32Array([0, 1, 2, 3.5, -4, 5]);
    const t = decodeDataMessage(encodeDataMessage({ kind: 'trajectory', start: 10, points }, 1));
    expect(t).toEqual({ kind: 'trajectory', seq: 1, start: 10, points });

    const jpeg = new Uint8Array([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]);
    const f = decodeDataMessage(encodeDataMessage({ kind: 'frame', frameIndex: 5, width: 320, height: 240, jpeg }, 2));
    expect(f.kind).toBe('frame');
    expect(f).toMatchObject({ frameIndex: 5, width: 320, height: 240 });
    expect([...(f as { jpeg: Uint8Array }).jpeg]).toEqual([...jpeg]);

    const s: Omit<StatsMessage, 'seq'> = {
      kind: 'stats', frameIndex: 9, frames: 10, blocks: 300, triangles: 45000, trackingState: 'ok', fps: 29.5, dropped: 2,
      timings: { integrate: 4.25, mesh: 1.5, 'track.icp': 3 },
    };
    expect(decodeDataMessage(encodeDataMessage(s, 4))).toEqual({ ...s, seq: 4 });
  });

  test('packed mesh blocks: each span is a complete message equal to encoding the block alone', () => {
    const blocks = [fakeBlock(1, 2, 3, 4, 5), fakeBlock(-1, 0, 9, 1, 1), { ...fakeBlock(7, 7, 7, 2), positions: new Float32Array(0), colors: new Uint8Array(0), indices: new Uint32Array(0) }];
    const packed = packMeshBlocks(blocks, 33, 10);
    expect(packed.blocks.map((p) => [p.bx, p.version, p.triangles])).toEqual([[1, 4, 5], [-1, 1, 1], [7, 2, 0]]);
    expect(packed.buffer.byteLength).toBe(packed.blocks.reduce((n, p) => n + p.length, 0));
    packed.blocks.forEach((p, i) => {
      const span = new Uint8Array(packed.buffer, p.offset, p.length);
      expect([...span]).toEqual([...encodeDataMessage({ kind: 'meshBlock', ...blocks[i]!, frameIndex: 33 }, 10 + i)]);
      expect(p.offset % 4).toBe(0);
    });
  });

  test('camera frame (client → server)', () => {
    const data = new Uint8Array(16 * 16 * 3).map((_, i) => i & 255);
    const input: Omit<CameraFrameMessage, 'seq'> = {
      kind: 'cameraFrame', index: 12, timestamp: 3.5, width: 16, height: 16, encoding: 'rgb', fx: 20, fy: 21, cx: 7.5, cy: 7.5, data,
    };
    const m = decodeDataMessage(encodeDataMessage(input, 99)) as CameraFrameMessage;
    expect({ ...m, data: [...m.data] }).toEqual({ ...input, seq: 99, data: [...data] });
  });
});

describe('binary data messages are validated', () => {
  const good = (): Uint8Array => encodeDataMessage({ kind: 'meshBlock', ...fakeBlock(0, 0, 0, 1, 2), frameIndex: 0 }, 1);
  const expectError = (bytes: Uint8Array, pattern: RegExp): void => {
    expect(() => decodeDataMessage(bytes)).toThrow(DataMessageError);
    expect(() => decodeDataMessage(bytes)).toThrow(pattern);
  };

  test('short, truncated, wrong version, unknown type', () => {
    expectError(new Uint8Array(3), /shorter than the 8-byte header/);
    expectError(good().subarray(0, 40), /runs past the end/);
    const v = good();
    v[1] = PROTOCOL_VERSION + 1;
    expectError(v, /protocol version 2; expected 1/);
    const t = good();
    t[0] = 200;
    expectError(t, /unknown binary message type 200/);
  });

  test('inconsistent mesh payloads', () => {
    const b = fakeBlock(0, 0, 0, 1, 2);
    expectError(encodeDataMessage({ kind: 'meshBlock', ...b, colors: b.colors.subarray(3), frameIndex: 0 }, 1), /colours: 9 bytes for 4 vertices/);
    expectError(encodeDataMessage({ kind: 'meshBlock', ...b, indices: new Uint32Array([0, 1, 7]), frameIndex: 0 }, 1), /index 7 out of range for 4 vertices/);
    expectError(encodeDataMessage({ kind: 'meshBlock', ...b, indices: new Uint32Array([0, 1]), frameIndex: 0 }, 1), /not a multiple of 3/);
  });

  test('stats timings must be an object of numbers', () => {
    const bytes = encodeDataMessage(
      { kind: 'stats', frameIndex: 0, frames: 0, blocks: 0, triangles: 0, trackingState: 'ok', fps: 0, dropped: 0, timings: { a: 1 } },
      1,
    );
    // overwrite the JSON section's '1' with a '"'
    const i = bytes.lastIndexOf('1'.charCodeAt(0));
    bytes[i] = '"'.charCodeAt(0);
    expectError(bytes, /timings section is not a JSON object of numbers/);
  });

  test('data type codes are stable (they are the wire format)', () => {
    expect(DataType).toEqual({ MeshBlock: 1, Pose: 2, Trajectory: 3, FrameImage: 4, Stats: 5, CameraFrame: 16 });
  });
});

describe('control messages (zod)', () => {
  test('every client message type parses back to itself', () => {
    const bodies: ClientMessageBody[] = [
      { type: 'hello', client: 'test', channels: ['mesh', 'stats'] },
      { type: 'subscribe', channels: ['pose'] },
      { type: 'pause' },
      { type: 'resume' },
      { type: 'reset' },
      { type: 'setSource', spec: 'synthetic:room' },
      { type: 'startRecording', name: 'kitchen-1' },
      { type: 'stopRecording' },
      { type: 'exportMesh' },
      { type: 'cameraStart', width: 640, height: 480, fx: 554, fy: 554, cx: 319.5, cy: 239.5 },
      { type: 'cameraStop' },
      { type: 'ping', id: 4 },
    ];
    const types: string[] = bodies.map((b) => b.type);
    expect(types.sort()).toEqual([...CLIENT_MESSAGE_TYPES].sort());
    for (const b of bodies) {
      const r = parseClientMessage(clientMessage(b));
      expect(r).toEqual({ ok: true, message: { v: 1, ...b } } as never);
    }
  });

  test('rejections carry a code and say what is wrong', () => {
    expect(parseClientMessage('{"v":1,"type":')).toMatchObject({ ok: false, code: 'bad-json' });
    expect(parseClientMessage('[1,2]')).toMatchObject({ ok: false, code: 'invalid' });
    expect(parseClientMessage('{"v":1,"type":"selfDestruct"}')).toMatchObject({ ok: false, code: 'unknown-type', ref: 'selfDestruct' });
    const noType = parseClientMessage('{"v":1}');
    expect(noType).toMatchObject({ ok: false, code: 'unknown-type' });
    expect(parseClientMessage('{"v":2,"type":"pause"}')).toMatchObject({ ok: false, code: 'version', error: expect.stringContaining('v=1') });
    expect(parseClientMessage('{"type":"pause"}')).toMatchObject({ ok: false, code: 'version' });
    const extra = parseClientMessage('{"v":1,"type":"pause","force":true}');
    expect(extra).toMatchObject({ ok: false, code: 'invalid' });
    const path = parseClientMessage('{"v":1,"type":"startRecording","name":"../../etc"}');
    expect(path).toMatchObject({ ok: false, code: 'invalid', ref: 'startRecording', error: expect.stringContaining('name: ') });
    const cam = parseClientMessage('{"v":1,"type":"cameraStart","width":640,"height":-1,"fx":0,"fy":1,"cx":0,"cy":0}');
    expect(cam.ok).toBe(false);
    if (!cam.ok) expect(cam.error).toMatch(/height: .*fx: /);
    const chan = parseClientMessage('{"v":1,"type":"subscribe","channels":["mesh","secrets"]}');
    expect(chan).toMatchObject({ ok: false, code: 'invalid', error: expect.stringContaining('channels.1') });
  });

  test('server messages parse with the shared schema', () => {
    const text = serverMessage({ type: 'error', code: 'too-large', message: 'x', ref: 'pause' });
    expect(parseServerMessage(text)).toEqual({ ok: true, message: { v: 1, type: 'error', code: 'too-large', message: 'x', ref: 'pause' } });
    expect(parseServerMessage('{"v":1,"type":"error","code":"nope","message":"x"}').ok).toBe(false);
  });
});
