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

.PHONY: all build deps traefik containers test unit e2e bench lint fuzz run clean

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

# The unit tests and the end-to-end tests, which push
# with the real git and ssh clients to a real nua server behind a real Traefik.
test: deps build traefik containers
	$(GO) vet ./...
	NUA_BIN=$(CURDIR)/bin/nua NUA_TRAEFIK=$(CURDIR)/bin/traefik NUA_E2E=require $(ENGINE_ENV) \
		$(GO) test -count=1 -timeout 25m -parallel 4 ./...; \
		rc=$$?; internal/tools/containers.sh stop $(CONTAINERS); exit $$rc

unit:
	$(GO) test -race -count=1 -short ./...

e2e: deps build traefik containers
	NUA_BIN=$(CURDIR)/bin/nua NUA_TRAEFIK=$(CURDIR)/bin/traefik NUA_E2E=require $(ENGINE_ENV) \
		$(GO) test -count=1 -timeout 25m -run 'E2E' -v ./cmd/nua/; \
		rc=$$?; internal/tools/containers.sh stop $(CONTAINERS); exit $$rc

# Push-to-first-200, redeploy and memory figures, median of 3 runs.
bench: deps build traefik containers
	NUA_BIN=$(CURDIR)/bin/nua NUA_TRAEFIK=$(CURDIR)/bin/traefik NUA_E2E=require NUA_BENCH=1 $(ENGINE_ENV) \
		$(GO) test -count=1 -timeout 25m -run 'TestBench' -v ./cmd/nua/; \
		rc=$$?; internal/tools/containers.sh stop $(CONTAINERS); exit $$rc

# Short fuzz runs of every parser.
fuzz:
	$(GO) test -run XXX -fuzz FuzzParseProcfile -fuzztime 20s ./procman/
	$(GO) test -run XXX -fuzz FuzzValidateAppName -fuzztime 10s .
	$(GO) test -run XXX -fuzz FuzzParseConfigVars -fuzztime 10s .
	$(GO) test -run XXX -fuzz FuzzParseUpdates -fuzztime 10s ./receiver/
	$(GO) test -run XXX -fuzz FuzzRun -fuzztime 10s ./internal/commands/
	$(GO) test -run XXX -fuzz FuzzSSHDoor -fuzztime 500x ./internal/commands/
	$(GO) test -run XXX -fuzz FuzzParseTokenTTL -fuzztime 5000x .
	$(GO) test -run XXX -fuzz FuzzParseFormation -fuzztime 10s ./internal/dev/
	$(GO) test -run XXX -fuzz FuzzParseEnv -fuzztime 10s ./internal/dev/
	$(GO) test -run XXX -fuzz FuzzParsePackage -fuzztime 10s ./toolchains/node/
	$(GO) test -run XXX -fuzz FuzzCheckRange -fuzztime 10s ./toolchains/node/
	$(GO) test -run XXX -fuzz FuzzReusable -fuzztime 10s ./toolchains/python/
	$(GO) test -run XXX -fuzz FuzzPins -fuzztime 5s ./toolchains/python/
	$(GO) test -run XXX -fuzz FuzzParseSources -fuzztime 10s ./buildpacks/
	$(GO) test -run XXX -fuzz FuzzParseRubyVersion -fuzztime 10s ./toolchains/ruby/
	$(GO) test -run XXX -fuzz FuzzParsePin -fuzztime 10s ./toolchains/rust/
	$(GO) test -run XXX -fuzz FuzzDemux -fuzztime 10s ./toolchains/docker/
	$(GO) test -run XXX -fuzz FuzzProcessTypes -fuzztime 10s ./toolchains/cnb/

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

# A local try on loopback: push to ssh://nua@127.0.0.1:2222/APP, browse
# http://APP.localhost:8080/. Add your key first (see README).
run: build traefik
	bin/nua --data $(DATA) server --ssh-addr $(SSH_ADDR) --http-addr $(HTTP_ADDR) --domain localhost --traefik bin/traefik

clean:
	rm -rf bin .nua .containers
