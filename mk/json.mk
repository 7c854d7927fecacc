# JSON module: table generation and the comparison benchmark.
#   make json-tables   regenerate src/json/pow10.c with tools/gen_json_pow10.c
#   make bench-json    parse/write throughput against cJSON and jansson (Debian packages)

$(O)/tools/gen_json_pow10: tools/gen_json_pow10.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -std=c11 $(WARN) -o $@ $<

json-tables: $(O)/tools/gen_json_pow10
	$(O)/tools/gen_json_pow10 > src/json/pow10.c.tmp
	mv src/json/pow10.c.tmp src/json/pow10.c

.PHONY: json-tables

BENCH_JSON_PKGS := libcjson jansson
BENCH_JSON_SRC  := $(wildcard bench/json/*.c)

$(O)/bench/json: $(BENCH_JSON_SRC) bench/json/bench.h $(O)/libchopin.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $$(pkg-config --cflags $(BENCH_JSON_PKGS)) $(LDOPT) -o $@ \
	    $(BENCH_JSON_SRC) $(O)/libchopin.a $$(pkg-config --libs $(BENCH_JSON_PKGS)) $(LDLIBS)

# deps.sh first: the benchmark links Debian's libcjson-dev and libjansson-dev.
bench-json:
	@scripts/deps.sh bench-json
	$(MAKE) --no-print-directory $(O)/bench/json
	./$(O)/bench/json

.PHONY: bench-json
