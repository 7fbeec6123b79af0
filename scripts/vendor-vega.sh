#!/usr/bin/env bash
# Vega, Vega-Lite and vega-embed for `critlab report` / `critlab serve`, vendored in
# crates/critlab-report/vendor/ (BSD-3-Clause, licences beside them) and embedded in the binary
# with include_str!: nothing is fetched at build or run time.
#
#   ./scripts/vendor-vega.sh           re-fetch the pinned versions from the npm registry (npm pack)
#                                      and check that they match SHA256SUMS and the committed files
#   ./scripts/vendor-vega.sh --write   after changing a version below: copy the fetched files into
#                                      the vendor folder and rewrite SHA256SUMS
set -euo pipefail
cd "$(dirname "$0")/.."
dir=crates/critlab-report/vendor
declare -A version=([vega]=6.4.0 [vega-lite]=6.4.3 [vega-embed]=7.3.0)
write=0
[ "${1:-}" = "--write" ] && write=1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for pkg in vega vega-lite vega-embed; do
  (cd "$tmp" && npm pack --silent "$pkg@${version[$pkg]}" >/dev/null)
  mkdir -p "$tmp/$pkg"
  tar xzf "$tmp/$pkg-${version[$pkg]}.tgz" -C "$tmp/$pkg"
  cp "$tmp/$pkg/package/build/$pkg.min.js" "$tmp/$pkg.min.js"
  cp "$tmp/$pkg/package/LICENSE" "$tmp/LICENSE-$pkg"
done
files=(vega.min.js vega-lite.min.js vega-embed.min.js LICENSE-vega LICENSE-vega-lite LICENSE-vega-embed)
if [ "$write" = 1 ]; then
  for f in "${files[@]}"; do cp "$tmp/$f" "$dir/$f"; done
  (cd "$dir" && sha256sum "${files[@]}" > SHA256SUMS)
  echo "wrote ${files[*]} and SHA256SUMS in $dir (vega ${version[vega]}, vega-lite ${version[vega-lite]}, vega-embed ${version[vega-embed]})"
else
  (cd "$tmp" && sha256sum --quiet -c "$OLDPWD/$dir/SHA256SUMS")
  (cd "$dir" && sha256sum --quiet -c SHA256SUMS)
  echo "vega ${version[vega]}, vega-lite ${version[vega-lite]}, vega-embed ${version[vega-embed]}: the registry's files match SHA256SUMS and the vendored copies"
fi
