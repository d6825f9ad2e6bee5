#!/usr/bin/env bash
# rescue-kit's one entry point. Finds a Node (the bundled one first), builds
# from source when needed (first run in a git checkout), and runs the CLI.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
export RESCUE_KIT_HOME="$here"

die() { echo "rescue-kit: $*" >&2; exit 3; }

find_node() {
  if [ -x "$here/node/bin/node" ]; then echo "$here/node/bin/node"; return; fi
  command -v node >/dev/null 2>&1 || die "no Node.js found. Use the offline bundle (it carries its own Node), or install Node >= 20."
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 20 ] || die "Node $(node --version) is too old; rescue-kit needs Node >= 20 (or use the offline bundle)."
  command -v node
}
node_bin="$(find_node)"

# Offline bundle: one prebuilt file, never npm, never the network.
if [ -f "$here/dist-cli/rescue-kit.cjs" ]; then
  exec "$node_bin" "$here/dist-cli/rescue-kit.cjs" "$@"
fi

# Source checkout: install and build on first use, rebuild when sources changed.
cli="$here/build/lib/cli/main.js"
if [ ! -d "$here/node_modules" ]; then
  echo "rescue-kit: first run, installing dependencies (npm ci)..." >&2
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
if [ ! -f "$cli" ] || [ -n "$(find "$here/lib" "$here/scripts" -name '*.ts' -newer "$cli" -print -quit 2>/dev/null)" ]; then
  echo "rescue-kit: building..." >&2
  (cd "$here" && npx tsc -p tsconfig.json) >&2
  touch "$cli"
fi
exec "$node_bin" "$cli" "$@"
