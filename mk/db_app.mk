# build/db-app: the test application for answering requests from queries and database errors
# as envelopes (tests/apps/db_app.c, used by tests/integration/test_db_respond.py).
$(O)/db-app: tests/apps/db_app.c $(O)/libchopin.a
	$(CC) -Iinclude $(CFLAGS) $(LDOPT) -o $@ $< $(O)/libchopin.a $(LDLIBS)
