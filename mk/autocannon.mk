# autocannon, the load generator that stands in for bombardier beside wrk (bench/autocannon.sh,
# tests/integration/test_drain.py): pinned by tools/autocannon/package-lock.json and fetched with
# scripts/npm-ci.sh into build/tools/autocannon (shared by every build directory; nothing of it
# is committed). Unlike the docs UI, a failed fetch fails the target: what needs autocannon must
# not run without it. tests/run.sh and `make bench` build it; `make autocannon` fetches it alone.
AUTOCANNON_DIR := build/tools/autocannon
AUTOCANNON := $(AUTOCANNON_DIR)/node_modules/.bin/autocannon

# A stamp rather than the binary as the target: npm gives the files it unpacks a fixed old
# mtime, so the binary would always look older than the lock file.
$(AUTOCANNON_DIR)/fetched: tools/autocannon/package.json tools/autocannon/package-lock.json \
    scripts/npm-ci.sh
	@echo "  NPM     $(AUTOCANNON_DIR)"
	$(Q)rm -f $@
	$(Q)scripts/npm-ci.sh tools/autocannon $(AUTOCANNON_DIR)
	$(Q)$(AUTOCANNON) --version >/dev/null
	$(Q)touch $@

autocannon: $(AUTOCANNON_DIR)/fetched

.PHONY: autocannon
