/** One `ms4` subcommand: its usage text (printed by `--help` and on usage errors) and what it does. */
export interface Command {
  readonly name: string;
  /** One line for the overview. */
  readonly summary: string;
  /** The full help: synopsis, description, options. */
  readonly help: string;
  /** Runs with the arguments after the command name; resolves with the exit code. */
  run(args: string[]): Promise<number>;
}
