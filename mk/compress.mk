# Compression and security-header middleware: the test app and tool the integration tests
# use, and the compression micro-benchmark.
#   make bench-compress   CPU ns per KiB for gzip and Brotli at the default levels

$(O)/mw-app: tests/apps/mw_app.c $(O)/libchopin.a
	$(CC) -Iinclude $(CFLAGS) $(LDOPT) -o $@ $< $(O)/libchopin.a $(LDLIBS)

# Decodes Brotli for tests/integration/test_compress.py (no python3 brotli module needed).
$(O)/brotli-decode: tests/tools/brotli_decode.c
	$(CC) $(CFLAGS) $(LDOPT) -o $@ $< $$(pkg-config --libs libbrotlidec)

$(O)/bench/compress: bench/compress/bench_compress.c $(O)/libchopin.a
	@mkdir -p $(dir $@)
	$(CC) -Iinclude $(CFLAGS) $(LDOPT) -o $@ $< $(O)/libchopin.a $(LDLIBS)

bench-compress: $(O)/bench/compress
	./$(O)/bench/compress

.PHONY: bench-compress
