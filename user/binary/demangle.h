/* C++ (Itanium ABI) and Rust (legacy and v0) symbol names, demangled with libiberty. */
#ifndef AT_DEMANGLE_H
#define AT_DEMANGLE_H

/* The readable form of a mangled name ("ns::f<int>(int)", "crate::m::f"), malloc'ed;
 * NULL when name is not mangled (a C name) or cannot be demangled. Rust hashes
 * (legacy "::h0123..." suffixes, v0 crate disambiguators) are left out. */
char *at_demangle(const char *name);

#endif
