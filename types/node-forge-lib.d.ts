/**
 * node-forge's per-module entry points (CommonJS, no types of their own): `lib/forge.js` exports the
 * shared `forge` object that `lib/aes.js`, `lib/hmac.js` and `lib/sha256.js` extend when loaded.
 * Typed as the package's own `forge` namespace (@types/node-forge), of which only the loaded parts exist.
 */
declare module 'node-forge/lib/forge.js' {
  import forge from 'node-forge';
  export default forge;
}
declare module 'node-forge/lib/aes.js';
declare module 'node-forge/lib/hmac.js';
declare module 'node-forge/lib/sha256.js';
