# The two commands a newcomer needs: `make run` and `make test`.
GO        ?= go
FUZZTIME  ?= 4s
PKGS      := ./...
BIN       := bin/issuer
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/sealedtoken/issuer/internal/cli.Version=$(VERSION)
# make run LISTEN=127.0.0.1:9443 (or ISSUER_LISTEN in the environment) moves the dev server.
LISTEN    ?=

.PHONY: run test unit race fuzz fuzz-long bench lint build clean

## run: the dev server on embedded defaults (TLS, key rings and a demo client created on the fly); LISTEN=host:port moves it
run: build
	./$(BIN) serve $(if $(LISTEN),--listen $(LISTEN))

## test: everything — lint, unit + conformance + interop + browser + end-to-end under the race detector, brief fuzzing
test: lint race fuzz

race:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

unit:
	$(GO) test -count=1 $(PKGS)

## fuzz: every fuzz target briefly (FUZZTIME each, default 4s)
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz.sh

fuzz-long:
	FUZZTIME=60s GO=$(GO) scripts/fuzz.sh

## bench: the SPEC §8 benchmarks (crypto vs go-jose, endpoint, load vs bare fasthttp)
bench:
	scripts/bench.sh

## lint: gofmt, go vet, and the one-way dependency rules of SPEC §2
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	scripts/depcheck.sh

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/issuer

clean:
	rm -rf bin .issuer-dev
