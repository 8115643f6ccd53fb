# mcs-harness — developer entry points. `make test` is what CI runs.
CARGO ?= cargo

.PHONY: test fmt-check clippy unit bench build

build:
	$(CARGO) build --release --bin mcs-harness

fmt-check:
	$(CARGO) fmt --all -- --check

# --all-features: the k3s provider (feature `k3s`) is compiled, linted and unit-tested too;
# its Docker test reports ignored with the reason where no daemon answers (shown as SKIP
# with the reason during the run; the last line stays the summary).
clippy:
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

# All tests of every crate; nextest prints the closing summary line.
unit:
	$(CARGO) nextest run --workspace --all-features --no-fail-fast --status-level skip

test: fmt-check clippy unit

# Benchmarks: numbers go to the README's Performance section.
bench:
	$(CARGO) run --release -p mcs-sim --example api_bench
	$(CARGO) run --release -p mcs-sim --example fleet_bench
	$(CARGO) run --release --example importer_bench
	$(CARGO) run --release --example engine_bench
	$(CARGO) run --release --example suite_bench
