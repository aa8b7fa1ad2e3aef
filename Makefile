# credit-node: two commands on a fresh Debian 12 machine.
#   make demo   install what is missing, build, run the sample node with data
#   make test   install what is missing, build, run every test
BUILD ?= build
JOBS ?= 2
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

# Everything comes from Debian 12 (see ../shared/design/TOOLCHAIN.md).
DEPS := cmake ninja-build ccache g++ file \
        libboost1.81-dev libboost-json1.81-dev liblmdb-dev libmbedtls-dev \
        libtomlplusplus-dev doctest-dev openssl

# Only for `make bench`: the TLS yardstick and its load generator.
BENCH_DEPS := nginx-light wrk curl python3

# Only for `make package`: rpmbuild (Debian's rpm package) for the .rpm.
PKG_DEPS := rpm

.PHONY: all deps bench-deps install-missing build test test-all demo bench clean package package-test

all: build

# Idempotent and quiet when everything is there: asks dpkg, installs only
# what is missing.
deps:
	@$(MAKE) --no-print-directory install-missing PKGS="$(DEPS)"

bench-deps:
	@$(MAKE) --no-print-directory install-missing PKGS="$(BENCH_DEPS)"

install-missing:
	@missing=""; for p in $(PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# The default test run: unit and integration tests, not the slow label.
test: build
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure --label-exclude slow

test-all: build
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure

package: build
	@$(MAKE) --no-print-directory install-missing PKGS="$(PKG_DEPS)"
	cd $(BUILD) && cpack -G "DEB;RPM" > cpack.log && ls -1 credit-node*.deb credit-node*.rpm

# Installs the .deb on this machine, runs the installed binary, checks the
# .rpm's files, then removes and purges the .deb (CI does this).
package-test: package
	packaging/test-package.sh $(BUILD)

demo: build
	$(BUILD)/credit-node demo --dir $(BUILD)/demo --once

bench: build bench-deps
	$(BUILD)/bench/bench_ingest --records 1000000 --dir $(BUILD)/bench-ingest --order random
	$(BUILD)/bench/bench_ingest --records 1000000 --dir $(BUILD)/bench-ingest --order sorted
	bench/tls.sh $(BUILD) 10
	$(BUILD)/bench/bench_sync --dir $(BUILD)/bench-sync
	bench/api.sh $(BUILD) 10

clean:
	rm -rf $(BUILD)
