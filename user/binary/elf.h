/* ELF symbol tables through libelf: function offsets for probing, addresses to names. */
#ifndef AT_ELF_H
#define AT_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct at_sym {
	__u64 addr;		/* link-time virtual address */
	__u64 size;
	const char *name;
	bool global;
};

struct at_elf;

/* Reads the symbol tables (.symtab and .dynsym) and program headers of an open file.
 * The fd stays owned by the caller. NULL if the file is not a readable ELF. */
struct at_elf *at_elf__open(int fd, const char *label);
/* The same for a file named by path (the label); NULL if it cannot be opened or read. */
struct at_elf *at_elf__open_path(const char *path);
void at_elf__close(struct at_elf *e);

/* A defined function (FUNC or IFUNC) by exact name, NULL if absent. */
const struct at_sym *at_elf_func(const struct at_elf *e, const char *name);
/* The defined functions, by index (0 .. at_elf_nr_funcs - 1), in address order. */
size_t at_elf_nr_funcs(const struct at_elf *e);
const struct at_sym *at_elf_func_nth(const struct at_elf *e, size_t i);
/* The function containing vaddr, NULL if none; off gets vaddr - sym->addr. */
const struct at_sym *at_elf_lookup(const struct at_elf *e, __u64 vaddr, __u64 *off);

/* Converts between file offsets and link-time addresses through PT_LOAD segments. */
int at_elf_vaddr_to_off(const struct at_elf *e, __u64 vaddr, __u64 *off);
int at_elf_off_to_vaddr(const struct at_elf *e, __u64 off, __u64 *vaddr);
/* Load bias (runtime address - link-time address) of the file mapped at start from file
 * offset pgoff for len bytes; -1 if no PT_LOAD segment lies in that range. */
int at_elf_map_bias(const struct at_elf *e, __u64 pgoff, __u64 len, __u64 start, __u64 *bias);

/* Bytes of the file at a link-time address, for instruction decoding; NULL if outside. */
const unsigned char *at_elf_code(const struct at_elf *e, __u64 vaddr, size_t *avail);
/* What a caller derived from the file's bytes, kept as long as e (by the file cache, for
 * every process mapping it): one nonzero word under two words of key; 0 when none. */
__u64 at_elf_memo_get(const struct at_elf *e, __u64 k1, __u64 k2);
void at_elf_memo_put(const struct at_elf *e, __u64 k1, __u64 k2, __u64 v);
/* Calls fn for each GOT slot (JUMP_SLOT / GLOB_DAT relocation) bound to a symbol:
 * its name and the slot's link-time address. */
typedef void (*at_reloc_fn)(void *ctx, const char *name, __u64 slot);
int at_elf_relocs(const struct at_elf *e, at_reloc_fn fn, void *ctx);
bool at_elf_is_dyn(const struct at_elf *e);
const char *at_elf_label(const struct at_elf *e);

/* What locates the file's debug information: the NT_GNU_BUILD_ID note (NULL, 0 when
 * absent), the .gnu_debuglink file name and CRC (NULL when absent), and whether the
 * file itself holds DWARF (.debug_info with contents). */
const unsigned char *at_elf_build_id(const struct at_elf *e, size_t *len);
const char *at_elf_debuglink(const struct at_elf *e, __u32 *crc);
bool at_elf_has_dwarf(const struct at_elf *e);
/* The whole file, mapped (private, writable: libelf/libdw may decompress in place). */
void *at_elf_image(const struct at_elf *e, size_t *size);

#endif
