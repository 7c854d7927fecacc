# The browsable API docs' UI (chopin/docs.h): swagger-ui-dist, pinned by
# tools/docs-ui/package-lock.json, fetched with `npm ci` (scripts/npm-ci.sh) at build time into
# build/docs-ui (shared by every build directory; nothing of it is committed) and assembled into
# libchopin.a by src/framework/docs_ui.S. Without npm the build still succeeds with an empty UI.
#   make docs-ui    fetch it again (e.g. after a failed fetch)
DOCS_UI_DIR := build/docs-ui
DOCS_UI_OUT := $(DOCS_UI_DIR)/out

$(DOCS_UI_OUT)/built: tools/docs-ui/package.json tools/docs-ui/package-lock.json scripts/docs-ui.sh \
    scripts/npm-ci.sh
	@echo "  NPM     $(DOCS_UI_DIR)"
	$(Q)scripts/docs-ui.sh $(DOCS_UI_DIR)

$(O)/obj/src/framework/docs_ui.o: src/framework/docs_ui.S $(DOCS_UI_OUT)/built
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $<")
	$(Q)$(CC) -DCH_DOCS_UI_JS='"$(CURDIR)/$(DOCS_UI_OUT)/swagger-ui-bundle.js"' \
	    -DCH_DOCS_UI_CSS='"$(CURDIR)/$(DOCS_UI_OUT)/swagger-ui.css"' \
	    -DCH_DOCS_UI_LICENSE='"$(CURDIR)/$(DOCS_UI_OUT)/LICENSE.txt"' -c $< -o $@

$(O)/libchopin.a: $(O)/obj/src/framework/docs_ui.o

docs-ui:
	rm -rf $(DOCS_UI_DIR)
	$(MAKE) $(DOCS_UI_OUT)/built

.PHONY: docs-ui
