/**
 * What a client may ask: control messages (JSON, validated by protocol.ts)
 * become producer commands or replies, and camera frames (binary) from the
 * client that started the camera go to the producer after cheap checks.
 */
import { join } from 'node:path';
import { validateCameraFrame } from '../frames/browserSource';
import type { ClientChannel } from './clientChannel';
import { DataMessageError, DataType, decodeDataMessage, readDataHeader } from './dataMessages';
import type { UpdateProducer } from './producer';
import { PROTOCOL_VERSION, type ClientMessage } from './protocol';
import type { SceneState } from './sceneState';

export class ControlDispatch {
  /** the client whose camera feeds the pipeline, if any */
  cameraClient: number | null = null;
  private readonly producer: UpdateProducer;
  private readonly scene: SceneState;
  private readonly recordingsDir: string;
  private readonly tokenQuery: string;
  private readonly maxBinaryBytes: number;

  constructor(o: { producer: UpdateProducer; scene: SceneState; recordingsDir: string; tokenQuery: string; maxBinaryBytes: number }) {
    this.producer = o.producer;
    this.scene = o.scene;
    this.recordingsDir = o.recordingsDir;
    this.tokenQuery = o.tokenQuery;
    this.maxBinaryBytes = o.maxBinaryBytes;
  }

  control(id: number, channel: ClientChannel, m: ClientMessage): void {
    const ack = (): void => channel.control({ type: 'ack', ref: m.type });
    switch (m.type) {
      case 'hello':
        if (m.channels) channel.subscribe(m.channels);
        ack();
        break;
      case 'subscribe':
        channel.subscribe(m.channels);
        ack();
        break;
      case 'pause':
      case 'resume':
      case 'reset':
      case 'stopRecording':
        this.producer.send({ type: m.type });
        ack();
        break;
      case 'setSource':
        this.producer.send({ type: 'setSource', spec: m.spec });
        ack();
        break;
      case 'startRecording': {
        const name = m.name ?? `scan-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        this.producer.send({ type: 'startRecording', dir: join(this.recordingsDir, name) });
        ack();
        break;
      }
      case 'exportMesh':
        channel.control({ type: 'export', url: `/mesh.ply${this.tokenQuery}`, blocks: this.scene.blocks.size, triangles: this.scene.triangles });
        break;
      case 'cameraStart':
        this.cameraClient = id;
        this.producer.send({ type: 'cameraStart', clientId: id, intrinsics: { fx: m.fx, fy: m.fy, cx: m.cx, cy: m.cy, width: m.width, height: m.height } });
        ack();
        break;
      case 'cameraStop':
        this.stopCamera(id);
        ack();
        break;
      case 'ping':
        channel.control({ type: 'pong', id: m.id });
        break;
    }
  }

  private stopCamera(id: number): void {
    if (this.cameraClient === id) this.cameraClient = null;
    this.producer.send({ type: 'cameraStop', clientId: id });
  }

  /** A client's socket closed: its camera, if it fed the pipeline, stops. */
  closed(id: number): void {
    if (this.cameraClient === id) this.stopCamera(id);
  }

  binary(id: number, channel: ClientChannel, data: Uint8Array): void {
    if (data.byteLength > this.maxBinaryBytes) {
      channel.control({ type: 'error', code: 'too-large', message: `binary message of ${data.byteLength} bytes exceeds the ${this.maxBinaryBytes}-byte cap` });
      return;
    }
    let type: number;
    try {
      const h = readDataHeader(data);
      if (h.version !== PROTOCOL_VERSION) {
        channel.control({ type: 'error', code: 'version', message: `binary message has protocol version ${h.version}; this server speaks ${PROTOCOL_VERSION}` });
        return;
      }
      type = h.type;
    } catch (e) {
      channel.control({ type: 'error', code: 'bad-binary', message: (e as Error).message });
      return;
    }
    if (type !== DataType.CameraFrame) {
      channel.control({ type: 'error', code: 'bad-binary', message: `binary message type ${type} cannot be sent by a client; only camera frames (${DataType.CameraFrame})` });
      return;
    }
    if (this.cameraClient !== id) {
      channel.control({ type: 'error', code: 'failed', message: 'camera frame before cameraStart: send {"type":"cameraStart",…} first' });
      return;
    }
    try {
      const m = decodeDataMessage(data.slice());
      if (m.kind !== 'cameraFrame') throw new DataMessageError('not a camera frame');
      validateCameraFrame(m);
      this.producer.send({ type: 'cameraFrame', clientId: id, frame: m });
    } catch (e) {
      channel.control({ type: 'error', code: 'bad-frame', message: (e as Error).message });
    }
  }
}
