# printgate — `make run` starts the demo gateway, `make test` runs the whole suite.
GO        ?= go
BIN       := bin/printgate
FUZZTIME  ?= 15s
E2E_TIMEOUT ?= 12m
# Most end-to-end tests wait on peers (print commands that sleep pages/ppm, ipptool polls),
# not on the CPU: three at a time on the 2-core CI machine.
E2E_PARALLEL ?= 3

.PHONY: run build test unit e2e fuzz vet layout peers bench clean

build:
	$(GO) build -o $(BIN) ./cmd/printgate

# The demo: spool in ./data, virtual printer "letters" on 127.0.0.1:8631 feeding two file printers
# (data/out/demo-a at 30 ppm, data/out/demo-b at 60 ppm).
run: build
	./$(BIN) serve

# Everything CI runs: install the real peers, vet, the layout check, unit tests (race), peer and
# end-to-end tests, and short fuzz runs.
test: peers vet layout unit e2e fuzz

peers:
	bash scripts/install-peers.sh

vet:
	$(GO) vet -tags 'peers e2e' ./...

# The package layout of docs/ARCHITECTURE.md: no database below queue, none in queue.
layout:
	bash scripts/check-layout.sh

unit:
	$(GO) test -race -tags peers -timeout 10m ./...

e2e: build
	$(GO) test -tags e2e -timeout $(E2E_TIMEOUT) -parallel $(E2E_PARALLEL) -count=1 ./e2e/...

fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

bench: build
	$(GO) test -tags e2e -run '^$$' -bench . -timeout 60m ./...

clean:
	rm -rf bin data
