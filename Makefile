# alloctop: `make` builds ./alloctop; `make run` and `make test` also install what is missing.
CC       ?= cc
CLANG    ?= clang
BPFTOOL  ?= bpftool
O        := build
ARCH     := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

CFLAGS   ?= -O2 -g
CFLAGS   += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -Iinclude -iquote user -I$(O) -MMD -MP
LDLIBS   := -pthread -lcapstone -lbpf -ldw -lelf -lz -ljson-c -lncursesw -ltinfo -liberty -lprotobuf-c -lmicrohttpd -lm
BPFFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Iinclude -I$(O) -MMD -MP

BPF_SRC  := $(wildcard bpf/*.bpf.c)
BPF_OBJ  := $(patsubst bpf/%.bpf.c,$(O)/bpf/%.bpf.o,$(BPF_SRC))
# user/ has one folder per layer (README: Architecture); main.c is the program's alone.
LIB_SRC  := $(filter-out user/app/main.c,$(wildcard user/*/*.c))
LIB_OBJ  := $(patsubst user/%.c,$(O)/user/%.o,$(LIB_SRC)) $(O)/pprof/profile.pb-c.o
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRC))
WORK_SRC := $(wildcard tests/workloads/*.c)
WORK_BIN := $(patsubst tests/workloads/%.c,$(O)/work/%,$(WORK_SRC)) \
            $(patsubst tests/workloads/%.c,$(O)/work/%-nofp,$(WORK_SRC))
TOOL_BIN := $(O)/demo $(O)/bench-pairs $(O)/cfi-stat $(O)/bench-switch
# Stack workloads (tests/stacks, for tests/integration/test_stacks.py): C with an inlined
# allocation path (plain; stripped + .gnu_debuglink; stripped + build-id; static, for a
# chroot), C++, Rust (default and v0 mangling).
STACK_C  := $(O)/stacks/inl $(O)/stacks/inl-dl $(O)/stacks/inl-bid $(O)/stacks/inl-bid.debug \
            $(O)/stacks/inl-static $(O)/stacks/inl-static.debug $(O)/stacks/cxx
STACK_RS := $(O)/stacks/rust_alloc $(O)/stacks/rust_alloc-v0
UNWIND_WL := $(foreach l,c cxx,$(foreach f,fp nofp,$(O)/unwind/uw-$(l)-$(f) $(O)/unwind/libuwmid-$(l)-$(f).so)) \
             $(O)/unwind/libuwdl-c-nofp.so
RUSTC    ?= $(or $(shell command -v rustc 2>/dev/null),$(wildcard $(HOME)/.cargo/bin/rustc),rustc)
CARGO    ?= $(or $(shell command -v cargo 2>/dev/null),$(wildcard $(HOME)/.cargo/bin/cargo),cargo)
FRAG_BIN := $(patsubst tests/frag/%.c,$(O)/frag/%,$(wildcard tests/frag/*.c))
ALLOC_BIN := $(O)/allocators/mix $(O)/allocators/mix-static $(O)/allocators/cxx
FAM_BIN := $(addprefix $(O)/families/,jemalloc rjem rjem-static mimalloc tcmalloc cxx-jemalloc cxx-tcmalloc \
	cxx-mimalloc unknown stripped-static tcmalloc-static jemalloc-static) $(O)/rust/strategies \
	$(O)/rust/rjem_alloc $(O)/rust/mi_alloc
BENCH_BIN := $(O)/bench/floor $(O)/bench/functime $(O)/bench/live $(O)/bench/cpumon

.PHONY: all deps run test test-unit test-integration bench bench-server clean stacks
all: alloctop $(UNIT_BIN) $(WORK_BIN) $(TOOL_BIN) $(FRAG_BIN) $(ALLOC_BIN) $(FAM_BIN) $(BENCH_BIN)

deps:
	@bash tools/install-deps.sh

$(O)/vmlinux.h:
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(O)/bpf/%.bpf.o: bpf/%.bpf.c $(O)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPFFLAGS) -c $< -o $@

$(O)/alloctop.bpf.o: $(BPF_OBJ)
	$(BPFTOOL) gen object $@ $^

$(O)/alloctop.skel.h: $(O)/alloctop.bpf.o
	$(BPFTOOL) gen skeleton $< name alloctop_bpf > $@.tmp && mv $@.tmp $@

# The site reader (user/kernel/sitereader.c): its own object, run on demand, never attached.
$(O)/reader/%.bpf.o: bpf/reader/%.bpf.c $(O)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPFFLAGS) -c $< -o $@
$(O)/sites_read.skel.h: $(O)/reader/sites_read.bpf.o
	$(BPFTOOL) gen skeleton $< name sites_read_bpf > $@.tmp && mv $@.tmp $@

# The cost model's calibration programs (user/kernel/probecost.c): their own object too.
$(O)/calib/%.bpf.o: bpf/calib/%.bpf.c $(O)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPFFLAGS) -c $< -o $@
$(O)/calib.skel.h: $(O)/calib/calib.bpf.o
	$(BPFTOOL) gen skeleton $< name calib_bpf > $@.tmp && mv $@.tmp $@

# The skeletons must exist before any user object that includes one is compiled.
$(O)/user/%.o: user/%.c | $(O)/alloctop.skel.h $(O)/sites_read.skel.h $(O)/calib.skel.h $(O)/pprof/profile.pb-c.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

# pprof's profile.proto to C with protoc-c, for the pprof writer (report_pprof.c).
$(O)/pprof/profile.pb-c.c $(O)/pprof/profile.pb-c.h &: user/report/pprof/profile.proto
	@mkdir -p $(O)/pprof
	protoc-c --c_out=$(O)/pprof --proto_path=user/report/pprof $<
$(O)/pprof/profile.pb-c.o: $(O)/pprof/profile.pb-c.c $(O)/pprof/profile.pb-c.h
	$(CC) $(CFLAGS) -I$(O)/pprof -c $< -o $@
$(O)/user/report/report_pprof.o $(O)/user/model/run.o: $(O)/pprof/profile.pb-c.h

# rebuilt whole: a member of a moved or removed source must not linger
$(O)/liballoctop.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

alloctop: $(O)/user/app/main.o $(O)/liballoctop.a
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(O)/tests/%: tests/unit/%.c tests/unit/unit.h $(O)/liballoctop.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/unit $< $(O)/liballoctop.a $(LDLIBS) -o $@

# Workloads: one build with frame pointers, one -O2 without them.
$(O)/work/%: tests/workloads/%.c tests/workloads/wl.h
	@mkdir -p $(@D)
	$(CC) -O1 -g -fno-omit-frame-pointer -fno-inline -pthread -Wall $< -o $@ -ldl
$(O)/work/%-nofp: tests/workloads/%.c tests/workloads/wl.h
	@mkdir -p $(@D)
	$(CC) -O2 -g -fomit-frame-pointer -pthread -Wall $< -o $@ -ldl

# For tests/unit/test_cfi.c: a program whose own functions have no unwind tables, only
# .debug_frame (-g), which must fill in what .eh_frame lacks. Built by gcc
# in every build (the sanitizer build uses clang), as the readelf comparison expects.
$(O)/cfi/nounwind: tests/workloads/deep.c tests/workloads/wl.h
	@mkdir -p $(@D)
	gcc -O2 -g -fno-asynchronous-unwind-tables -pthread -Wall $< -o $@ -ldl
$(O)/tests/test_cfi: $(O)/cfi/nounwind

$(O)/allocators/mix: tests/allocators/mix.c
	@mkdir -p $(@D)
	$(CC) -O1 -g -fno-omit-frame-pointer -Wall -Werror $< -o $@
$(O)/allocators/mix-static: tests/allocators/mix.c
	@mkdir -p $(@D)
	$(CC) -O1 -g -static -fno-omit-frame-pointer -Wall -Werror $< -o $@
$(O)/allocators/cxx: tests/allocators/cxx.cc
	@mkdir -p $(@D)
	$(CXX) -O1 -g -fno-omit-frame-pointer -Wall -Werror $< -o $@

# Allocator-family workloads (tests/families): Debian's jemalloc, mimalloc and tcmalloc.
FAM_CFLAGS := -O1 -g -fno-omit-frame-pointer -Wall -Werror
# workloads, not alloctop: never built with the sanitizers (test-asan sets CC; ASan cannot link -static)
FAM_CC := cc
JEMALLOC_PIC := /usr/lib/x86_64-linux-gnu/libjemalloc_pic.a
# jemalloc's exported names, redefined to _rjem_* the way tikv-jemallocator builds it
JE_EXPORTS := aligned_alloc calloc dallocx free mallctl mallctlbymib mallctlnametomib malloc malloc_conf \
	malloc_conf_2_conf_harder malloc_message malloc_stats_print malloc_usable_size mallocx memalign nallocx \
	posix_memalign rallocx realloc sallocx sdallocx valloc xallocx
$(O)/families/libjemalloc_rjem.a: $(JEMALLOC_PIC)
	@mkdir -p $(@D)
	printf '%s\n' $(foreach s,$(JE_EXPORTS),"$(s) _rjem_$(s)") > $@.syms
	objcopy --redefine-syms=$@.syms $< $@
$(O)/families/jemalloc: tests/families/jemalloc.c tests/families/fam.h
	@mkdir -p $(@D)
	$(FAM_CC) $(FAM_CFLAGS) $< -o $@ -ljemalloc
# jemalloc linked into the executable unprefixed (libjemalloc.a): its malloc is the program's
$(O)/families/jemalloc-static: tests/families/jemalloc.c tests/families/fam.h
	@mkdir -p $(@D)
	$(FAM_CC) $(FAM_CFLAGS) $< -o $@ -Wl,-Bstatic -ljemalloc -Wl,-Bdynamic -pthread -ldl -lm
$(O)/families/rjem: tests/families/jemalloc.c tests/families/fam.h $(O)/families/libjemalloc_rjem.a
	$(FAM_CC) $(FAM_CFLAGS) -DRJEM $< $(O)/families/libjemalloc_rjem.a -o $@ -pthread -ldl -lm
$(O)/families/rjem-static: tests/families/jemalloc.c tests/families/fam.h $(O)/families/libjemalloc_rjem.a
	$(FAM_CC) $(FAM_CFLAGS) -static -DRJEM $< $(O)/families/libjemalloc_rjem.a -o $@ -pthread -ldl -lm
$(O)/families/mimalloc: tests/families/mimalloc.c tests/families/fam.h
	@mkdir -p $(@D)
	$(FAM_CC) $(FAM_CFLAGS) $< -o $@ -lmimalloc
$(O)/families/tcmalloc: tests/families/tcmalloc.c tests/families/fam.h
	@mkdir -p $(@D)
	$(FAM_CC) $(FAM_CFLAGS) $< -o $@ -ltcmalloc_minimal
# tcmalloc linked into the executable (libtcmalloc_minimal.a): its malloc is the program's
$(O)/families/tcmalloc-static: tests/families/tcmalloc.c tests/families/fam.h
	@mkdir -p $(@D)
	$(FAM_CC) $(FAM_CFLAGS) $< -o $@ -Wl,-Bstatic -ltcmalloc_minimal -Wl,-Bdynamic -lstdc++ -lm -pthread
$(O)/families/unknown: tests/families/unknown.c tests/families/fam.h
	@mkdir -p $(@D)
	$(FAM_CC) $(FAM_CFLAGS) $< -o $@
# a static program without symbols: no allocator alloctop can find
$(O)/families/stripped-static: $(O)/allocators/mix-static
	@mkdir -p $(@D)
	strip -o $@ $<
$(O)/tests/test_family: $(O)/families/rjem-static $(O)/families/unknown
# one C++ program, its operator new and delete from each allocator library
$(O)/families/cxx-%: tests/families/cxx.cc tests/families/fam.h
	@mkdir -p $(@D)
	$(CXX) $(FAM_CFLAGS) -std=c++17 -fsized-deallocation $< -o $@ -l$(subst tcmalloc,tcmalloc_minimal,$*)

$(O)/frag/%: tests/frag/%.c
	@mkdir -p $(@D)
	$(CC) -O1 -g -fno-omit-frame-pointer -Wall -Werror $< -o $@

stacks: $(STACK_C) $(STACK_RS) $(UNWIND_WL)

# Unwind workloads (tests/unwind, for tests/integration/test_unwind.py): the same chain
# through a shared library as C and C++, with and without frame pointers.
UW_FLAGS_fp      := -O2 -g -fno-omit-frame-pointer
UW_FLAGS_nofp    := -O2 -g -fomit-frame-pointer
UW_CC_c          := $(CC) -x c
UW_CC_cxx        := $(CXX) -x c++
$(O)/unwind/libuwmid-%.so: tests/unwind/uw_mid.c tests/unwind/uw.h
	@mkdir -p $(@D)
	$(UW_CC_$(firstword $(subst -, ,$*))) $(UW_FLAGS_$(lastword $(subst -, ,$*))) -Wall -Werror -fPIC -shared $< -o $@
$(O)/unwind/libuwdl-%.so: tests/unwind/uw_dl.c tests/unwind/uw.h
	@mkdir -p $(@D)
	$(UW_CC_$(firstword $(subst -, ,$*))) $(UW_FLAGS_$(lastword $(subst -, ,$*))) -Wall -Werror -fPIC -shared $< -o $@
$(O)/unwind/uw-%: tests/unwind/uw_main.c tests/unwind/uw.h tests/stacks/wl_stacks.h $(O)/unwind/libuwmid-%.so
	$(UW_CC_$(firstword $(subst -, ,$*))) $(UW_FLAGS_$(lastword $(subst -, ,$*))) -Wall -Werror $< \
		-x none $(O)/unwind/libuwmid-$*.so -Wl,-rpath,'$$ORIGIN' -ldl -o $@

# -O2 with an always_inline function on the allocation path. Each variant is its own
# compile (VARIANT differs) so that each has its own build-id.
$(O)/stacks/inl: tests/stacks/inl.c tests/stacks/wl_stacks.h
	@mkdir -p $(@D)
	$(CC) -O2 -g -fno-omit-frame-pointer -Wall -Werror -DVARIANT='"plain"' $< -o $@
# stripped of DWARF (symbols kept), the debug file next to it, named by .gnu_debuglink
$(O)/stacks/inl-dl: tests/stacks/inl.c tests/stacks/wl_stacks.h
	@mkdir -p $(@D)
	$(CC) -O2 -g -fno-omit-frame-pointer -Wall -Werror -DVARIANT='"debuglink"' $< -o $@.full
	objcopy --only-keep-debug $@.full $@.debug
	objcopy --strip-debug --add-gnu-debuglink=$@.debug $@.full $@
	rm -f $@.full
# stripped of everything, no debuglink: only its build-id finds inl-bid.debug (the test
# puts it under /usr/lib/debug/.build-id for one run)
$(O)/stacks/inl-bid $(O)/stacks/inl-bid.debug &: tests/stacks/inl.c tests/stacks/wl_stacks.h
	@mkdir -p $(@D)
	$(CC) -O2 -g -fno-omit-frame-pointer -Wall -Werror -DVARIANT='"build-id"' $< -o $(O)/stacks/inl-bid.full
	objcopy --only-keep-debug $(O)/stacks/inl-bid.full $(O)/stacks/inl-bid.debug
	objcopy --strip-all $(O)/stacks/inl-bid.full $(O)/stacks/inl-bid
	rm -f $(O)/stacks/inl-bid.full
# static (runs in a bare chroot), symbols kept, DWARF only in a build-id debug file the
# test puts inside the chroot
$(O)/stacks/inl-static $(O)/stacks/inl-static.debug &: tests/stacks/inl.c tests/stacks/wl_stacks.h
	@mkdir -p $(@D)
	$(CC) -O2 -g -fno-omit-frame-pointer -static -Wall -Werror -DVARIANT='"static"' $< -o $(O)/stacks/inl-static.full
	objcopy --only-keep-debug $(O)/stacks/inl-static.full $(O)/stacks/inl-static.debug
	objcopy --strip-debug $(O)/stacks/inl-static.full $(O)/stacks/inl-static
	rm -f $(O)/stacks/inl-static.full
$(O)/stacks/cxx: tests/stacks/cxx.cc tests/stacks/wl_stacks.h
	@mkdir -p $(@D)
	$(CXX) -O1 -g -fno-omit-frame-pointer -Wall -Werror $< -o $@
# rustc talks to make's jobserver when it sees MAKEFLAGS: keep it out
$(O)/stacks/rust_alloc: tests/stacks/rust_alloc.rs
	@mkdir -p $(@D)
	env -u MAKEFLAGS -u MFLAGS $(RUSTC) -O -g -C force-frame-pointers=yes $< -o $@
$(O)/stacks/rust_alloc-v0: tests/stacks/rust_alloc.rs
	@mkdir -p $(@D)
	env -u MAKEFLAGS -u MFLAGS $(RUSTC) -O -g -C force-frame-pointers=yes -C symbol-mangling-version=v0 $< -o $@
# a Rust global allocator over the _rjem_ jemalloc, as tikv-jemallocator calls it
$(O)/rust/rjem_alloc: tests/rust/rjem_alloc.rs $(O)/families/libjemalloc_rjem.a
	@mkdir -p $(@D)
	env -u MAKEFLAGS -u MFLAGS $(RUSTC) -O -g -C force-frame-pointers=yes $< -L $(O)/families \
		-l static=jemalloc_rjem -l dylib=m -o $@
# a Rust global allocator over Debian's libmimalloc, as the mimalloc crate calls it
$(O)/rust/mi_alloc: tests/rust/mi_alloc.rs
	@mkdir -p $(@D)
	env -u MAKEFLAGS -u MFLAGS $(RUSTC) -O -g -C force-frame-pointers=yes $< -l dylib=mimalloc -o $@
# Rust strategies side by side, offline from Debian's crates (its .cargo/config.toml)
RUST_STRAT := tests/rust/strategies
$(O)/rust/strategies: $(RUST_STRAT)/src/main.rs $(RUST_STRAT)/Cargo.toml $(RUST_STRAT)/.cargo/config.toml
	@mkdir -p $(@D)
	cd $(RUST_STRAT) && env -u MAKEFLAGS -u MFLAGS CARGO_TARGET_DIR=$(abspath $(O))/rust/target RUSTC=$(RUSTC) \
		$(CARGO) build --release --offline --quiet
	cp $(O)/rust/target/release/strategies $@

$(O)/demo: tools/demo.c
	$(CC) -O1 -g -fno-omit-frame-pointer -pthread -Wall -Werror $< -o $@
# unwind-table sizes and build times (user/binary/cfi.c): build/cfi-stat FILE [DEBUGFILE]
$(O)/cfi-stat: tools/cfi-stat.c $(O)/liballoctop.a
	$(CC) $(CFLAGS) $< $(O)/liballoctop.a $(LDLIBS) -o $@
$(O)/bench-pairs: bench/pairs.c
	$(CC) -O2 -g -fno-omit-frame-pointer -pthread -Wall -Wextra -Werror $< -o $@
$(O)/bench-switch: bench/switch.c
	$(CC) -O2 -g -Wall -Wextra -Werror $< -o $@

# Bench helpers (bench/README.md): the empty-program floor and the function timer (their
# own BPF objects and skeletons), the big-heap workload (frame pointers, no sibling
# calls: one stack per call path) and the CPU/RSS sampler.
$(O)/bench/floor.bpf.o: bench/floor.bpf.c $(O)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPFFLAGS) -c $< -o $@
$(O)/bench/floor.skel.h: $(O)/bench/floor.bpf.o
	$(BPFTOOL) gen skeleton $< name floor_bpf > $@.tmp && mv $@.tmp $@
$(O)/bench/floor: bench/floor.c $(O)/bench/floor.skel.h
	$(CC) $(CFLAGS) -I$(O)/bench $< -lbpf -lelf -lz -o $@
$(O)/bench/functime.bpf.o: bench/functime.bpf.c $(O)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPFFLAGS) -c $< -o $@
$(O)/bench/functime.skel.h: $(O)/bench/functime.bpf.o
	$(BPFTOOL) gen skeleton $< name functime_bpf > $@.tmp && mv $@.tmp $@
$(O)/bench/functime: bench/functime.c $(O)/bench/functime.skel.h
	$(CC) $(CFLAGS) -I$(O)/bench $< -lbpf -lelf -lz -o $@
$(O)/bench/live: bench/live.c
	@mkdir -p $(@D)
	$(CC) -O1 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls -Wall -Wextra -Werror $< -o $@
$(O)/bench/cpumon: bench/cpumon.c
	@mkdir -p $(@D)
	$(CC) -O2 -g -Wall -Wextra -Werror $< -o $@

run: deps all
	./alloctop $(if $(ARGS),$(ARGS),-- $(O)/demo)

test: deps all stacks
	@bash tests/run.sh

# the two halves of make test: the unit-test binaries, the integration suite
test-unit: deps $(UNIT_BIN)
	@bash tests/run.sh --unit

test-integration: deps all stacks
	@bash tests/run.sh --integration

bench: deps all
	@bash bench/run.sh
	@bash bench/unwind.sh
	@bash bench/calib.sh
	@bash bench/startup.sh
	@bash bench/server.sh
	@bash bench/agent_soak.sh

# redis-server and nginx under load, untraced and traced (bench/server.sh; its servers
# and load generators come with ALLOCTOP_BENCH_DEPS=1)
bench-server: deps alloctop
	@bash bench/server.sh

clean:
	rm -rf $(O) alloctop

# ---- Reliability (issue 8): helper workloads for tests/integration/test_reliability*.py,
# the ELF fuzz target (make fuzz FUZZ_SECONDS=N) and the sanitizer run (make test-asan).
REL_SRC  := $(filter-out tests/reliability/nomalloc.c tests/reliability/weird.c,$(wildcard tests/reliability/*.c))
REL_BIN  := $(patsubst tests/reliability/%.c,$(O)/reliability/%,$(REL_SRC)) \
            $(O)/reliability/nomalloc $(O)/reliability/weird
all: $(REL_BIN)

$(O)/reliability/%: tests/reliability/%.c tests/reliability/rel.h
	@mkdir -p $(@D)
	$(CC) -O1 -g -fno-omit-frame-pointer -fno-inline -pthread -Wall -Wextra -Werror $< -o $@
# no libc, no allocator: a static binary that only sleeps
$(O)/reliability/nomalloc: tests/reliability/nomalloc.c
	@mkdir -p $(@D)
	$(CC) -static -nostdlib -O1 -fno-stack-protector -Wall -Wextra -Werror $< -o $@
# hostile symbol names, given after linking (objcopy)
$(O)/reliability/weird: tests/reliability/weird.c tests/reliability/rel.h tests/reliability/mkweird.sh
	@mkdir -p $(@D)
	$(CC) -O1 -g -fno-omit-frame-pointer -fno-inline -Wall -Wextra -Werror $< -o $@.raw
	sh tests/reliability/mkweird.sh $@.raw $@

# The userspace linked as one binary under $(O), for builds into another directory
# (make O=build-asan build-asan/alloctop); ./alloctop stays the normal build.
$(O)/alloctop: $(O)/user/app/main.o $(O)/liballoctop.a
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

FUZZ_SECONDS ?= 25
FUZZ_SRC := user/binary/elf.c user/lib/util.c user/lib/hash.c user/probe/probesite.c user/probe/probekind.c
# sanitizer checks to leave out (e.g. FUZZ_NOSAN=-fno-sanitize=nonnull-attribute to get
# past a known report); none by default
FUZZ_NOSAN ?=
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $(FUZZ_NOSAN) \
              -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -iquote user
$(O)/fuzz/fuzz_elf: tests/fuzz/fuzz_elf.c tests/fuzz/fuzz_elf.h $(FUZZ_SRC) user/binary/elf.h user/lib/util.h user/lib/hash.h user/probe/probesite.h user/probe/probekind.h
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_FLAGS) tests/fuzz/fuzz_elf.c $(FUZZ_SRC) -lcapstone -lelf -lz -o $@

# the unwind-table compiler (user/binary/cfi.c, libdw)
FUZZ_CFI_SRC := user/binary/cfi.c user/binary/cfi_scan.c user/binary/elf.c user/lib/util.c user/lib/hash.c
$(O)/fuzz/fuzz_cfi: tests/fuzz/fuzz_cfi.c tests/fuzz/fuzz_cfi.h $(FUZZ_CFI_SRC) user/binary/cfi.h user/binary/cfi_int.h user/binary/elf.h user/lib/util.h include/alloctop.h
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_FLAGS) tests/fuzz/fuzz_cfi.c $(FUZZ_CFI_SRC) -ldw -lelf -lz -o $@

# each target for FUZZ_SECONDS
fuzz: deps $(O)/fuzz/fuzz_elf $(O)/fuzz/fuzz_cfi $(O)/work/basic $(O)/user/lib/util.o $(O)/reliability/nomalloc \
      $(O)/reliability/weird $(O)/cfi/nounwind
	@bash tests/fuzz/run.sh $(O)/fuzz $(FUZZ_SECONDS) fuzz_elf
	@bash tests/fuzz/run.sh $(O)/fuzz $(FUZZ_SECONDS) fuzz_cfi

# alloctop and the unit tests built with ASan + UBSan into $(ASAN_O), then the unit
# tests and the integration suite against that binary (ALLOCTOP=...); any sanitizer
# report (they go to $(ASAN_O)/logs) fails the run. Built with clang: GCC links ASan and
# UBSan as two runtimes, and its UBSan then ignores log_path (reports go to stderr, which
# the dashboard holds back) and dies without the death callback. A compiler change
# rebuilds the directory.
ASAN_O  := build-asan
ASAN_CC := $(CLANG) -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
test-asan: deps all
	@if [ "$$(cat $(ASAN_O)/.cc 2>/dev/null)" != "$(ASAN_CC)" ]; then \
		rm -rf $(ASAN_O) && mkdir -p $(ASAN_O) && echo "$(ASAN_CC)" > $(ASAN_O)/.cc; fi
	@$(MAKE) --no-print-directory O=$(ASAN_O) CC="$(ASAN_CC)" $(ASAN_O)/alloctop \
		$(patsubst $(O)/tests/%,$(ASAN_O)/tests/%,$(UNIT_BIN))
	@bash tests/reliability/test-asan.sh $(ASAN_O)

.PHONY: fuzz test-asan

-include $(shell find $(O) -name '*.d' 2>/dev/null)
