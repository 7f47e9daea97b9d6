# nua: see README.md. `make test` is what CI runs.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/nua-paas/nua.Version=$(VERSION)
DATA    ?= $(CURDIR)/.nua
SSH_ADDR  ?= 127.0.0.1:2222
HTTP_ADDR ?= 127.0.0.1:8080

# podman's Docker Engine API service for the Dockerfile backend's tests.
CONTAINERS ?= $(CURDIR)/.containers
ENGINE_ENV := DOCKER_HOST=unix://$(CONTAINERS)/podman.sock CONTAINERS_CONF=$(CONTAINERS)/containers.conf

.PHONY: all build deps traefik minio containers test unit e2e bench lint fuzz run clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ ./cmd/nua ./cmd/nua-cnb

# Debian packages the tests drive for real: git, the OpenSSH client, perl,
# Node.js with npm, Python 3 with venv, Ruby and Bundler, cargo, nix, podman.
deps:
	@internal/tools/deps.sh

# Starts podman's Docker API service (stopped again after the tests).
containers: deps build
	@internal/tools/containers.sh start $(CONTAINERS)

# Traefik v3, built once per machine and cached outside the repository.
traefik:
	@internal/tools/traefik.sh

# MinIO, the S3 server the backup tests upload to, built once per machine
# and cached outside the repository.
minio:
	@internal/tools/minio.sh

# The unit tests and the end-to-end tests, which push
# with the real git and ssh clients to a real nua server behind a real Traefik.
test: deps build traefik minio containers
	$(GO) vet ./...
	NUA_BIN=$(CURDIR)/bin/nua NUA_TRAEFIK=$(CURDIR)/bin/traefik NUA_MINIO=$(CURDIR)/bin/minio NUA_E2E=require $(ENGINE_ENV) \
		$(GO) test -count=1 -timeout 25m -parallel 4 ./...; \
		rc=$$?; internal/tools/containers.sh stop $(CONTAINERS); exit $$rc

unit:
	$(GO) test -race -count=1 -short ./...

e2e: deps build traefik containers
	NUA_BIN=$(CURDIR)/bin/nua NUA_TRAEFIK=$(CURDIR)/bin/traefik NUA_E2E=require $(ENGINE_ENV) \
		$(GO) test -count=1 -timeout 25m -run 'E2E' -v ./cmd/nua/; \
		rc=$$?; internal/tools/containers.sh stop $(CONTAINERS); exit $$rc

# Push-to-first-200, redeploy and memory figures, median of 3 runs.
bench: deps build traefik minio containers
	NUA_BIN=$(CURDIR)/bin/nua NUA_TRAEFIK=$(CURDIR)/bin/traefik NUA_MINIO=$(CURDIR)/bin/minio NUA_E2E=require NUA_BENCH=1 $(ENGINE_ENV) \
		$(GO) test -count=1 -timeout 25m -run 'TestBench' -v ./cmd/nua/; \
		rc=$$?; internal/tools/containers.sh stop $(CONTAINERS); exit $$rc

