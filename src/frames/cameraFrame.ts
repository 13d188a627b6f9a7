/**
 * A frame as a browser's camera sends it (getUserMedia in the viewer, over
 * the WebSocket): raw RGB or JPEG bytes with the camera's pinhole intrinsics.
 * The wire message (server/dataMessages.ts) carries exactly this.
 */
export type CameraEncoding = 'rgb' | 'jpeg';

export interface BrowserCameraFrame {
  index: number;
  /** capture time, seconds */
  timestamp: number;
  width: number;
  height: number;
  encoding: CameraEncoding;
  fx: number;
  fy: number;
  cx: number;
  cy: number;
  /** RGB (width × height × 3 bytes) or JPEG bytes */
  data: Uint8Array;
}
