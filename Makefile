# sn27: build, run and test. `make run` and `make test` work on a fresh
# Debian 12 machine as root with Go installed.
GO      ?= go
BIN     := bin/sn27
GOFLAGS := -trimpath
export CGO_ENABLED := 0
# sn27 version: git describe of this checkout unless VERSION= is given.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
# The commit's time, not the build's: the same tree builds the same binary.
DATE    ?= $(shell git log -1 --format=%cI 2>/dev/null)
LDFLAGS := -X github.com/sn27/sn27/internal/buildinfo.Version=$(VERSION) \
	-X github.com/sn27/sn27/internal/buildinfo.Commit=$(COMMIT) \
	-X github.com/sn27/sn27/internal/buildinfo.Date=$(DATE)
PREFIX  ?= /usr/local

.PHONY: all build static run demo deps-run test test-short deps fuzz bench generate vet clean fresh-check

all: build

build:
	$(GO) build $(GOFLAGS) -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/sn27

# Puts the binary on the PATH ($(PREFIX)/bin/sn27), so the commands sn27
# prints (the devnet's, the README's) run as printed.
.PHONY: install
install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/sn27
	@echo "installed $(DESTDIR)$(PREFIX)/bin/sn27: $$($(DESTDIR)$(PREFIX)/bin/sn27 version | head -1)"

# A fully static binary without the OpenCL solver (purego needs the C loader).
static:
	$(GO) build $(GOFLAGS) -ldflags "$(LDFLAGS)" -tags noopencl -o $(BIN) ./cmd/sn27

# The main job: a whole SN27 network on this machine (dev chain, validator,
# miners) with its dashboard on http://127.0.0.1:8080/.
run: build
	./$(BIN) devnet

# A challenge created and solved natively and with hashcat, with hash rates.
demo: deps-run build
	./$(BIN) demo

deps-run:
	@command -v hashcat >/dev/null 2>&1 || { [ "$$(id -u)" -eq 0 ] && \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends hashcat pocl-opencl-icd >/dev/null; } || \
		echo "hashcat not installed: the demo uses the native solver only"

# Everything: installs what the tests need, then every test, including the
# ones that run hashcat and Python.
test: deps vet
	$(GO) test -count=1 -timeout 20m ./...

# Quick: pure Go tests only (no hashcat, Python, Docker or chain).
test-short:
	$(GO) test -short -count=1 ./...

deps:
	@./scripts/test-deps.sh
	@$(GO) run ./cmd/sn27 miner image build >/dev/null

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

# The README's set-up on a clean Debian 12 container built from our own
# debootstrap rootfs: `make deps` and a smoke (sn27 demo, one hashcat and one
# Python test); FULL=1 runs all of `make test` there. Then the Docker tests
# against a throwaway dockerd on its first start, in a network namespace of
# its own (scripts/fresh-dockerd.sh). Run it before resolving anything that
# touches set-up.
FULL ?= 0
fresh-check:
	FRESH_FULL=$(FULL) ./scripts/fresh-check.sh

# Only the Docker tests on a throwaway dockerd's first start (about 6 min on
# 2 cores; PKGS=./internal/docker/... about 2 min; RUN=regexp is go test's
# -run, with $$ for $).
.PHONY: fresh-dockerd-check
fresh-dockerd-check:
	FRESH_DOCKERD_ONLY=1 $(if $(PKGS),FRESH_DOCKERD_PKGS="$(PKGS)") $(if $(RUN),FRESH_DOCKERD_RUN="$(RUN)") ./scripts/fresh-check.sh

# A release into dist/$(VERSION): for linux/amd64 and linux/arm64 the binary,
# a tarball and a .deb (tools/release: nfpm), manifest.json for sn27 update,
# SHA256SUMS, and minisign signatures of both (RELEASE_KEY=secret key file;
# without it a development key outside the tree, loudly). From a clean tree,
# reproducibly (file times from the commit). arm64 is type-checked here,
# tests included (go vet), and built; it is not run on this machine.
.PHONY: release
release:
	@case "$(VERSION)" in v[0-9]*.[0-9]*.[0-9]*) ;; *) echo "make release VERSION=vX.Y.Z (got $(VERSION))"; exit 2;; esac
	GOARCH=arm64 $(GO) vet ./...
	$(GO) run ./tools/release -version $(VERSION) -out dist/$(VERSION)

# The release as operators get it, on a clean Debian 12 (run by make
# fresh-check; alone once fresh-check has built its image): the .deb
# installs, units verify, the devnet runs from it, a signed update applies
# over HTTP and rolls back, a tampered one is refused, purge keeps state.
.PHONY: deb-check
deb-check:
	./scripts/deb-check.sh

# What scripts/gpu-check.sh needs on a bare NVIDIA machine: bin/sn27 and,
# in .gpu-debs/, hashcat and the OpenCL ICD loader as Debian packages (carry
# bin and .gpu-debs to the GPU machine; see docs/proof-of-gpu.md).
.PHONY: gpu-check-prep
gpu-check-prep: build
	@mkdir -p .gpu-debs && cd .gpu-debs && apt-get download hashcat hashcat-data ocl-icd-libopencl1 libminizip1 libxxhash0 >/dev/null && ls -l

# Fuzz each target for FUZZTIME (default 1m).
FUZZTIME ?= 1m
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

bench: build
	$(GO) test -run '^$$' -bench . ./internal/pow
	./$(BIN) bench --solver both --seconds 10

generate:
	$(GO) generate ./...

clean:
	rm -rf bin

# ---- container image (packaging/docker) ----
# The validator/API image from a release tarball, built here FROM scratch
# with nothing pulled (packaging/docker/README.md): make image
# TARBALL=dist/v1.2.3/sn27_1.2.3_linux_amd64.tar.gz [TAG=sn27:1.2.3]; the
# tarball's arch must be this machine's (the C loader and libc are this
# host's). Without TAG: sn27:<version> and sn27:latest.
.PHONY: image
image:
	@test -n "$(TARBALL)" || { echo "make image TARBALL=dist/vX.Y.Z/sn27_X.Y.Z_linux_$$($(GO) env GOARCH).tar.gz [TAG=sn27:X.Y.Z] (make release VERSION=vX.Y.Z first)"; exit 2; }
	./packaging/docker/build.sh "$(TARBALL)" $(TAG)
