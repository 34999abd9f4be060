# lbdns — build, demo, tests, benchmarks. `make test` is what CI runs (.ci/run); it installs
# what it needs (Go modules, and Debian packages for the peer-server tests) by itself.
GO        ?= go
BIN       := bin/lbdns
PKGS      := ./...
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
FUZZTIME  ?= 20s
DEBS      := knot dnsperf dnsutils nsd bind9 gdnsd

.PHONY: build run test deps bench fuzz lint geoip demo-geoip clean

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/lbdns

# The demo: zones/ with zones/demo.yaml on 127.0.0.1:5353, API on :8053, metrics on :9153.
# It needs no network: the GeoIP database is generated locally (geoip/demo-city.mmdb).
run: build demo-geoip
	$(BIN) demo --config zones/demo.yaml --log-format console

demo-geoip: geoip/demo-city.mmdb
geoip/demo-city.mmdb:
	$(GO) run ./pkg/geo/geotest/gen -out $@

# Debian packages the tests use as real peers (Knot for the differential test, NSD/BIND for
# transfers, dnsperf for make bench). Installed only when missing.
deps:
	@missing=""; \
	for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	$(GO) mod download

test: deps
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 15m $(PKGS)

bench: build deps
	./testdata/bench/bench.sh

fuzz:
	./testdata/fuzz.sh $(FUZZTIME)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

geoip:
	./geoip/fetch.sh

clean:
	rm -rf bin
