# make bench: the side-by-side HTTP benchmark of build/chopin against nginx
# (bench/http.sh; knobs such as QUICK=1, RUNS=5 or CHOPIN_BIN=bench/stand-in.sh
# go on the command line or in the environment), then bench/autocannon.sh and
# bench/https.sh. About 22 minutes of full load on both cores, so it is never
# part of `make test`.
bench:
	@scripts/deps.sh bench
	$(MAKE) all
	BENCH_BUILD="$(strip $(if $(PERF),PERF=$(PERF)) $(if $(NATIVE),NATIVE=$(NATIVE)))" \
	    CHOPIN_BIN="$${CHOPIN_BIN:-$(O)/chopin}" bench/http.sh
	@# autocannon rows, standing in for issue 12's bombardier (bench/autocannon.sh, ~5 minutes):
	@# SKIP_AUTOCANNON=1 leaves them out.
	@if [ "$${SKIP_AUTOCANNON:-0}" != 1 ]; then $(MAKE) -s autocannon && \
	    CHOPIN_BIN="$${CHOPIN_BIN:-$(O)/chopin}" bench/autocannon.sh; fi
	@# HTTPS rows (bench/https.sh, ~5 minutes): SKIP_HTTPS=1 leaves them out.
	@if [ "$${SKIP_HTTPS:-0}" != 1 ]; then CHOPIN_BIN="$${CHOPIN_BIN:-$(O)/chopin}" bench/https.sh; fi

.PHONY: bench

# make bench-db: the TechEmpower database tests over HTTP on PostgreSQL, with pgbench running
# the same SELECT at the same connection count as the ceiling (bench/db.sh). Starts its own
# throwaway cluster unless CHOPIN_PG_URL names a database.
bench-db:
	@scripts/deps.sh bench bench-db
	$(MAKE) all
	CHOPIN_BIN="$${CHOPIN_BIN:-$(O)/chopin}" bench/db.sh

.PHONY: bench-db

# make bench-tls-instructions: user-space instructions per HTTPS connection (full and resumed
# handshake + one GET), chopin against nginx, under callgrind (bench/tls_instructions.sh):
# repeatable on a busy machine, where the handshake rates of bench/https.sh are not.
bench-tls-instructions:
	@scripts/deps.sh bench
	$(MAKE) all
	CHOPIN_BIN="$${CHOPIN_BIN:-$(O)/chopin}" bench/tls_instructions.sh

.PHONY: bench-tls-instructions
