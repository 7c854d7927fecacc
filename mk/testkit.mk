# The test client's own suite (tests/testkit/): the framework driven through chopin/testing.h,
# built like an application's tests on the public headers and libchopin.a.
#   make testkit-test
TESTKIT_SRC := $(wildcard tests/testkit/*.c)

$(O)/testkit-tests: $(TESTKIT_SRC) $(O)/obj/tests/unit/harness.o $(O)/libchopin.a
	$(CC) -Iinclude -Itests/unit -D_GNU_SOURCE $(CFLAGS) $(LDOPT) -o $@ $(TESTKIT_SRC) \
	    $(O)/obj/tests/unit/harness.o $(O)/libchopin.a $(LDLIBS)

testkit-test: $(O)/testkit-tests
	./$(O)/testkit-tests

.PHONY: testkit-test

examples: $(O)/examples/testing_example
