/**
 * Monitor IPC between the unprivileged worker and the privileged monitor: the closed vocabulary
 * (messages.ts), length framing with a hard cap (frame.ts), exact-shape decoding (decode.ts) and
 * the limits (constants.ts). Pure: no sockets.
 */
export * from './constants.js';
export * from './messages.js';
export { encodeFrame, FrameDecoder } from './frame.js';
export { decodeRequest, decodeResponse } from './decode.js';
