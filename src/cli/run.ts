/**
 * The `jmp` executable's body (cli/main.ts loads it): runs the command tree (program.ts) and turns failures into messages and exit codes —
 * 0 success, 1 failure, 2 invalid settings or usage (or changes, with `jmp apply --detailed-exitcode`).
 */
import { pino } from "pino";
import { JmpApiError, JmpConnectionError } from "../client/index.js";
import { SettingsError } from "../errors.js";
import { CliError } from "./errors.js";
import { buildProgram } from "./program.js";
import { closestName } from "./suggest.js";

const program = buildProgram();
const first = process.argv[2];
// The default command (serve) would otherwise swallow a mistyped one and start a server.
if (first !== undefined && !first.startsWith("-")) {
  // `help` is commander's own command, not in the list.
  const names = ["help", ...program.commands.flatMap((command) => [command.name(), ...command.aliases()])];
  if (!names.includes(first)) {
    const guess = closestName(first, names);
    process.stderr.write(
      `jmp: unknown command '${first}'${guess ? ` (did you mean '${guess}'?)` : ""}; see jmp --help\n`,
    );
    process.exit(2);
  }
}

program.parseAsync().catch((err: unknown) => {
  if (err instanceof SettingsError) {
    process.stderr.write(`jmp: invalid setting: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof CliError || err instanceof JmpConnectionError) {
    process.stderr.write(`jmp: ${err.message}\n`);
    process.exit(1);
  }
  if (err instanceof JmpApiError) {
    const fields = err.fields.map((f) => `  ${f.field}: ${f.message}\n`).join("");
    process.stderr.write(`jmp: ${err.message} (HTTP ${err.status}, ${err.error})\n${fields}`);
    process.exit(1);
  }
  pino().error({ err }, "command failed");
  process.exit(1);
});
