#!/usr/bin/env bash
# Builds the Cloud Native Buildpacks lifecycle from its Go module into the
# archive a builder takes (lifecycle.toml and lifecycle/ with the phase
# links), once per machine, cached outside the repository; prints its path.
# The tests' CNB builder is made from it: no lifecycle image can be pulled.
set -euo pipefail

version=${LIFECYCLE_VERSION:-0.21.0}
cache=${NUA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nua}
out=$cache/lifecycle-v$version+linux.tgz
if [ -s "$out" ]; then
	echo "$out"
	exit 0
fi
echo "building the CNB lifecycle v$version from its Go module (once per machine)" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/mod" "$work/pkg/lifecycle"
cat >"$work/mod/go.mod" <<MOD
module nua.local/lifecycle

go 1.24

require github.com/buildpacks/lifecycle v$version
MOD
cat >"$work/mod/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "github.com/buildpacks/lifecycle/cmd/launcher"
	_ "github.com/buildpacks/lifecycle/cmd/lifecycle"
)
GO
(
	cd "$work/mod"
	GOFLAGS=-mod=mod go mod tidy >&2
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/buildpacks/lifecycle/cmd.Version=$version" \
		-o "$work/pkg/lifecycle/" github.com/buildpacks/lifecycle/cmd/lifecycle github.com/buildpacks/lifecycle/cmd/launcher >&2
)
for phase in detector analyzer restorer builder exporter rebaser creator extender; do
	ln -s lifecycle "$work/pkg/lifecycle/$phase"
done
# The APIs this lifecycle version supports, as its api/apis.go lists them.
apis=$(cd "$work/mod" && go list -m -f '{{.Dir}}' github.com/buildpacks/lifecycle)/api/apis.go
supported() {
	sed -n "s/.*$1 *= *newApisMustParse(\[\]string{\([^}]*\)}.*/[\1]/p" "$apis"
}
platform=$(supported Platform)
buildpack=$(supported Buildpack)
if [ -z "$platform" ] || [ -z "$buildpack" ]; then
	echo "cannot read the supported APIs from $apis" >&2
	exit 1
fi
cat >"$work/pkg/lifecycle.toml" <<TOML
[apis]
[apis.buildpack]
  deprecated = []
  supported = $buildpack
[apis.platform]
  deprecated = []
  supported = $platform

[api]
  platform = "0.7"
  buildpack = "0.7"

[lifecycle]
  version = "$version"
TOML
mkdir -p "$cache"
tar -C "$work/pkg" -czf "$out.tmp" lifecycle.toml lifecycle
mv "$out.tmp" "$out"
echo "$out"
