#!/usr/bin/env bash
# Puts a MinIO server binary at bin/minio: the S3-compatible object store
# the backup tests upload to. MinIO builds from its Go module with
# `go install`; the build takes minutes, so the result is cached outside
# the repository and reused by every checkout on the machine.
set -euo pipefail

version=${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}
cache=${NUA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nua}
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=$cache/minio-$version
stamp=$top/bin/minio.version

if [ -x "$top/bin/minio" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
	exit 0
fi
if [ ! -x "$dir/minio" ]; then
	echo "building MinIO $version from its module (once per machine, several minutes)" >&2
	mkdir -p "$dir"
	(cd / && GOFLAGS= GOBIN="$dir.tmp" go install -trimpath "github.com/minio/minio@$version")
	mv "$dir.tmp/minio" "$dir/minio"
	rmdir "$dir.tmp"
fi
mkdir -p "$top/bin"
cp "$dir/minio" "$top/bin/minio.tmp" && mv "$top/bin/minio.tmp" "$top/bin/minio"
echo "$version" >"$stamp"
echo "bin/minio: MinIO $version"
