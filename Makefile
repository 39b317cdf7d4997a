# alloctop: `make` builds ./alloctop; `make run` and `make test` also install what is missing.
CC       ?= cc
CLANG    ?= clang
BPFTOOL  ?= bpftool
O        := build
ARCH     := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

CFLAGS   ?= -O2 -g
CFLAGS   += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -Iinclude -I$(O) -MMD -MP
LDLIBS   := -pthread -lcapstone -lbpf -lelf -lz -ljson-c -lncursesw -ltinfo -lm
BPFFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Iinclude -I$(O) -MMD -MP

BPF_SRC  := $(wildcard bpf/*.bpf.c)
BPF_OBJ  := $(patsubst bpf/%.bpf.c,$(O)/bpf/%.bpf.o,$(BPF_SRC))
LIB_SRC  := $(filter-out user/main.c,$(wildcard user/*.c))
LIB_OBJ  := $(patsubst user/%.c,$(O)/user/%.o,$(LIB_SRC))
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRC))
WORK_SRC := $(wildcard tests/workloads/*.c)
WORK_BIN := $(patsubst tests/workloads/%.c,$(O)/work/%,$(WORK_SRC)) \
            $(patsubst tests/workloads/%.c,$(O)/work/%-nofp,$(WORK_SRC))
TOOL_BIN := $(O)/demo $(O)/bench-pairs
FRAG_BIN := $(patsubst tests/frag/%.c,$(O)/frag/%,$(wildcard tests/frag/*.c))

.PHONY: all deps run test test-unit test-integration bench clean
all: alloctop $(UNIT_BIN) $(WORK_BIN) $(TOOL_BIN) $(FRAG_BIN)

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

# The skeleton must exist before any user object that includes it is compiled.
$(O)/user/%.o: user/%.c | $(O)/alloctop.skel.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(O)/liballoctop.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

alloctop: $(O)/user/main.o $(O)/liballoctop.a
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(O)/tests/%: tests/unit/%.c tests/unit/unit.h $(O)/liballoctop.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/unit -Iuser $< $(O)/liballoctop.a $(LDLIBS) -o $@

# Workloads: one build with frame pointers, one -O2 without them.
$(O)/work/%: tests/workloads/%.c tests/workloads/wl.h
	@mkdir -p $(@D)
	$(CC) -O1 -g -fno-omit-frame-pointer -fno-inline -pthread -Wall $< -o $@ -ldl
$(O)/work/%-nofp: tests/workloads/%.c tests/workloads/wl.h
	@mkdir -p $(@D)
	$(CC) -O2 -g -fomit-frame-pointer -pthread -Wall $< -o $@ -ldl

$(O)/frag/%: tests/frag/%.c
	@mkdir -p $(@D)
	$(CC) -O1 -g -fno-omit-frame-pointer -Wall -Werror $< -o $@

$(O)/demo: tools/demo.c
	$(CC) -O1 -g -fno-omit-frame-pointer -pthread -Wall -Werror $< -o $@
$(O)/bench-pairs: bench/pairs.c
	$(CC) -O2 -g -fno-omit-frame-pointer -pthread -Wall -Werror $< -o $@

run: deps all
	./alloctop $(if $(ARGS),$(ARGS),-- $(O)/demo)

test: deps all
	@bash tests/run.sh

bench: deps all
	@bash bench/run.sh

clean:
	rm -rf $(O) alloctop

-include $(shell find $(O) -name '*.d' 2>/dev/null)
