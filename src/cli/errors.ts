/** An error meant for the person at the terminal: printed as `jmp: <message>`, exit code 1. */
export class CliError extends Error {}
