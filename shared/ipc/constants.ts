/**
 * Monitor IPC limits, named once (wire format: messages.ts, framing: frame.ts).
 * Sizes are chosen so that the largest legal message of every kind fits in one frame; the unit
 * tests encode those worst cases.
 */
import { MAX_NAME_CHARS } from '../protocol/constants.js';

/** Frame header: the body length, 4 bytes big-endian. */
export const FRAME_HEADER_BYTES = 4;
/** Hard cap on a frame body (UTF-8 JSON) in bytes; a larger length header ends the connection. */
export const MAX_FRAME = 4096;

/** Request ids are integers 1..2^31; an answer carries its request's id. */
export const MIN_REQUEST_ID = 1;
export const MAX_REQUEST_ID = 2 ** 31;

/**
 * Grants live at once on one gateway: the monitor's own record of what it opened, the size of
 * each nftables grant map and each ipset. An open beyond it is refused (MONITOR_FULL).
 */
export const MAX_GRANTS = 65536;

/**
 * Requests a worker may have sent and not yet had answered. The worker never exceeds it (its
 * knocks in flight are fewer); a worker that does is flooding the monitor (an incident).
 */
export const MAX_OUTSTANDING = 4096;

/**
 * Entries per reconcile frame. A worst-case entry (a MAX_ADDRESS_TEXT address) is 84 bytes of
 * JSON: a full worst-case frame is 4089 bytes. Longer keep lists span several frames.
 */
export const MAX_KEEP = 48;
/** Entries the monitor may accumulate over one reconcile sequence (frames until final: true). */
export const MAX_KEEP_TOTAL = MAX_GRANTS;

/** Longest address text accepted in a frame (IPv6 with an embedded IPv4 tail is 45). */
export const MAX_ADDRESS_TEXT = 45;
/** Service names are the protocol's names (SERVICE_NAME_RE, shared/protocol/constants.ts). */
export const MAX_SERVICE_NAME = MAX_NAME_CHARS;
/** Error codes in answers: UPPER_SNAKE, at most this long. */
export const MAX_ERROR_CODE = 64;
/** Largest TTL / expiry / offset / count in a frame (checked semantically by the monitor). */
export const MAX_UINT = 2 ** 32 - 1;
