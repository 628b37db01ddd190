/** One `tumblerd doctor` finding: a stable name, ok / warn / fail, what was seen, what to do. */
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
  readonly hint?: string;
}
