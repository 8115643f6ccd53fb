# mcs-harness — developer entry points. `make test` is what CI runs.
CARGO ?= cargo

.PHONY: test fmt-check clippy unit bench build

build:
	$(CARGO) build --release --bin mcs-harness

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# All tests of every crate; nextest prints the closing summary line.
unit:
	$(CARGO) nextest run --workspace --no-fail-fast

test: fmt-check clippy unit

# Benchmarks: numbers go to the README's Performance section.
bench:
	$(CARGO) run --release -p mcs-sim --example api_bench
	$(CARGO) run --release -p mcs-sim --example fleet_bench
	$(CARGO) run --release --example importer_bench
	$(CARGO) run --release --example engine_bench
