#!/usr/bin/env bash
# Puts a Traefik v3 binary at bin/traefik.
#
# Traefik has no Debian package and `go install` refuses its module (its go.mod
# has replace lines), so the binary is built from the module source in a
# scratch copy that gets a stub for the unpublished dynamic/ext module. The
# build takes minutes, so the result is cached outside the repository and
# reused by every checkout on the machine.
#
#   traefik.sh            use the cache, else build from source
#   traefik.sh --download download the release binary first (install.sh on a
#                         host with internet), fall back to building
set -euo pipefail

version=${TRAEFIK_VERSION:-v3.7.10}
cache=${NUA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nua}
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$cache/traefik-$version/traefik

download() {
	local arch
	case $(uname -m) in
	x86_64) arch=amd64 ;;
	aarch64) arch=arm64 ;;
	*) return 1 ;;
	esac
	local url="https://github.com/traefik/traefik/releases/download/$version/traefik_${version}_linux_${arch}.tar.gz"
	local tmp
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	curl -fsSL --max-time 120 "$url" -o "$tmp/t.tgz" || return 1
	tar -C "$tmp" -xzf "$tmp/t.tgz" traefik || return 1
	mkdir -p "$(dirname "$bin")"
	mv "$tmp/traefik" "$bin.tmp" && mv "$bin.tmp" "$bin"
}

build() {
	echo "building Traefik $version from source (once per machine, several minutes)" >&2
	local src work
	src=$(cd / && GOFLAGS= go mod download -json "github.com/traefik/traefik/v3@$version" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
	[ -d "$src" ] || { echo "traefik.sh: module source not found" >&2; exit 1; }
	work=$(mktemp -d)
	trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' RETURN
	cp -r "$src/." "$work/"
	chmod -R u+w "$work"
	mkdir -p "$work/pkg/config/dynamic/ext"
	printf 'module github.com/traefik/traefik/dynamic/ext\n\ngo 1.26.0\n' >"$work/pkg/config/dynamic/ext/go.mod"
	printf 'package ext\n\ntype HTTP struct{}\n\ntype Router struct{}\n' >"$work/pkg/config/dynamic/ext/ext.go"
	mkdir -p "$(dirname "$bin")"
	(cd "$work" && GOFLAGS=-mod=mod go build -trimpath -o "$bin.tmp" ./cmd/traefik)
	mv "$bin.tmp" "$bin"
}

# A bin/traefik of this version is reused as it is.
stamp=$top/bin/traefik.version
if [ -x "$top/bin/traefik" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
	exit 0
fi

if [ ! -x "$bin" ]; then
	if [ "${1:-}" = --download ] && command -v curl >/dev/null; then
		download || build
	else
		build
	fi
fi
mkdir -p "$top/bin"
cp "$bin" "$top/bin/traefik.tmp" && mv "$top/bin/traefik.tmp" "$top/bin/traefik"
echo "$version" >"$stamp"
echo "bin/traefik: Traefik $version"
