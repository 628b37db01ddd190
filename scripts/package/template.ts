/**
 * @NAME@ substitution for the maintainer scripts and command wrappers (packaging/). Every
 * placeholder must have a value and every value must be plain (a path or a name: no quote,
 * no "$", no newline), so a substituted shell script means exactly what its template says.
 */
import { TumblerError } from '../../shared/errors.js';

const PLACEHOLDER = /@([A-Z][A-Z0-9_]*)@/g;
const PLAIN_VALUE = /^[A-Za-z0-9_./:+ -]+$/;

export function fillTemplate(text: string, values: Readonly<Record<string, string>>, what: string): string {
  const out = text.replace(PLACEHOLDER, (_, name: string) => {
    const v = values[name];
    if (v === undefined) throw new TumblerError('PACKAGE_TEMPLATE', `${what}: no value for @${name}@`);
    if (!PLAIN_VALUE.test(v)) throw new TumblerError('PACKAGE_TEMPLATE', `${what}: the value of @${name}@ is not a plain path or name`);
    return v;
  });
  const left = /@[A-Za-z0-9_]+@/.exec(out);
  if (left) throw new TumblerError('PACKAGE_TEMPLATE', `${what}: malformed placeholder ${left[0]}`);
  return out;
}
