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