# Short fuzz runs of every parser: counts of inputs (-fuzztime Nx), not
# wall-clock times, which the Go toolchain here ends with spurious "context
# deadline exceeded" errors. Each -fuzz pattern is anchored: it must match
# exactly one target.
fuzz:
	$(GO) test -run XXX -fuzz '^FuzzParseProcfile$$' -fuzztime 4000x ./procman/
	$(GO) test -run XXX -fuzz '^FuzzValid$$' -fuzztime 2000x ./internal/appname/
	$(GO) test -run XXX -fuzz '^FuzzOf$$' -fuzztime 2000x ./internal/excerpt/
	$(GO) test -run XXX -fuzz '^FuzzValidateAppName$$' -fuzztime 2000x .
	$(GO) test -run XXX -fuzz '^FuzzParseConfigVars$$' -fuzztime 2000x .
	$(GO) test -run XXX -fuzz '^FuzzParseAppJSON$$' -fuzztime 2000x .
	$(GO) test -run XXX -fuzz '^FuzzReadAppJSON$$' -fuzztime 2000x .
	$(GO) test -run XXX -fuzz '^FuzzParseScale$$' -fuzztime 2000x .
	$(GO) test -run XXX -fuzz '^FuzzAddNotification$$' -fuzztime 2000x .
	$(GO) test -run XXX -fuzz '^FuzzRedeem$$' -fuzztime 2000x ./web/
	$(GO) test -run XXX -fuzz '^FuzzReader$$' -fuzztime 500x ./backup/
	$(GO) test -run XXX -fuzz '^FuzzScaleArgs$$' -fuzztime 2000x .
	$(GO) test -run XXX -fuzz '^FuzzParseUpdates$$' -fuzztime 2000x ./receiver/
	$(GO) test -run XXX -fuzz '^FuzzRun$$' -fuzztime 2000x ./internal/commands/
	$(GO) test -run XXX -fuzz '^FuzzAddonArgs$$' -fuzztime 500x ./internal/commands/
	$(GO) test -run XXX -fuzz '^FuzzDomainsAdd$$' -fuzztime 2000x ./internal/commands/
	$(GO) test -run XXX -fuzz '^FuzzBackupTargetsAdd$$' -fuzztime 1000x ./internal/commands/
	$(GO) test -run XXX -fuzz '^FuzzParseFormation$$' -fuzztime 2000x ./internal/dev/
	$(GO) test -run XXX -fuzz '^FuzzParseEnv$$' -fuzztime 2000x ./internal/dev/
	$(GO) test -run XXX -fuzz '^FuzzParsePackage$$' -fuzztime 2000x ./toolchains/node/
	$(GO) test -run XXX -fuzz '^FuzzCheckRange$$' -fuzztime 2000x ./toolchains/node/
	$(GO) test -run XXX -fuzz '^FuzzReusable$$' -fuzztime 2000x ./toolchains/python/
	$(GO) test -run XXX -fuzz '^FuzzPins$$' -fuzztime 1000x ./toolchains/python/
	$(GO) test -run XXX -fuzz '^FuzzParseSources$$' -fuzztime 2000x ./buildpacks/
	$(GO) test -run XXX -fuzz '^FuzzParseRubyVersion$$' -fuzztime 2000x ./toolchains/ruby/
	$(GO) test -run XXX -fuzz '^FuzzParsePin$$' -fuzztime 2000x ./toolchains/rust/
	$(GO) test -run XXX -fuzz '^FuzzDemux$$' -fuzztime 2000x ./toolchains/docker/
	$(GO) test -run XXX -fuzz '^FuzzProcessTypes$$' -fuzztime 2000x ./toolchains/cnb/
	$(GO) test -run XXX -fuzz '^FuzzSSHDoor$$' -fuzztime 500x ./internal/commands/
	$(GO) test -run XXX -fuzz '^FuzzParseTokenTTL$$' -fuzztime 5000x .
	$(GO) test -run XXX -fuzz '^FuzzParseLimits$$' -fuzztime 5000x .
	$(GO) test -run XXX -fuzz '^FuzzCheckImageRef$$' -fuzztime 2000x ./buildpacks/
	$(GO) test -run XXX -fuzz '^FuzzCheckBuildpackLocator$$' -fuzztime 2000x ./toolchains/cnb/
	$(GO) test -run XXX -fuzz '^FuzzParse$$' -fuzztime 2000x ./internal/bytesize/
	$(GO) test -run XXX -fuzz '^FuzzAppJSONCheckScale$$' -fuzztime 2000x .
	$(GO) test -run XXX -fuzz '^FuzzUnpack$$' -fuzztime 3000x ./toolchains/internal/npmreg/
	$(GO) test -run XXX -fuzz '^FuzzParseGoMod$$' -fuzztime 3000x ./toolchains/golang/

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

# A local try on loopback: push to ssh://nua@127.0.0.1:2222/APP, browse
# http://APP.localhost:8080/. Add your key first (see README).
run: build traefik
	bin/nua --data $(DATA) server --ssh-addr $(SSH_ADDR) --http-addr $(HTTP_ADDR) --domain localhost --traefik bin/traefik

clean:
	rm -rf bin .nua .containers
