#!/usr/bin/env bash
# Starts or stops the container engine the tests use: podman's Docker
# Engine API service on a socket in DIR, with the settings this kind of
# host needs (runc, ulimits it accepts), and a local base image
# nua-busybox:local (busybox-static imported; no registry is reachable),
# and the Cloud Native Buildpacks builder nua-cnb-builder:local made from
# it, a lifecycle built from its Go module and testdata/cnb's buildpack.
#
#   containers.sh start DIR   prints nothing; DOCKER_HOST=unix://DIR/podman.sock
#   containers.sh stop DIR
set -euo pipefail
cmd=${1:?start or stop}
dir=${2:?a directory}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
export CONTAINERS_CONF=$dir/containers.conf
top=$(cd "$(dirname "$0")/../.." && pwd)

# cnb_builder makes the tests' CNB builder unless one made from the same
# testdata/cnb and lifecycle exists.
cnb_builder() {
	local lifecycle stamp work
	lifecycle=$("$top/internal/tools/lifecycle.sh")
	stamp=$( (cd "$top/testdata/cnb" && find . -type f -print0 | sort -z | xargs -0 sha256sum; echo "$lifecycle") | sha256sum | cut -c1-16)
	if podman image exists nua-cnb-builder:local &&
		[ "$(podman image inspect --format '{{index .Labels "nua.stamp"}}' nua-cnb-builder:local)" = "$stamp" ]; then
		return
	fi
	[ -x "$top/bin/nua-cnb" ] || { echo "bin/nua-cnb is missing: run make build" >&2; exit 1; }
	podman build -q -t nua-cnb-base:local "$top/testdata/cnb/stack" >/dev/null
	work=$(mktemp -d)
	cp -r "$top/testdata/cnb/." "$work/"
	cp "$lifecycle" "$work/lifecycle.tgz"
	"$top/bin/nua-cnb" builder --docker-host "unix://$dir/podman.sock" --config "$work/builder.toml" \
		--name nua-cnb-builder:local --label "nua.stamp=$stamp" >"$dir/cnb-builder.log" 2>&1 ||
		{ cat "$dir/cnb-builder.log" >&2; rm -rf "$work"; exit 1; }
	rm -rf "$work"
}

case $cmd in
start)
	command -v podman >/dev/null || { echo "podman is missing: run make deps" >&2; exit 1; }
	cat >"$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
	if ! podman image exists nua-busybox:local; then
		root=$(mktemp -d)
		mkdir -p "$root/bin" "$root/tmp" "$root/etc"
		cp /bin/busybox "$root/bin/"
		for a in $(/bin/busybox --list); do [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"; done
		echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
		echo 'root:x:0:' >"$root/etc/group"
		tar -C "$root" -c . | podman import -q - nua-busybox:local >/dev/null
		rm -rf "$root"
	fi
	if ! [ -f "$dir/podman.pid" ] || ! kill -0 "$(cat "$dir/podman.pid")" 2>/dev/null; then
		rm -f "$dir/podman.sock"
		# From DIR: conmon leaves files (an "oom" mark when a container's
		# memory limit kills it) in the service's working directory.
		(cd "$dir" && exec setsid podman system service --time=0 "unix://$dir/podman.sock" >"$dir/podman.log" 2>&1 </dev/null) &
		echo $! >"$dir/podman.pid"
		for _ in $(seq 100); do
			[ -S "$dir/podman.sock" ] && break
			sleep 0.1
		done
		if ! [ -S "$dir/podman.sock" ]; then
			echo "podman system service did not answer; see $dir/podman.log" >&2
			exit 1
		fi
	fi
	cnb_builder
	;;
stop)
	if [ -f "$dir/podman.pid" ]; then
		kill "$(cat "$dir/podman.pid")" 2>/dev/null || true
		rm -f "$dir/podman.pid"
	fi
	;;
*)
	echo "usage: containers.sh start|stop DIR" >&2
	exit 2
	;;
esac
