# aeauth: PGXS build.  `make && make install`, then `make installcheck` against a running server.
# The whole suite on a throwaway cluster: scripts/test.sh (see README.md).

EXTENSION   = aeauth
# One source of truth for the version: aeauth.control.  C gets it as AEAUTH_VERSION.
EXTVERSION  = $(shell sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big  = aeauth
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
AEAUTH_HEADERS = $(wildcard src/*.h)

# A fresh install runs aeauth--1.0.sql and then every upgrade script in order (as pg_cron does),
# so the upgrade chain is exercised on every install and a fresh install equals an upgraded one.
DATA        = $(sort $(wildcard sql/aeauth--*.sql))

# pg_regress: inputs in test/sql, expected output in expected/ (found there first, see BUILD-NOTES).
REGRESS      = $(sort $(basename $(notdir $(wildcard test/sql/*.sql))))
REGRESS_OPTS = --inputdir=test

PG_CONFIG  ?= pg_config
WERROR     ?= -Werror
PG_CFLAGS  += -std=gnu11 -Wall -Wextra $(WERROR) -Wno-unused-parameter -Wno-missing-field-initializers
PG_CPPFLAGS += -DAEAUTH_VERSION=\"$(EXTVERSION)\"
AEAUTH_LIBS = -lsodium -lcrypt
SHLIB_LINK += $(AEAUTH_LIBS)
# `bash scripts/test.sh --sanitize` builds with SANITIZE='-fsanitize=undefined ...' and
# `--sanitize=address` with SANITIZE='-fsanitize=address,undefined ...' (from the environment),
# starting the server with libasan and test/asan/swift_demangle_stub.c preloaded; see README
# "Sanitizers and valgrind".
SANITIZE   ?=
PG_CFLAGS  += $(SANITIZE)
SHLIB_LINK += $(SANITIZE)

# PGXS compiles LLVM bitcode with clang when the server was built with JIT support, and
# `make install` rebuilds it.  aeauth's hot paths are SPI calls, not expressions JIT could
# inline, so the bitcode buys nothing and only makes the build depend on clang: turn it off
# here (an environment variable would be ignored; `override` beats Makefile.global).
override with_llvm = no

# The password helper (src/hasher/, README "aeauth.hash_helper"): a program of its own, built
# with the library and installed beside it in pkglibdir; its source is outside src/*.c.
HASHER      = src/hasher/aeauth_hasher
HASHER_CFLAGS = -std=gnu11 -O2 -g -Wall -Wextra $(WERROR) -D_GNU_SOURCE -fPIE -fstack-protector-strong \
              -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
HASHER_LDFLAGS = -pie -Wl,-z,relro,-z,now

EXTRA_CLEAN = results regression.diffs regression.out $(HASHER)

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(OBJS): $(AEAUTH_HEADERS)
src/hasher.o: src/hasher/protocol.h

all: $(HASHER)
$(HASHER): src/hasher/aeauth_hasher.c src/hasher/protocol.h
	$(CC) $(HASHER_CFLAGS) $(HASHER_LDFLAGS) -o $@ $< -lsodium

install: install-hasher
uninstall: uninstall-hasher
.PHONY: install-hasher uninstall-hasher
install-hasher: $(HASHER)
	$(MKDIR_P) '$(DESTDIR)$(pkglibdir)'
	$(INSTALL_PROGRAM) $(HASHER) '$(DESTDIR)$(pkglibdir)/aeauth_hasher'
uninstall-hasher:
	rm -f '$(DESTDIR)$(pkglibdir)/aeauth_hasher'

.PHONY: test demo bench
test:
	bash scripts/test.sh
demo:
	bash scripts/demo.sh
# The performance report (not part of CI): builds, installs, own cluster, one table.
# BENCH_SCALE=small for a quick run; see bench/README.md.
bench:
	PG_CONFIG="$(PG_CONFIG)" bash bench/run.sh
