# Installing the library for out-of-tree programs: headers, libchopin.a, the chopin binary and
# a pkg-config file, so an application builds with
#     cc app.c $(pkg-config --cflags --libs --static chopin)
#
#   make install                     under PREFIX (default /usr/local)
#   make install DESTDIR=/tmp/stage  staged: files go to /tmp/stage/usr/local/...
#   make uninstall                   removes exactly what install put there
# PREFIX, BINDIR, LIBDIR, INCLUDEDIR and PKGCONFIGDIR can each be overridden.

PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL      ?= install

PUBLIC_HEADERS := $(sort $(wildcard include/chopin/*.h))

# Paths under the prefix are written relative to ${prefix} in chopin.pc, so
# `pkg-config --define-variable=prefix=...` can point at a staged (DESTDIR) tree.
pc_path = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
PC_REQUIRES     := $(filter-out libpq,$(PKGS))
PC_LIBS_PRIVATE := $(shell pkg-config --libs libpq 2>/dev/null || echo -lpq) -lpthread -lm

# Regenerated on every install: it holds PREFIX, which may differ from the last run's.
$(O)/chopin.pc: chopin.pc.in Makefile mk/install.mk FORCE
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(call pc_path,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(call pc_path,$(INCLUDEDIR))|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@REQUIRES@|$(PC_REQUIRES)|' \
	    -e 's|@LIBS_PRIVATE@|$(PC_LIBS_PRIVATE)|' $< > $@.tmp
	mv $@.tmp $@

install: $(O)/chopin $(O)/libchopin.a $(O)/chopin.pc
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/chopin \
	    $(DESTDIR)$(PKGCONFIGDIR)
	$(INSTALL) -m 755 $(O)/chopin $(DESTDIR)$(BINDIR)/chopin
	$(INSTALL) -m 644 $(O)/libchopin.a $(DESTDIR)$(LIBDIR)/libchopin.a
	$(INSTALL) -m 644 $(PUBLIC_HEADERS) $(DESTDIR)$(INCLUDEDIR)/chopin/
	$(INSTALL) -m 644 $(O)/chopin.pc $(DESTDIR)$(PKGCONFIGDIR)/chopin.pc

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/chopin $(DESTDIR)$(LIBDIR)/libchopin.a \
	    $(DESTDIR)$(PKGCONFIGDIR)/chopin.pc
	rm -rf $(DESTDIR)$(INCLUDEDIR)/chopin

.PHONY: install uninstall

FORCE:
