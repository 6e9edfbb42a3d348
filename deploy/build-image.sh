#!/bin/sh
# Builds jmp as it runs in production into DEST (default /app): the packed package (dist/, LICENSE, README,
# CHANGELOG — what `npm pack` ships) plus its production dependencies, with the native SQLite addon compiled for
# the Node.js that runs this script. The Dockerfile runs it in its build stage; CI runs the same script from a
# fresh clone and starts the result (test/ship/image.test.ts), since the CI machine has no container engine.
#
# Needs: Node.js and npm, python3, make and a C++ compiler (node-gyp builds better-sqlite3 from source).
set -eu
dest=${1:-/app}
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$src"
# All dependencies, to compile TypeScript; `prepare` builds dist/ and `npm pack` packs what package.json's
# "files" names (no tests, no sources).
npm ci --no-audit --no-fund
npm pack --silent --pack-destination "$work" >/dev/null

mkdir -p "$dest"
tar -xzf "$work"/jmp-*.tgz -C "$dest" --strip-components=1
cp package-lock.json "$dest/"
cd "$dest"
# Production dependencies at the locked versions. Scripts are off for the install (jmp's own `prepare` needs the
# TypeScript compiler, which a production install does not have) and on for the one addon that needs building.
npm ci --omit=dev --ignore-scripts --no-audit --no-fund
npm rebuild better-sqlite3
rm -f package-lock.json
node dist/src/cli/main.js version
