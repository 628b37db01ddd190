/**
 * The one sequence-draw loop: draw a random sequence in the knock range, try to store it, and draw
 * again when the store says it is already in play (STORE_SEQUENCE_COLLISION, decided by the
 * store's unique index inside its transaction, so there is no check-then-insert race). Bounded.
 */
import { isTumblerError, TumblerError } from '../../shared/errors.js';
import { generateSequence, type KnockRange, type RandomBytes, type Sequence } from '../../shared/protocol/sequence.js';

/** Draws before giving up: with 1,000 ports a collision is already rare; 32 in a row means a full range. */
const SEQUENCE_DRAWS = 32;

export async function withFreshSequence<T>(range: KnockRange, random: RandomBytes, attempt: (s: Sequence) => Promise<T>): Promise<T> {
  for (let i = 0; i < SEQUENCE_DRAWS; i++) {
    try {
      return await attempt(generateSequence(range, random));
    } catch (e) {
      if (!isTumblerError(e, 'STORE_SEQUENCE_COLLISION')) throw e;
    }
  }
  throw new TumblerError('STORE_SEQUENCE_COLLISION', `no free sequence after ${SEQUENCE_DRAWS} draws`);
}
