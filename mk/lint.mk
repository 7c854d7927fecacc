# Static analysis: cppcheck over the library, the app, the fuzz drivers and the unit tests.
# Clean is the rule: a finding is fixed, or suppressed in mk/cppcheck.supp (or inline with
# `// cppcheck-suppress id`) with the reason. Takes a couple of seconds; make test runs it.
#
#   make lint

LINT_DIRS := $(wildcard src app fuzz tests/unit examples)
CPPCHECK_FLAGS := -q -j2 --std=c11 --enable=warning,style,performance,portability \
    --inline-suppr --suppressions-list=mk/cppcheck.supp --error-exitcode=1 \
    -D_GNU_SOURCE -DCH_VERSION='"lint"' -Iinclude -Isrc \
    --template='{file}:{line}: {severity}: {message} [{id}]'

lint:
	@scripts/deps.sh lint
	cppcheck $(CPPCHECK_FLAGS) $(LINT_DIRS)

.PHONY: lint
