/* Text from traced programs (symbol names, comms) made safe to print. */
#ifndef AT_UTF8_H
#define AT_UTF8_H

#include <stddef.h>

/* Copies s into buf as valid UTF-8 (invalid bytes become U+FFFD), for every printer. */
const char *at_utf8_clean(const char *s, char *buf, size_t sz);

#endif
