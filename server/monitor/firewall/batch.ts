/**
 * Opening several grants at once, the same way for both backends: check and render each grant
 * (a bad one fails alone), write all the rendered ones in one go (one nft transaction, one ipset
 * write), and when that write fails — a key that exists with another target, a full map, a set
 * gone — open each one alone so that every grant gets its own outcome. Outcomes keep the order.
 */
import { asFirewallError } from './run.js';
import type { Grant, OpenOutcome } from './types.js';

export interface BatchSteps<R> {
  /** Check and render one grant; throws for a bad one. */
  readonly render: (g: Grant) => R;
  /** Write every rendered grant at once; false when the tool refused the write. */
  readonly writeAll: (rendered: readonly R[]) => Promise<boolean>;
  /** Open one grant alone (the backend's open()). */
  readonly openOne: (g: Grant) => Promise<void>;
  /** Error code for a failure that is not a TumblerError. */
  readonly code: string;
}

/** Grants per write (an nft line of ~130 bytes each, or ipset lines): a larger batch goes in several writes. */
const OPEN_CHUNK = 128;
/** Elements per delete write (a close of many grants, a reset). */
export const DELETE_CHUNK = 256;

/** openInBatch over chunks of OPEN_CHUNK grants, outcomes in order. */
export async function openChunked<R>(grants: readonly Grant[], steps: BatchSteps<R>): Promise<OpenOutcome[]> {
  const out: OpenOutcome[] = [];
  for (let i = 0; i < grants.length; i += OPEN_CHUNK) out.push(...(await openInBatch(grants.slice(i, i + OPEN_CHUNK), steps)));
  return out;
}

async function openInBatch<R>(grants: readonly Grant[], steps: BatchSteps<R>): Promise<OpenOutcome[]> {
  const outcomes: OpenOutcome[] = grants.map(() => null);
  const rendered: Array<R | undefined> = grants.map((g, i) => {
    try {
      return steps.render(g);
    } catch (e) {
      outcomes[i] = asFirewallError(e, steps.code);
      return undefined;
    }
  });
  const good = rendered.filter((r): r is R => r !== undefined);
  if (good.length === 0 || (await steps.writeAll(good))) return outcomes;
  for (const [i, g] of grants.entries()) {
    if (rendered[i] === undefined) continue;
    try {
      await steps.openOne(g);
    } catch (e) {
      outcomes[i] = asFirewallError(e, steps.code);
    }
  }
  return outcomes;
}
