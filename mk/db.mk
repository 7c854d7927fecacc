# The database layer's tests and load test.
#   make db-test        build/db-tests: SQLite, and PostgreSQL (a throwaway cluster is started
#                       with tests/db/pg-test-cluster.sh unless CHOPIN_PG_URL names one)
#   make db-test-asan   the same under ASan+UBSan; leaks count as failures
#   make db-bench       build/db-bench: the driver alone against pgbench (tests/db/bench.sh)
DB_TEST_SRC := $(filter-out tests/db/bench.c,$(wildcard tests/db/*.c))
# The fixture is the chopin binary's TechEmpower schema (app/techempower_schema.c).
DB_TEST_OBJ := $(DB_TEST_SRC:%.c=$(O)/obj/%.o) $(O)/obj/tests/unit/harness.o \
               $(O)/obj/app/techempower_schema.o

$(O)/obj/tests/db/%.o: CPPFLAGS += -Itests/unit -Itests/db -Iapp

$(O)/db-tests: $(DB_TEST_OBJ) $(O)/libchopin.a
	$(CC) $(CFLAGS) $(LDOPT) -o $@ $(DB_TEST_OBJ) $(O)/libchopin.a $(LDLIBS)

$(O)/db-bench: $(O)/obj/tests/db/bench.o $(O)/obj/tests/db/fixture.o \
                $(O)/obj/app/techempower_schema.o $(O)/libchopin.a
	$(CC) $(CFLAGS) $(LDOPT) -o $@ $(filter %.o,$^) $(O)/libchopin.a $(LDLIBS)

db-test: $(O)/db-tests
	./$(O)/db-tests

db-test-asan:
	$(MAKE) O=build/debug SAN=1 build/debug/db-tests
	./build/debug/db-tests

db-bench: $(O)/db-bench
	tests/db/bench.sh ./$(O)/db-bench

.PHONY: db-test db-test-asan db-bench

-include $(DB_TEST_OBJ:.o=.d) $(O)/obj/tests/db/bench.d

# The app tests/integration/test_migrations.py starts: public API only, like a user's.
$(O)/db-test-app: tests/db/apps/migrate_app.c $(O)/libchopin.a
	$(CC) -Iinclude $(CFLAGS) $(LDOPT) -o $@ $< $(O)/libchopin.a $(LDLIBS)
