#!/usr/bin/env bash
# fetch-node.sh VERSION DIR: Node VERSION for this machine, from the npm
# registry's node-linux-<arch> package (so CI needs no other download site),
# unpacked into DIR/nodeVERSION; prints its bin directory.
set -euo pipefail
version=$1
dir=$2
arch="$(uname -m | sed -e s/x86_64/x64/ -e s/aarch64/arm64/)"
if [ ! -x "$dir/node$version/bin/node" ]; then
  (cd "$dir" && npm pack --silent "node-linux-$arch@$version" >/dev/null \
    && mkdir -p "node$version" && tar xzf "node-linux-$arch-$version.tgz" -C "node$version" --strip-components 1 \
    && rm "node-linux-$arch-$version.tgz")
fi
printf '%s\n' "$dir/node$version/bin"
