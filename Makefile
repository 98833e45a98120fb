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

# test-slurm runs the job array of mbpo sweep --emit slurm on a real one-node
# Slurm that it starts here and stops (Debian's slurm-wlm and munge, installed
# if missing; root only): scripts/test-slurm.sh. About 2 minutes on 2 cores.
.PHONY: test-slurm
test-slurm: build
	MBPO=$(BIN) scripts/test-slurm.sh

# A short MBPO run that visibly learns in a couple of minutes on 2 cores:
# InvertedPendulum-v4 with small networks reaches the maximum return of 1000.
run: build
	./$(BIN) train --env InvertedPendulum-v4 --steps 5500 \
		--hidden 64 --model-hidden 64 --rollout-batch 5000 --model-max-epochs 20 --eval-episodes 5

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...

# bench-peers runs the PyTorch peers on the CPU (Debian's python3-torch,
# installed if missing) beside the same benchmarks of the CPU engine, SAC
# updates and Hopper rollouts with 1 thread each, and prints the ratios
# (scripts/bench_peers.sh; PEER_THREADS and the sizes are settable there).
.PHONY: bench-peers
bench-peers: build
	MBPO=$(BIN) scripts/bench_peers.sh

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
