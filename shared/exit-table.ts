/**
 * One shape for a command's exit codes, used by the client (`tumbler`) and the server
 * (`tumblerd`): named statuses with their number and meaning (printed by --help and copied into
 * the README), and which error codes end in which status (by exact code, then by prefix, else the
 * fallback). Free of imports, so a CLI can load it for --help at no cost.
 */

export interface ExitStatus {
  readonly code: number;
  readonly meaning: string;
}

export interface ExitTable<N extends string> {
  /** Status name → exit code. */
  readonly status: Readonly<Record<N, number>>;
  /** The exit code for a TumblerError code. */
  statusFor(errorCode: string): number;
  /** "Exit codes:" and one line per status, in code order. */
  readonly help: string;
}

export function exitTable<N extends string>(o: {
  readonly statuses: Readonly<Record<N, ExitStatus>>;
  readonly byError: Readonly<Record<string, NoInfer<N>>>;
  readonly byPrefix?: readonly (readonly [string, NoInfer<N>])[];
  readonly fallback: NoInfer<N>;
}): ExitTable<N> {
  const status = Object.fromEntries(Object.entries<ExitStatus>(o.statuses).map(([n, s]) => [n, s.code])) as Record<N, number>;
  const lines = Object.values<ExitStatus>(o.statuses).sort((a, b) => a.code - b.code)
    .map((s) => `  ${String(s.code).padStart(2)}  ${s.meaning}`);
  return {
    status,
    statusFor(errorCode: string): number {
      const byCode = Object.hasOwn(o.byError, errorCode) ? o.byError[errorCode] : undefined;
      const name = byCode ?? o.byPrefix?.find(([p]) => errorCode.startsWith(p))?.[1] ?? o.fallback;
      return status[name];
    },
    help: `Exit codes:\n${lines.join('\n')}`,
  };
}
