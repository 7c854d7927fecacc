# Fuzzing. Every fuzz/*.c except replay_main.c is a driver: a file defining
# LLVMFuzzerTestOneInput() over public or module APIs. fuzz/fuzz.h is force-included, so a
# driver needs no boilerplate.
#
#   make fuzz                        each driver for FUZZ_TIME seconds (60) under libFuzzer with
#                                    ASan+UBSan (clang); seeds from fuzz/corpus/<driver>/ and
#                                    fuzz/regression/<driver>/, the dictionary fuzz/<driver>.dict
#                                    or else fuzz/http.dict; findings land in
#                                    fuzz/regression/<driver>/. Fails if any driver found one.
#   make fuzz FUZZ_DRIVERS=chunked FUZZ_TIME=600 FUZZ_FLAGS=-max_len=8192
#   make O=build/debug SAN=1 fuzz-replay
#                                    every corpus and regression input through every driver,
#                                    without libFuzzer (gcc, ASan+UBSan): what `make test` runs.

FUZZ_TIME    ?= 60
FUZZ_FLAGS   ?=
FUZZ_ALL     := $(sort $(basename $(notdir $(filter-out fuzz/replay_main.c,$(wildcard fuzz/*.c)))))
FUZZ_DRIVERS ?= $(FUZZ_ALL)
FUZZ_INPUTS  := $(sort $(wildcard fuzz/corpus/*/ fuzz/regression/*/))

ifeq ($(SAN),fuzz)
  # Coverage instrumentation in the library too, so libFuzzer sees inside the parsers.
  OPT   := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
           -fno-sanitize-recover=undefined
  LDOPT := -fsanitize=fuzzer,address,undefined
  STRIP :=
endif

FUZZ_INCLUDE := -include fuzz/fuzz.h

$(O)/fuzzers/%: fuzz/%.c fuzz/fuzz.h $(O)/libchopin.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(FUZZ_INCLUDE) $(LDOPT) -o $@ $< $(O)/libchopin.a $(LDLIBS)

$(O)/fuzz-replay/%: fuzz/%.c fuzz/replay_main.c fuzz/fuzz.h $(O)/libchopin.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(FUZZ_INCLUDE) $(LDOPT) -o $@ $< fuzz/replay_main.c \
	    $(O)/libchopin.a $(LDLIBS)

fuzz-bins: $(FUZZ_DRIVERS:%=$(O)/fuzzers/%)

fuzz-replay-bins: $(FUZZ_ALL:%=$(O)/fuzz-replay/%)

fuzz:
	@scripts/deps.sh fuzz
	$(MAKE) O=build/fuzz SAN=fuzz CC=clang AR=ar FUZZ_DRIVERS="$(FUZZ_DRIVERS)" fuzz-bins
	@FUZZ_TIME=$(FUZZ_TIME) FUZZ_FLAGS="$(FUZZ_FLAGS)" scripts/fuzz.sh build/fuzz $(FUZZ_DRIVERS)

# One "fuzz-replay: N passed, N failed" line per driver.
fuzz-replay: fuzz-replay-bins
	@rc=0; for d in $(FUZZ_ALL); do echo "-- $$d"; \
	    $(O)/fuzz-replay/$$d $(FUZZ_INPUTS) || rc=1; done; exit $$rc

.PHONY: fuzz fuzz-bins fuzz-replay fuzz-replay-bins
