/**
 * Text from the database or the network (user, device and service names, reasons, addresses)
 * on its way to a terminal or a text log: control characters (C0, DEL, C1) and the line/paragraph
 * separators are shown as \xNN / \uNNNN escapes, so no stored string can move the cursor, clear
 * the screen or forge a line. Backslashes are doubled so an escape cannot be faked either.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\\]/g;

export function escapeControl(s: string): string {
  return s.replace(UNSAFE, (c) => {
    if (c === '\\') return '\\\\';
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}
