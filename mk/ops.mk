# Operations (issue 12): the scale-out suite and the metrics overhead benchmark.
#
#   make test-cluster    3 chopin instances behind HAProxy on one PostgreSQL (tests/cluster/):
#                        notes and auth state shared across instances, kill -9 under load,
#                        rolling restart under load; also part of `make test`
#   make bench-metrics   /json in standard mode with METRICS=off and on, same sitting
#                        (bench/metrics.sh; knobs there). Not for a busy machine.

test-cluster: all
	@scripts/deps.sh test
	@tests/run.sh cluster

bench-metrics: all
	@bench/metrics.sh

.PHONY: test-cluster bench-metrics
