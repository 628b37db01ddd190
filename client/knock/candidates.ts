/**
 * Which address a knock binds (the MAC covers the source address as the server sees it;
 * docs/protocol.md §8): `--public-address` alone when given; else the address the server reported
 * in its last reply, then the local source address towards the server, without duplicates. Only
 * addresses of the server's family can be seen by it, so others are skipped.
 */
import { TumblerError } from '../../shared/errors.js';
import type { AddressBytes } from '../../shared/protocol/knock.js';
import { addressBytes, addressText, type Family } from './wire.js';

export type CandidateSource = 'public' | 'observed' | 'local';

export interface Candidate {
  readonly address: string; // canonical text
  readonly bytes: AddressBytes;
  readonly source: CandidateSource;
}

export interface CandidateInput {
  readonly family: Family;
  readonly publicAddress?: string;
  readonly observedAddress?: string;
  readonly localAddress: string;
}

export function boundCandidates(i: CandidateInput): Candidate[] {
  if (i.publicAddress !== undefined) {
    let a: AddressBytes;
    try {
      a = addressBytes(i.publicAddress);
    } catch {
      throw new TumblerError('BAD_ARGUMENT', '--public-address must be an IP address literal');
    }
    if (a.family !== i.family) throw new TumblerError('BAD_ARGUMENT', `--public-address must be an IPv${i.family} address, like the server's`);
    return [{ address: addressText(a), bytes: a, source: 'public' }];
  }
  const out: Candidate[] = [];
  const add = (text: string | undefined, source: CandidateSource): void => {
    if (text === undefined) return;
    let a: AddressBytes;
    try {
      a = addressBytes(text);
    } catch {
      return;
    }
    if (a.family !== i.family || out.some((c) => c.bytes.bytes.equals(a.bytes))) return;
    out.push({ address: addressText(a), bytes: a, source });
  };
  add(i.observedAddress, 'observed');
  add(i.localAddress, 'local');
  return out;
}
