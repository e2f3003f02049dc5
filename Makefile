# The two set-up commands (README.md): `make demo` and `make test`. Each installs what it needs.
SWIFT     ?= swift
CONFIG    ?= release
BIN        = $(shell $(SWIFT) build -c $(CONFIG) --show-bin-path 2>/dev/null)
DEMO_DIR   = examples/hello/build

.PHONY: all deps build demo test bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build -c $(CONFIG) --product dgmo-stub
	$(SWIFT) build -c $(CONFIG) --product bundle-append

## Builds the example bundle (a static C program and a shell script), signs it and runs it.
demo: build
	@mkdir -p $(DEMO_DIR)/native
	gcc -static -O2 -o $(DEMO_DIR)/native/hello examples/hello/hello.c
	@test -f $(DEMO_DIR)/demo.key || $(BIN)/bundle-append keygen $(DEMO_DIR)/demo
	$(BIN)/bundle-append build examples/hello/hello.toml -o $(DEMO_DIR)/hello --key $(DEMO_DIR)/demo.key
	$(BIN)/bundle-append verify $(DEMO_DIR)/hello --pubkey $(DEMO_DIR)/demo.pub
	HELLO_CACHE_DIR=$(CURDIR)/$(DEMO_DIR)/cache $(DEMO_DIR)/hello "first run" "ünïcödé"
	HELLO_CACHE_DIR=$(CURDIR)/$(DEMO_DIR)/cache HELLO_ENTRY=greet $(DEMO_DIR)/hello you
	HELLO_CACHE_DIR=$(CURDIR)/$(DEMO_DIR)/cache $(DEMO_DIR)/hello --launcher info

## Builds everything in debug (tests use the debug stub and tool) and runs every test.
test: deps
	$(SWIFT) build
	$(SWIFT) test --disable-swift-testing

bench: build
	scripts/bench.sh

clean:
	rm -rf .build $(DEMO_DIR)
