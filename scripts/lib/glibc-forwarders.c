/* Definitions of the few glibc entry points newer than glibc 2.26 that Debian trixie's static
 * archives call (its arm64 Swift runtime, libstdc++ and OpenSSL were compiled against glibc 2.41),
 * written with what glibc 2.26 has. scripts/lib/relink.sh links this archive into every bootstrap;
 * being an archive, a definition is linked only where something calls it.
 *
 * Only these: any other symbol newer than 2.26 has no definition in zig's glibc 2.26 stubs, so the
 * relink fails on it by name ("undefined symbol"), and scripts/lib/glibc-check.sh would refuse a
 * bootstrap needing it. Add a forwarder here only with its semantics checked.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* glibc 2.38 compiles strtol & co. in C2x mode (when _GNU_SOURCE or -std=c2x is set) to
 * __isoc23_* variants. They differ from the classic ones only in accepting a "0b"/"0B" prefix for
 * base 2 and base 0; none of the callers (number parsing in the Swift runtime and OpenSSL's
 * configuration code) hands them binary literals. */
long __isoc23_strtol(const char *string, char **end, int base) { return strtol(string, end, base); }

unsigned long __isoc23_strtoul(const char *string, char **end, int base) {
    return strtoul(string, end, base);
}

long long __isoc23_strtoll(const char *string, char **end, int base) {
    return strtoll(string, end, base);
}

/* Same story for sscanf: the C23 variant also reads %b and "0b" under %i. */
int __isoc23_sscanf(const char *string, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    int converted = vsscanf(string, format, arguments);
    va_end(arguments);
    return converted;
}

/* strlcpy arrived in glibc 2.38 (from the BSDs): copy at most size - 1 bytes, always terminate
 * when size > 0, return strlen(source) so the caller can detect truncation. */
size_t strlcpy(char *destination, const char *source, size_t size) {
    size_t length = strlen(source);
    if (size > 0) {
        size_t copied = length < size - 1 ? length : size - 1;
        memcpy(destination, source, copied);
        destination[copied] = '\0';
    }
    return length;
}
