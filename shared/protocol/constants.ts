/**
 * Knock protocol v1 sizes and limits, named once. Normative text: docs/protocol.md.
 * Protocol constants (wire) are kept apart from implementation limits (server/worker/limits.ts).
 */

/** Protocol version carried in the declaration (2 bits; 0 is never valid). */
export const PROTOCOL_VERSION = 1;

/** A knock is exactly three SYNs. */
export const KNOCK_PACKETS = 3;
/** A knock's three 32-bit ISNs in sequence order (retransmit identity, reply binding). */
export const KNOCK_ISNS_BYTES = KNOCK_PACKETS * 4;

/** Per-packet sequence tag: the high byte of each ISN, issued by the server with the ports. */
export const TAG_BITS = 8;
/** Sealed declaration bits carried in the low 24 bits of each ISN (3 x 24 = 72). */
export const SEALED_BITS_PER_ISN = 24;
export const SEALED_BITS = 72;

/** Declaration layout (26 bits, most significant first): version 2 | flags 2 | service 6 | time 16. */
export const DECL_VERSION_BITS = 2;
export const DECL_FLAGS_BITS = 2;
export const DECL_SERVICE_BITS = 6;
export const DECL_TIME_BITS = 16;
export const DECL_BITS = 26;
/** Bit offsets of the declaration fields inside the 26-bit value. */
export const DECL_VERSION_SHIFT = DECL_FLAGS_BITS + DECL_SERVICE_BITS + DECL_TIME_BITS; // 24
export const DECL_FLAGS_SHIFT = DECL_SERVICE_BITS + DECL_TIME_BITS; // 22
export const DECL_SERVICE_SHIFT = DECL_TIME_BITS; // 16

/** Declaration flags: 0 = a knock asking for a grant; 1 = a probe ("where am I"); 2, 3 reserved. */
export const FLAG_KNOCK = 0;
export const FLAG_PROBE = 1;
/** MAC input "family" byte of a probe: its MAC binds no address (docs/protocol.md §6, §8). */
export const PROBE_MAC_FAMILY = 0;
/**
 * A probe is answered when its timestamp is within this many seconds of the server's clock (wider
 * than the knock window, so that its reply can tell a client how far off its clock is).
 */
export const PROBE_WINDOW_SEC = 3600;
/** Truncated MAC length. 72 - 26. Justified in docs/protocol.md ("Brute-force odds"). */
export const MAC_BITS = 46;

/** Largest service id that fits the declaration; 0 is reserved. */
export const MAX_SERVICE_ID = (1 << DECL_SERVICE_BITS) - 1;
/** Timestamp is seconds modulo 2^16; the server reconstructs the full value nearest its own clock. */
export const TIME_MODULUS = 1 << DECL_TIME_BITS;
/** The timestamp window must be well under half the modulus for reconstruction to be unambiguous. */
export const MAX_TIMESTAMP_WINDOW_SEC = 3600;

/** The timestamp window must be at least this (the config's lower bound). */
export const MIN_TIMESTAMP_WINDOW_SEC = 5;

/** Knock range size bounds (ports): at least 64 so C(N,3) leaves room; at most 4096. */
export const MIN_KNOCK_RANGE = 64;
export const MAX_KNOCK_RANGE = 4096;

/** Sequence lookup key: 3 x u16 port + 3 x u8 tag. */
export const SEQUENCE_KEY_BYTES = 9;

/** Device key: AES-128. */
export const KEY_BYTES = 16;

/** Reply statuses (plaintext byte 1): a grant, or the answer to a probe (an address report). */
export const REPLY_STATUS_GRANTED = 0;
export const REPLY_STATUS_ADDRESS = 1;

/** Reply: 12-byte nonce | ciphertext (REPLY_PLAINTEXT_BYTES) | 16-byte GCM tag. */
export const REPLY_NONCE_BYTES = 12;
export const REPLY_TAG_BYTES = 16;
export const REPLY_PLAINTEXT_BYTES = 40;
export const REPLY_BYTES = REPLY_NONCE_BYTES + REPLY_PLAINTEXT_BYTES + REPLY_TAG_BYTES; // 68

/** Domain-separation labels for subkeys and MAC inputs. */
export const LABEL_KNOCK_MAC = 'tumbler v1 knock mac';
export const LABEL_KNOCK_ENC = 'tumbler v1 knock enc';
export const LABEL_REPLY = 'tumbler v1 reply';
/** Enrollment bundle key check and the profile's password check (docs/protocol.md §12). */
export const LABEL_BUNDLE_CHECK = 'tumbler bundle2 check';
export const LABEL_KEY_CHECK = 'tumbler key check';

/**
 * Names, one rule each, for the bundle, the profile, the server config and the store.
 * Service names also travel in the monitor IPC (at most MAX_NAME_CHARS).
 */
export const MAX_NAME_CHARS = 32;
export const SERVICE_NAME_RE = /^[a-z][a-z0-9_-]{0,31}$/;
export const USER_NAME_RE = /^[a-z_][a-z0-9_.-]{0,31}$/;
export const DEVICE_NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,31}$/;

/** Passwords: at least this many Unicode code points after NFC normalisation (kdf.ts counts them). */
export const MIN_PASSWORD_CHARS = 12;

/** Enrollment bundle v2 (docs/protocol.md §12). */
export const BUNDLE_VERSION = 2;
export const BUNDLE_PREFIX = `tumbler${BUNDLE_VERSION}`;
/** Longest bundle text accepted (characters, before whitespace removal). */
export const MAX_BUNDLE_CHARS = 8192;
/** Bits of the keyed bundle check (and of the profile's password check): 3 hex digits. */
export const BUNDLE_CHECK_BITS = 12;
export const MAX_GATEWAYS = 16;
export const MAX_GATEWAY_ADDRESSES = 4;
