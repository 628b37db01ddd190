/**
 * The agent's defaults, in a module without imports: the CLI reads them at start-up without
 * loading the agent's code.
 */

/** The agent's default key lifetime (`--timeout` of `tumbler agent` and `tumbler unlock`). */
export const DEFAULT_LIFETIME = '8h';
