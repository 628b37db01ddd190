/**
 * The shape of a command table for `tumbler` (client/cli.ts): commands, their positional arguments
 * and options, and the help text around them. One declaration drives parsing (parse.ts) and every
 * `--help` (help.ts), so an option exists in exactly one place.
 */

/** Parsed values of one command line: options by name, positionals by order. */
export type OptionValues = Record<string, string | boolean | number | undefined>;

export interface OptionSpec {
  /** Key in the parsed options (camelCase), e.g. "publicAddress". */
  readonly key: string;
  /** Long form, e.g. "--public-address"; "--no-x" options set `key` to false. */
  readonly long: `--${string}`;
  readonly short?: `-${string}`;
  /** Placeholder of the value ("<ms>"); absent for a flag. */
  readonly value?: `<${string}>`;
  readonly help: string;
  /** Allowed values (listed in the help). */
  readonly choices?: readonly string[];
  /** Converts and validates the text; throws a TumblerError('USAGE') with the reason. */
  readonly parse?: (text: string) => string | number;
  /** Value when the option is absent (shown in the help). */
  readonly default?: string | boolean;
}

export interface ArgSpec {
  readonly name: string;
  readonly help: string;
  readonly optional?: boolean;
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly args: readonly ArgSpec[];
  readonly options: readonly OptionSpec[];
  /** Shown after the options in `tumbler <command> --help`. */
  readonly details?: string;
  readonly run: (args: string[], options: OptionValues) => Promise<void>;
}

export interface ProgramSpec {
  readonly name: string;
  readonly version: string;
  readonly summary: string;
  readonly commands: readonly CommandSpec[];
  /** Shown at the end of the program's help. */
  readonly details?: string;
  /** Shown at the end of every help text (exit codes). */
  readonly footer?: string;
}
