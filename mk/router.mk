# Router micro-benchmark: ns per match with 10 and with 1,000 routes, built with the release
# flags like everything else under $(O).
#   make bench-router

$(O)/bench/router/bench_router: bench/router/bench_router.c $(O)/libchopin.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDOPT) -o $@ $< $(O)/libchopin.a $(LDLIBS)

bench-router: $(O)/bench/router/bench_router
	./$<

.PHONY: bench-router
