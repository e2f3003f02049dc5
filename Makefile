# The two set-up commands (README.md): `make demo` and `make test`. Each installs what it needs.
SWIFT     ?= swift
CONFIG    ?= release
BIN        = $(shell $(SWIFT) build -c $(CONFIG) --show-bin-path 2>/dev/null)
DEBUG_BIN  = $(shell $(SWIFT) build --show-bin-path 2>/dev/null)
DEMO_DIR   = examples/hello/build
# The DGMO target: linux-x64 (default), linux-arm64 (cross-built here, engine built under qemu) or
# windows-x64 (cross-built here, run under wine 10).
TARGET    ?= linux-x64
DGMO       = dist/dgmo-$(TARGET)$(if $(filter windows-x64,$(TARGET)),.exe)
# The DGMO binaries the tests run: dev builds (fast zstd) with the debug stubs and tools.
TEST_DGMO  = .build-dgmo/test/dgmo-linux-x64
TEST_DGMO_ARM64 = .build-dgmo/test/dgmo-linux-arm64
TEST_DGMO_WINDOWS = .build-dgmo/test/dgmo-windows-x64.exe
# The Embedded Swift launcher stub per target (scripts/build-stub.sh), release and debug, beside the
# tools that look for it there. Rebuilt only when a file it is compiled from changed.
# The launcher's Swift modules are listed once, in Stub/modules (scripts/build-stub.sh reads it too).
LAUNCHER_MODULES = $(shell sed -e 's/\#.*//' -e 's/ .*//' Stub/modules)
STUB_SOURCES = $(wildcard Stub/*.swift $(foreach m,$(LAUNCHER_MODULES),Sources/$(m)/*.swift) \
                 Sources/CPlatform/*.c Sources/CPlatform/include/* Sources/CKeySlot/*.c Sources/CKeySlot/include/* \
                 Sources/CZstd/* Sources/CLZMA/* Sources/CZlib/* Sources/CSodium/* Sources/CInflate/* \
                 Sources/CInflate/include/* Stub/Link/*.c) \
               Stub/modules scripts/build-stub.sh scripts/lib/zig-toolchain.sh packaging/zig/requirements.txt
STUB       = $(BIN)/stubs/linux-x64/bundle-stub
DEBUG_STUB = $(DEBUG_BIN)/stubs/linux-x64/bundle-stub
ARM64_STUB       = $(BIN)/stubs/linux-arm64/bundle-stub
DEBUG_ARM64_STUB = $(DEBUG_BIN)/stubs/linux-arm64/bundle-stub
WINDOWS_STUB       = $(BIN)/stubs/windows-x64/bundle-stub.exe
DEBUG_WINDOWS_STUB = $(DEBUG_BIN)/stubs/windows-x64/bundle-stub.exe

.PHONY: all deps build stubs stubs-arm64 stubs-windows wine dgmo demo hello hello-windows check test bench release reproducible install-test clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build -c $(CONFIG) --product bundle-append
	$(SWIFT) build -c $(CONFIG) --product dgmo-build
	$(MAKE) --no-print-directory stubs

## The launcher stubs: release (for bundles you ship) and debug (with failure injection, for the tests).
stubs: $(STUB) $(DEBUG_STUB)

$(STUB): $(STUB_SOURCES)
	scripts/build-stub.sh --target linux-x64 -o $@

$(DEBUG_STUB): $(STUB_SOURCES)
	scripts/build-stub.sh --target linux-x64 --debug -o $@

## The linux-arm64 stubs, cross-built here (scripts/lib/arm64-toolchain.sh installs what is missing).
stubs-arm64: $(ARM64_STUB) $(DEBUG_ARM64_STUB)

$(ARM64_STUB): $(STUB_SOURCES) scripts/lib/arm64-toolchain.sh
	scripts/build-stub.sh --target linux-arm64 -o $@

$(DEBUG_ARM64_STUB): $(STUB_SOURCES) scripts/lib/arm64-toolchain.sh
	scripts/build-stub.sh --target linux-arm64 --debug -o $@

## The windows-x64 stubs (PE), cross-built here with the pinned zig against the Windows C libraries
## scripts/lib/windows-clibs.sh builds.
stubs-windows: $(WINDOWS_STUB) $(DEBUG_WINDOWS_STUB)

$(WINDOWS_STUB): $(STUB_SOURCES) scripts/lib/windows-clibs.sh
	scripts/build-stub.sh --target windows-x64 -o $@

$(DEBUG_WINDOWS_STUB): $(STUB_SOURCES) scripts/lib/windows-clibs.sh
	scripts/build-stub.sh --target windows-x64 --debug -o $@

## wine 10 in .build-dgmo/wine, never system-wide (scripts/lib/wine-toolchain.sh; does nothing when
## it is there): the Windows tests run the windows-x64 bundles under it.
wine:
	@bash -c '. scripts/lib/wine-toolchain.sh && wine_toolchain'

## Builds dist/dgmo-linux-x64 from examples/dgmo (release compression), then runs it: the main job.
## TARGET=linux-arm64 builds dist/dgmo-linux-arm64 and runs it under qemu (binfmt_misc registered meanwhile).
## TARGET=windows-x64 builds dist/dgmo-windows-x64.exe and runs it under wine 10 (installed into .build-dgmo/wine).
demo: dgmo
ifeq ($(TARGET),windows-x64)
	@$(MAKE) --no-print-directory wine
	@bash -c '. scripts/lib/wine-toolchain.sh && wine_toolchain && \
	  export DGMO_CACHE_DIR="Z:$(subst /,\\,$(CURDIR)/.build-dgmo/demo-cache-windows)" && \
	  echo "\$$ $(DGMO) --version" && "$$WINE" $(DGMO) --version </dev/null && \
	  echo "\$$ $(DGMO) evolve --seed 1 --generations 3" && "$$WINE" $(DGMO) evolve --seed 1 --generations 3 </dev/null'
else ifeq ($(TARGET),linux-arm64)
	@bash scripts/lib/qemu-binfmt.sh register $$$$ && \
	  echo '$$ $(DGMO) --version' && DGMO_CACHE_DIR=$(CURDIR)/.build-dgmo/demo-cache-arm64 $(DGMO) --version && \
	  echo '$$ $(DGMO) evolve --seed 1 --generations 3' && \
	  DGMO_CACHE_DIR=$(CURDIR)/.build-dgmo/demo-cache-arm64 $(DGMO) evolve --seed 1 --generations 3; \
	  status=$$?; bash scripts/lib/qemu-binfmt.sh unregister $$$$; exit $$status
else
	@echo '$$ $(DGMO) --version'
	@DGMO_CACHE_DIR=$(CURDIR)/.build-dgmo/demo-cache $(DGMO) --version
	@echo '$$ $(DGMO) evolve --seed 1 --generations 3'
	@DGMO_CACHE_DIR=$(CURDIR)/.build-dgmo/demo-cache $(DGMO) evolve --seed 1 --generations 3
endif

ifeq ($(TARGET),windows-x64)
dgmo: build $(WINDOWS_STUB)
	$(BIN)/dgmo-build --release --target windows-x64 --stub $(WINDOWS_STUB) -o $(DGMO) $(if $(DGMO_RELEASE_KEY),--key $(DGMO_RELEASE_KEY))
else ifeq ($(TARGET),linux-arm64)
dgmo: build stubs-arm64
	$(BIN)/dgmo-build --release --target linux-arm64 --stub $(ARM64_STUB) -o $(DGMO) $(if $(DGMO_RELEASE_KEY),--key $(DGMO_RELEASE_KEY))
else
dgmo: build
	$(BIN)/dgmo-build --release --stub $(STUB) -o $(DGMO) $(if $(DGMO_RELEASE_KEY),--key $(DGMO_RELEASE_KEY))
endif

## Every release artifact (archives, .deb, .rpm, SBOM, checksums, signatures) of linux-x64 and
## linux-arm64, and windows-x64's exe, zip and NSIS setup.exe (docs/release.md), in dist/release, with a table.
## DGMO_RELEASE_KEY=path/to/minisign.key signs with a real key (default: the development key).
## DGMO_ARM64=prebuilt takes the dist/dgmo-linux-arm64 already there (the workflow's arm64 job built it);
## DGMO_WINDOWS=prebuilt likewise dist/dgmo-windows-x64.exe (the windows job's, maybe Authenticode-signed).
## bundle-append's own archive for linux-x64 (static, with the stubs of all three targets: scripts/tool-archive.sh)
## is made too; BUNDLE_APPEND_ARM64=prebuilt adds linux-arm64's from dist/bundle-append-linux-arm64 (the
## workflow's arm64 job built it: no arm64 Swift toolchain here).
release: dgmo $(ARM64_STUB) $(WINDOWS_STUB)
	@scripts/install-deps.sh --release
	$(if $(filter prebuilt,$(DGMO_ARM64)),test -x dist/dgmo-linux-arm64,$(MAKE) --no-print-directory dgmo TARGET=linux-arm64)
	$(if $(filter prebuilt,$(DGMO_WINDOWS)),test -f dist/dgmo-windows-x64.exe,$(MAKE) --no-print-directory dgmo TARGET=windows-x64)
	scripts/tool-archive.sh build dist/bundle-append-linux-x64
	BIN=$(BIN) SRC_ARM64=dist/dgmo-linux-arm64 SRC_WINDOWS=dist/dgmo-windows-x64.exe TOOL_X64=dist/bundle-append-linux-x64 \
	  $(if $(filter prebuilt,$(BUNDLE_APPEND_ARM64)),TOOL_ARM64=dist/bundle-append-linux-arm64) scripts/release.sh

## Builds everything twice from scratch, as two plain `make release` runs would, and compares the bytes
## (both targets).
reproducible: build stubs-arm64
	@scripts/install-deps.sh --release
	BIN=$(BIN) scripts/reproducibility-test.sh

## Installs dist/release's .deb and .rpm into fresh roots (arm64 ones: under qemu) and runs dgmo there (needs root).
install-test:
	scripts/install-test.sh dist/release

## The small example bundle (a static C program and a shell script), signed and run.
hello: build
	@mkdir -p $(DEMO_DIR)/native
	gcc -static -O2 -o $(DEMO_DIR)/native/hello examples/hello/hello.c
	@test -f $(DEMO_DIR)/demo.key || $(BIN)/bundle-append keygen $(DEMO_DIR)/demo
	$(BIN)/bundle-append build examples/hello/hello.toml -o $(DEMO_DIR)/hello --key $(DEMO_DIR)/demo.key
	$(BIN)/bundle-append verify $(DEMO_DIR)/hello --pubkey $(DEMO_DIR)/demo.pub
	HELLO_LAUNCHER_CACHE_DIR=$(CURDIR)/$(DEMO_DIR)/cache $(DEMO_DIR)/hello "first run" "ünïcödé"
	HELLO_LAUNCHER_CACHE_DIR=$(CURDIR)/$(DEMO_DIR)/cache HELLO_LAUNCHER_ENTRY=greet $(DEMO_DIR)/hello you
	HELLO_LAUNCHER_CACHE_DIR=$(CURDIR)/$(DEMO_DIR)/cache $(DEMO_DIR)/hello --launcher info

## The same example for windows-x64: the C program as a PE (pinned zig), the bundle hello.exe with the
## release windows-x64 stub, verified here and run under wine 10 (installed into .build-dgmo/wine).
hello-windows: build $(WINDOWS_STUB) wine
	@mkdir -p $(DEMO_DIR)/windows-native
	@bash -c '. scripts/lib/zig-toolchain.sh && zig_toolchain && $$ZIG_CC -target x86_64-windows-gnu -municode -O2 -s \
	  -o $(DEMO_DIR)/windows-native/hello.exe examples/hello/hello.c' && rm -f $(DEMO_DIR)/windows-native/hello.pdb
	@test -f $(DEMO_DIR)/demo.key || $(BIN)/bundle-append keygen $(DEMO_DIR)/demo
	$(BIN)/bundle-append build examples/hello/hello-windows.toml -o $(DEMO_DIR)/hello.exe --key $(DEMO_DIR)/demo.key --target windows-x64
	$(BIN)/bundle-append verify $(DEMO_DIR)/hello.exe --pubkey $(DEMO_DIR)/demo.pub
	@bash -c '. scripts/lib/wine-toolchain.sh && wine_toolchain && cd $(DEMO_DIR) && \
	  HELLO_LAUNCHER_CACHE_DIR="Z:$(subst /,\\,$(CURDIR)/$(DEMO_DIR)/windows-cache)" "$$WINE" hello.exe "first run" "ünïcödé" </dev/null && \
	  HELLO_LAUNCHER_CACHE_DIR="Z:$(subst /,\\,$(CURDIR)/$(DEMO_DIR)/windows-cache)" "$$WINE" hello.exe --launcher info </dev/null'

# Test classes (and single tests, Class/test) `make check` leaves to `make test`: they need the
# DGMO binary, change the machine (users, mounts, chroots, binfmt_misc), write hundreds of MiB, run scrypt or
# take over 30 s each on a loaded 2-core machine.
SLOW_TESTS = FreshMachineTests ToolReleaseTests DGMOTests DGMOArm64Tests DGMOWindowsTests WindowsInstallerTests SignalTests GlibcFloorTests OldSystemTests ReleaseTests ReleaseLintTests Arm64Tests \
             MultiUserCacheTests ReliabilityTests FirstRunNoticeTests \
             HostileManifestTests/testLargestFileTableInBoundedMemory \
             ToolTests/testProgressBarOnlyOnATerminal ToolTests/testPasswordProtectedMinisignKeyBuilds \
             ToolTests/testLargeAndOddTreesRoundTripThroughTheLauncher WindowsTests \
             CacheRobustnessTests/testTreesDeeperThanTheDescriptorLimitAndPathsLongerThanPATH_MAX \
             MinisignTests/testPasswordProtectedMinisignKey
# The end-to-end classes `make test` runs a second time against the release stubs (no failure
# injection there, so not the cache-robustness classes).
RELEASE_STUB_TESTS = LaunchTests|TamperTests|OpsTests|NoProcTests|HostileManifestTests|Arm64Tests
SKIP_SLOW  = $(foreach t,$(SLOW_TESTS),--skip '\.$(t)(/|$$)')
# The long classes `make test` runs after the check tier and the fresh-machine test.
ONLY_LONG  = $(foreach t,$(filter-out FreshMachineTests,$(SLOW_TESTS)),--filter '\.$(t)(/|$$)')
# Our own targets are compiled with warnings as errors in both tiers (Package.swift reads this;
# dependencies are not affected).
STRICT     = DGMO_WARNINGS_AS_ERRORS=1

## The edit-test loop (budget: 3 minutes on 2 cores): unit tests, the fast end-to-end tests, the platform
## layer compiled for linux-x64, linux-arm64 and macOS x86_64/arm64, the format lint.
check: deps
	$(STRICT) $(SWIFT) build
	$(MAKE) --no-print-directory $(DEBUG_STUB)
	$(STRICT) $(SWIFT) test --disable-swift-testing $(SKIP_SLOW)
	scripts/platform-compile-check.sh
	scripts/format.sh --lint

## Builds everything in debug and a dev DGMO binary (tests use the debug stubs and tools), then runs every
## test, among them the DGMO (x64, and arm64 under qemu), release (reproducibility and install), kill, mount, arm64
## (qemu) and windows-x64 (wine) tests. In three steps, so a broken set-up fails in minutes: the check tier, then the
## fresh-machine test (`make demo` from a fresh clone in a clean root: scripts/fresh-machine-test.sh), then the long
## classes.
test: deps
	@scripts/install-deps.sh --release
	$(STRICT) $(SWIFT) build
	$(MAKE) --no-print-directory $(DEBUG_STUB)
	@echo "1/4 the check tier: unit tests, the fast end-to-end tests, the platform layer for linux and macOS"
	$(STRICT) $(SWIFT) test --disable-swift-testing $(SKIP_SLOW)
	scripts/platform-compile-check.sh
	@echo "2/4 a fresh machine: the README's first command from a fresh clone in a clean Debian root"
	$(STRICT) $(SWIFT) test --disable-swift-testing --filter '\.FreshMachineTests(/|$$)'
	$(MAKE) --no-print-directory wine
	@echo "the platform layer under wine: platform_windows.c's probe and the spawn hand-off's argument table"
	@bash -c '. scripts/lib/wine-toolchain.sh && wine_toolchain && scripts/platform-compile-check.sh'
	$(MAKE) --no-print-directory $(DEBUG_ARM64_STUB) $(DEBUG_WINDOWS_STUB)
	$(DEBUG_BIN)/dgmo-build --stub $(DEBUG_STUB) -o $(TEST_DGMO)
	$(DEBUG_BIN)/dgmo-build --target linux-arm64 --stub $(DEBUG_ARM64_STUB) -o $(TEST_DGMO_ARM64)
	$(DEBUG_BIN)/dgmo-build --target windows-x64 --stub $(DEBUG_WINDOWS_STUB) -o $(TEST_DGMO_WINDOWS)
	@echo "DGMO's Go components: their tests on linux and, under wine, on windows (scripts/go-tests.sh)"
	scripts/go-tests.sh
	@echo "docs/recipes.md's Python recipe, followed literally with the debug bundle-append (scripts/recipe-python-test.sh)"
	BUNDLE_APPEND=$(DEBUG_BIN)/bundle-append BUNDLE_APPEND_STUB=$(DEBUG_STUB) scripts/recipe-python-test.sh
	@echo "3/4 the long classes: DGMO (x64, arm64 under qemu, windows-x64 under wine), release, kill, mount, multi-user, old systems, windows-x64 (wine)"
	DGMO_TEST_BINARY=$(CURDIR)/$(TEST_DGMO) DGMO_TEST_ARM64_BINARY=$(CURDIR)/$(TEST_DGMO_ARM64) \
	  DGMO_TEST_WINDOWS_BINARY=$(CURDIR)/$(TEST_DGMO_WINDOWS) $(STRICT) $(SWIFT) test \
	  --disable-swift-testing $(ONLY_LONG)
	@echo "4/4 again against the release stubs (what ships: -Osize on x64, -O on arm64), a subset:"
	$(MAKE) --no-print-directory $(STUB) $(ARM64_STUB)
	BUNDLE_TEST_STUB=$(STUB) DGMO_TEST_ARM64_STUB=$(ARM64_STUB) $(STRICT) $(SWIFT) test --disable-swift-testing \
	  --filter '$(RELEASE_STUB_TESTS)'

bench: build
	scripts/bench.sh

clean:
	rm -rf .build .build-dgmo dist $(DEMO_DIR)
