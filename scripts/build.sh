#!/usr/bin/env bash
# Builds the three parts: BPF objects (clang, CO-RE), the libbpf Node-API addon (node-gyp),
# and the TypeScript agent (tsc). Output: build/bpf/, native/build/, dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "build: bpf/*.bpf.c -> build/bpf/" >&2
make -s -C bpf
echo "build: native/ (libbpf bridge)" >&2
if [[ ! -f native/build/Release/tcpscope_bpf.node || -n "$(find native/src native/binding.gyp -newer native/build/Release/tcpscope_bpf.node 2>/dev/null)" ]]; then
  npx --no-install node-gyp rebuild --directory native --loglevel=warn >/dev/null
fi
echo "build: TypeScript -> dist/" >&2
rm -rf dist
npx --no-install tsc -p .
