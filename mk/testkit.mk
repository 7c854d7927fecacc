# The test client's own suite (tests/testkit/): the framework driven through chopin/testing.h,
# built like an application's tests on the public headers and libchopin.a.
#   make testkit-test
TESTKIT_SRC := $(wildcard tests/testkit/*.c)

$(O)/testkit-tests: $(TESTKIT_SRC) $(O)/obj/tests/unit/harness.o $(O)/libchopin.a
	$(CC) -Iinclude -Itests/unit -D_GNU_SOURCE $(CFLAGS) $(LDOPT) -o $@ $(TESTKIT_SRC) \
	    $(O)/obj/tests/unit/harness.o $(O)/libchopin.a $(LDLIBS)

# The docs page of a library built without npm: the UI assembled from empty files.
$(O)/obj/tests/testkit/docs_ui_empty.o: src/framework/docs_ui.S
	@mkdir -p $(dir $@) $(O)/testkit-empty-ui
	@: >$(O)/testkit-empty-ui/empty
	$(CC) -DCH_DOCS_UI_JS='"$(CURDIR)/$(O)/testkit-empty-ui/empty"' \
	    -DCH_DOCS_UI_CSS='"$(CURDIR)/$(O)/testkit-empty-ui/empty"' \
	    -DCH_DOCS_UI_LICENSE='"$(CURDIR)/$(O)/testkit-empty-ui/empty"' -c $< -o $@

$(O)/testkit-docs-fallback: tests/testkit/fallback/docs_fallback.c \
    $(O)/obj/tests/testkit/docs_ui_empty.o $(O)/obj/tests/unit/harness.o $(O)/libchopin.a
	$(CC) -Iinclude -Itests/unit -D_GNU_SOURCE $(CFLAGS) $(LDOPT) -o $@ $(filter-out %.a,$^) \
	    $(O)/libchopin.a $(LDLIBS)

testkit-test: $(O)/testkit-tests $(O)/testkit-docs-fallback
	./$(O)/testkit-tests
	./$(O)/testkit-docs-fallback

.PHONY: testkit-test

examples: $(O)/examples/testing_example
