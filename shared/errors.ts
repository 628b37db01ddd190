/**
 * Errors with stable codes. Tests assert `code`, never message text.
 * Messages never carry key material, passwords, sequences or reply bytes.
 */
export class TumblerError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TumblerError';
    this.code = code;
  }
}

/** True when `e` is a TumblerError with the given code (or any TumblerError when code is omitted). */
export function isTumblerError(e: unknown, code?: string): e is TumblerError {
  return e instanceof TumblerError && (code === undefined || e.code === code);
}
