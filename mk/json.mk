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
