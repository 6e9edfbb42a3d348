/**
 * Nesting limits for the documents clients send (JSON bodies, YAML apply documents), checked on the raw text
 * before any parser builds a tree. A parser fed 16 MiB of `[` builds millions of nested nodes: gigabytes, or a
 * crash. No jmp document nests deeper than a dozen levels, so 64 refuses only hostile input, in one pass over the
 * text and without allocating a tree.
 */
import { Lexer } from "yaml";

export const MAX_NESTING = 64;

/** True when JSON text opens more than `limit` arrays/objects inside each other (strings are skipped). */
export function jsonTooDeep(text: string, limit = MAX_NESTING): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > limit) return true;
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
  }
  return false;
}

/**
 * True when YAML text nests deeper than `limit`: flow collections (`[`, `{`) inside each other, or more block
 * indicators (`- `, `? `, `: `) on one line than `limit` (`- - - - x` nests once per dash). Nesting by
 * indentation costs its square in bytes, so a 16 MiB document cannot get deep that way; indentation beyond
 * 512 columns is refused all the same.
 */
export function yamlTooDeep(text: string, limit = MAX_NESTING): boolean {
  let flow = 0;
  let onLine = 0;
  let lineStart = true;
  for (const token of new Lexer().lex(text)) {
    switch (token) {
      case "[":
      case "{":
        if (++flow > limit) return true;
        break;
      case "]":
      case "}":
        flow--;
        break;
      case "\n":
        onLine = 0;
        lineStart = true;
        continue;
      case "-":
      case "?":
      case ":":
        if (++onLine > limit) return true;
        break;
      default:
        if (lineStart && token.length > 512 && /^ +$/.test(token)) return true;
    }
    lineStart = false;
  }
  return false;
}
