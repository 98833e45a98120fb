# mbpo: two commands set everything up on a fresh Debian 12 machine.
#   make run    installs what is missing, then runs the main job on a small default
#   make test   installs what is missing, then runs vet and the tests
SHELL := /bin/bash
GO    ?= go
BIN   := bin/mbpo

.PHONY: all deps build test run bench

all: build

deps:
	@./scripts/deps.sh

build: deps
	$(GO) build -o $(BIN) ./cmd/mbpo

test: deps
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -race -run 'Pool' ./env/...

run: build
	./$(BIN) bench env --env Hopper-v4 --num-envs 16 --steps 20000

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...

.PHONY: kernels device-bundle

# kernels rebuilds the committed PTX from the CUDA C++ sources with clang
# (no CUDA toolkit); commit the result. A test fails while it is stale.
kernels:
	kernels/build.sh kernels/ptx $(wildcard kernels/*.cu)
	kernels/build.sh gpu/testdata gpu/testdata/axpy.cu

# device-bundle gathers into device-bundle/ what a GPU machine runs with no Go
# and no toolkit: run there `bash device-bundle/run.sh` (logs under $$OUT).
device-bundle: deps
	GO=$(GO) scripts/device/bundle.sh device-bundle
