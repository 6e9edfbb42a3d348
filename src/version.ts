/** The package version, read once from package.json (shown by `jmp --version` and in the OpenAPI description). */
import { readFileSync } from "node:fs";

const packageJson = new URL("../../package.json", import.meta.url);

export const JMP_VERSION: string = (JSON.parse(readFileSync(packageJson, "utf8")) as { version: string })
  .version;
