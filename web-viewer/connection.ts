/** The viewer's WebSocket: decodes both message kinds and reconnects by itself (backoff 0.5 s → 5 s). */
import { decodeDataMessage, type DataMessage } from '../src/server/dataMessages';
import { clientMessage, parseServerMessage, type ClientMessageBody, type ServerMessage } from '../src/server/protocol';

export interface ConnectionHandlers {
  onOpen(): void;
  onClose(reason: string): void;
  onControl(m: ServerMessage): void;
  onData(m: DataMessage): void;
  /** a message that failed to decode or validate */
  onProtocolError(error: string): void;
  onBytes(n: number): void;
}

export class Connection {
  private ws: WebSocket | null = null;
  private backoffMs = 500;
  private closedByUs = false;

  constructor(
    private readonly url: string,
    private readonly handlers: ConnectionHandlers,
  ) {}

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  get bufferedAmount(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  connect(): void {
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      this.backoffMs = 500;
      this.handlers.onOpen();
    };
    ws.onmessage = (e: MessageEvent<string | ArrayBuffer>) => {
      if (typeof e.data === 'string') {
        this.handlers.onBytes(e.data.length);
        const r = parseServerMessage(e.data);
        if (r.ok) this.handlers.onControl(r.message);
        else this.handlers.onProtocolError(r.error);
        return;
      }
      this.handlers.onBytes(e.data.byteLength);
      let m: DataMessage;
      try {
        m = decodeDataMessage(new Uint8Array(e.data));
      } catch (err) {
        this.handlers.onProtocolError((err as Error).message);
        return;
      }
      this.handlers.onData(m);
    };
    ws.onclose = (e: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.handlers.onClose(e.code === 1000 || e.code === 1001 ? 'closed' : `closed (${e.code}${e.reason ? ` ${e.reason}` : ''})`);
      if (this.closedByUs) return;
      setTimeout(() => this.connect(), this.backoffMs);
      this.backoffMs = Math.min(5000, this.backoffMs * 2);
    };
  }

  send(body: ClientMessageBody): boolean {
    if (!this.connected) return false;
    this.ws!.send(clientMessage(body));
    return true;
  }

  sendBinary(data: Uint8Array<ArrayBuffer>): boolean {
    if (!this.connected) return false;
    this.ws!.send(data);
    return true;
  }

  close(): void {
    this.closedByUs = true;
    this.ws?.close(1000);
  }
}
