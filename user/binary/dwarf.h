/* Source locations and inline chains from DWARF (libdw), and separate debug files
 * (build-id and .gnu_debuglink), for the symbolizer. */
#ifndef AT_DWARF_H
#define AT_DWARF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include "binary/elf.h"

struct at_dwarf;

/* The DWARF of an ELF image in memory (an at_elf's image: it must stay mapped while
 * the handle lives). NULL when the image has no usable DWARF. */
struct at_dwarf *at_dwarf__open(void *image, size_t size);
void at_dwarf__close(struct at_dwarf *d);

struct at_src_frame {
	const char *name;	/* linkage (mangled) name if any, else the plain name; NULL if unknown */
	const char *file;	/* NULL if unknown */
	unsigned int line;	/* 0 if unknown */
	bool inlined;		/* inlined into the next frame */
	bool has_entry;		/* entry is the function's entry address (not inlined frames) */
	__u64 entry;
};

/* The source frames at link-time address pc (for a return address pass the address
 * of the call: return address - 1): innermost inlined function first, then its
 * callers, ending with the function the code belongs to (inlined == false). At most
 * max are written; if there are more, the innermost max - 1 and the last are kept.
 * Returns the number written, 0 when no DWARF covers pc. Strings belong to d. */
int at_dwarf_frames(struct at_dwarf *d, __u64 pc, struct at_src_frame *out, int max);

/* The separate debug file of main_elf, mapped in process pid from path (the path as
 * the process sees it) with device and inode dev/ino: first
 * /usr/lib/debug/.build-id/xx/yyyy.debug by build-id, then the .gnu_debuglink name in
 * the file's directory, its .debug/ subdirectory and /usr/lib/debug/<directory>/.
 * Each is looked up inside /proc/PID/root first (when pid is alive and has a root of
 * its own), then on the host. A candidate must carry the same build-id (when both have
 * one) and, found by debuglink, the recorded CRC. NULL when none is found.
 * ALLOCTOP_DEBUG_DIR replaces /usr/lib/debug (at_debug_dir). */
struct at_elf *at_debugfile_find(int pid, const char *path, const struct at_elf *main_elf, dev_t dev, ino_t ino);

/* The root of separate debug files: $ALLOCTOP_DEBUG_DIR, else /usr/lib/debug. */
const char *at_debug_dir(void);

#endif
