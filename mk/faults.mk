# Load and fault tests (tests/faults/): slowloris, slow bodies and readers, descriptor floods,
# 10,000 idle connections, resets under ASan, and a soak (SOAK_SECONDS, default 60); then
# resets, slow clients and floods again over HTTPS (CHOPIN_TEST_TLS=1).
# `make test` runs them too (SKIP_FAULTS=1 skips them there).
#
#   make test-faults
#   make test-faults SOAK_SECONDS=600      the release checklist's 10-minute soak

test-faults:
	@scripts/deps.sh test
	@SOAK_SECONDS=$(or $(SOAK_SECONDS),60) tests/run.sh faults

.PHONY: test-faults
