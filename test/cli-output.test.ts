/** The CLI's promises to scripts and people: `--json` on every command, aligned tables, progress that fits the stream. */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import type { Command } from "commander";
import { printTable, Progress } from "../src/cli/output.js";
import { buildProgram } from "../src/cli/program.js";

/** Commands whose output is a document in a format of its own (YAML/JSON/CSV), or that run a server. */
const DATA_OUTPUT = new Set(["jmp serve", "jmp export", "jmp config export", "jmp links export"]);

function leaves(command: Command, prefix = "jmp"): [string, Command][] {
  if (command.commands.length === 0) return [[prefix, command]];
  return command.commands.flatMap((sub) => leaves(sub, `${prefix} ${sub.name()}`));
}

class Capture extends Writable {
  text = "";
  constructor(readonly isTTY: boolean) {
    super();
  }
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe("CLI output", () => {
  it("every command that prints a result takes --json", () => {
    const commands = leaves(buildProgram());
    assert.ok(commands.length > 25, `found ${commands.length} commands`);
    const missing = commands
      .filter(
        ([name, command]) => !DATA_OUTPUT.has(name) && !command.options.some((o) => o.long === "--json"),
      )
      .map(([name]) => name);
    assert.deepEqual(missing, []);
  });

  it("pads table columns to the widest cell", () => {
    assert.equal(
      printTable([
        ["CODE", "TARGET"],
        ["a-long-code", "https://x"],
        ["b", "https://y"],
      ]),
      "CODE         TARGET\na-long-code  https://x\nb            https://y\n",
    );
  });

  it("redraws a bar on a terminal", () => {
    const tty = new Capture(true);
    const progress = new Progress("uploading", 4_000_000, "bytes", tty as unknown as NodeJS.WriteStream);
    progress.add(1_000_000);
    progress.add(3_000_000);
    progress.finish("done");
    assert.equal(
      tty.text,
      "\ruploading: [########----------------------] 25% (1.0 MB of 4.0 MB)" +
        "\ruploading: [##############################] 100% (4.0 MB of 4.0 MB)" +
        "\ruploading: [##############################] 100% (4.0 MB of 4.0 MB) — done\n",
    );
  });

  it("writes plain lines, not redraws, to a pipe or file", () => {
    const pipe = new Capture(false);
    const progress = new Progress("exporting", null, "rows", pipe as unknown as NodeJS.WriteStream);
    for (let i = 0; i < 1000; i++) progress.add(1);
    progress.finish("done");
    assert.equal(pipe.text, "exporting: 1 rows\nexporting: 1000 rows — done\n");
  });
});
