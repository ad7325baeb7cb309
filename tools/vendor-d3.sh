#!/usr/bin/env bash
# Rebuilds static/vendor/d3.esm.min.js: d3 as one self-contained ES module.
#
#   bash tools/vendor-d3.sh        (needs node and npm, and the npm registry)
#
# d3@7 on npm ships a UMD build (a window.d3 global) and ES sources whose
# imports are bare package names ("d3-array", ...) that a browser cannot
# resolve without a build step. The page has no build step and the lecture
# hall no internet, so the ES module is bundled once, here, and committed.
# Versions are pinned by tools/vendor-d3/package-lock.json (d3 7.9.2, with the
# d3-* packages it lists; esbuild 0.28.2): `npm ci` installs exactly those.
# The whole of d3 is kept (not only what the page imports today): zoom and
# the rest are there for the page to import without rebuilding.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cp "$root/tools/vendor-d3/package.json" "$root/tools/vendor-d3/package-lock.json" "$work/"
cd "$work"
# --ignore-scripts: esbuild's binary comes from its optional platform package.
npm ci --no-audit --no-fund --ignore-scripts >/dev/null
version="$(node -p 'require("./node_modules/d3/package.json").version')"
echo 'export * from "d3";' > entry.js
./node_modules/.bin/esbuild entry.js --bundle --format=esm --minify \
  --target=es2020 --legal-comments=none \
  --banner:js="// d3 v${version} (https://d3js.org), ISC license: d3.LICENSE. Bundled as one ES module by tools/vendor-d3.sh." \
  --outfile="$root/static/vendor/d3.esm.min.js"
cp node_modules/d3/LICENSE "$root/static/vendor/d3.LICENSE"
echo "static/vendor/d3.esm.min.js: d3 v${version}"
