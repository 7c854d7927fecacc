# The auth module's HTTP test application (tests/integration/test_auth.py runs it).
$(O)/auth-test-app: tests/apps/auth_app.c $(O)/libchopin.a
	$(CC) -Iinclude $(CFLAGS) $(LDOPT) -o $@ $< $(O)/libchopin.a $(LDLIBS)
