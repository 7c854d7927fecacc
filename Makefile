# Chopin build. `make` builds build/chopin and build/libchopin.a (release: -O3, LTO, stripped).
#   make PERF=1     link mimalloc as the allocator
#   make NATIVE=1   add -march=native
#   make debug      ASan + UBSan build under build/debug/
#   make run        install missing Debian packages, build, start the server
#   make test       unit + integration tests, release and sanitizer builds
.DEFAULT_GOAL := all

O        ?= build
CC       ?= cc
AR       := gcc-ar
PKGS     := sqlite3 libpq openssl zlib libbrotlienc libargon2
VERSION  := 0.1.0

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla \
            -Wpointer-arith -Wformat=2 -Wno-format-nonliteral
CPPFLAGS += -Iinclude -Isrc -D_GNU_SOURCE -DCH_VERSION='"$(VERSION)"' \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

ifeq ($(SAN),1)
  OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDOPT   := -fsanitize=address,undefined
  CPPFLAGS +=
else ifeq ($(SAN),thread)
  OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=thread
  LDOPT   := -fsanitize=thread
else
  # Fat LTO objects: libchopin.a carries machine code next to GCC's LTO bytecode, so it also
  # links with clang or without -flto (an installed archive); the chopin binary still links
  # with LTO. clang has no such flag (its LTO objects are bitcode only).
  OPT     := -O3 -flto=auto -fno-plt -DNDEBUG $(if $(findstring clang,$(CC)),,-ffat-lto-objects)
  LDOPT   := -flto=auto -O3
  STRIP   := -s
endif
ifeq ($(NATIVE),1)
  OPT += -march=native
endif
ifeq ($(PERF),1)
  # Debian's libmimalloc-dev ships no pkg-config file. It is linked first and kept even
  # though nothing names it (--as-needed would drop it): its malloc then replaces glibc's.
  LDLIBS := -Wl,--no-as-needed -lmimalloc -Wl,--as-needed $(LDLIBS)
endif
ifeq ($(WERROR),1)
  WARN += -Werror
endif
CFLAGS   ?= $(OPT) -std=c11 $(WARN) -MMD -MP

LIB_SRC  := $(wildcard src/util/*.c src/core/*.c src/http/*.c src/framework/*.c \
            src/framework/*/*.c src/json/*.c src/db/*.c src/auth/*.c \
            src/tls/*.c)
APP_SRC  := $(wildcard app/*.c)
UNIT_SRC := $(wildcard tests/unit/*.c tests/unit/*/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(O)/obj/%.o)
APP_OBJ  := $(APP_SRC:%.c=$(O)/obj/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(O)/obj/%.o)

all: $(O)/chopin $(O)/libchopin.a

# V=1 shows the full commands.
ifneq ($(V),1)
  Q := @
endif

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# The chopin binary's own code sees only the public headers, as any application does.
$(APP_OBJ): CPPFLAGS := -Iinclude -D_GNU_SOURCE -DCH_VERSION='"$(VERSION)"'

$(O)/libchopin.a: $(LIB_OBJ)
	@rm -f $@
	@$(if $(Q),echo "  AR      $@")
	$(Q)$(AR) rcs $@ $^

$(O)/chopin: $(APP_OBJ) $(O)/libchopin.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDOPT) $(STRIP) -o $@ $(APP_OBJ) $(O)/libchopin.a $(LDLIBS)

$(O)/unit-tests: $(UNIT_OBJ) $(O)/libchopin.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDOPT) -o $@ $(UNIT_OBJ) $(O)/libchopin.a $(LDLIBS)

# Programs built on the public library only (-Iinclude, libchopin.a): what a user does.
$(O)/examples/%: examples/%.c $(O)/libchopin.a
	@mkdir -p $(dir $@)
	$(CC) -Iinclude $(CFLAGS) $(LDOPT) -o $@ $< $(O)/libchopin.a $(LDLIBS)

$(O)/test-app: tests/apps/test_app.c $(O)/libchopin.a
	$(CC) -Iinclude $(CFLAGS) $(LDOPT) -o $@ $< $(O)/libchopin.a $(LDLIBS)

examples: $(O)/examples/hello $(O)/examples/notes $(O)/examples/db_hello

debug:
	$(MAKE) O=build/debug SAN=1 build/debug/chopin build/debug/libchopin.a

deps:
	@scripts/deps.sh build

run: deps
	$(MAKE) all
	./$(O)/chopin

test:
	@scripts/deps.sh test lint
	@tests/run.sh

unit: $(O)/unit-tests
	./$(O)/unit-tests

$(O)/unit-tests: | $(O)/libchopin.a

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

.PHONY: all debug deps run test unit format clean examples

# Feature makefiles (benchmarks, fuzzing) add their own targets here.
include $(sort $(wildcard mk/*.mk))

-include $(LIB_OBJ:.o=.d) $(APP_OBJ:.o=.d) $(UNIT_OBJ:.o=.d)
