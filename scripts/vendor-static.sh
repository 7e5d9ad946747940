#!/usr/bin/env bash
# Refreshes the dashboard's vendored front-end files from the npm registry (development time only: a user's
# `pip install "evertask[web]"` needs no Node). Versions are pinned here and recorded in the NOTICE file beside them.
# The live stream is read by the dashboard's own app.js (EventSource), not by htmx's SSE extension: it also
# switches to polling while the stream is down and feeds the live page, which the extension does not do.
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/evertask/web/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent htmx.org@2.0.11 uplot@1.6.32 >/dev/null)
for tgz in "$work"/*.tgz; do mkdir -p "${tgz%.tgz}" && tar xzf "$tgz" -C "${tgz%.tgz}"; done
cp "$work"/htmx.org-2.0.11/package/dist/htmx.min.js "$out/htmx.min.js"
cp "$work"/uplot-1.6.32/package/dist/uPlot.iife.min.js "$out/uplot.min.js"
cp "$work"/uplot-1.6.32/package/dist/uPlot.min.css "$out/uplot.min.css"
for name in htmx.org-2.0.11 uplot-1.6.32; do
  cp "$work/$name/package/LICENSE" "$out/LICENSE.${name%-*}"
done
echo "vendored into $out"
