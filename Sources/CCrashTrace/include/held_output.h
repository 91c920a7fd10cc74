#ifndef CCRASHTRACE_HELD_OUTPUT_H
#define CCRASHTRACE_HELD_OUTPUT_H
#include <stddef.h>

// Output an invocation leaves to be written once its answer is posted (the metric line), so the
// caller does not wait for its write: the runtime loop writes it after the post, and the crash
// handler (crash_trace.h) writes it before its own line if the process dies first, so a held line
// is lost to a crash no more than one written at once. In C for that reason: the handler may call
// only async-signal-safe functions. One line is held at a time.

// Holds a copy of `length` bytes for `descriptor`; whatever was still held is written first (never
// overwritten). Returns 0, or -1 when they do not fit the holding buffer: the caller writes them
// itself then.
int held_output_hold(int descriptor, const void *bytes, size_t length);

// Writes what is held, if anything, with as many write(2)s as it takes, and forgets it. A held line
// is written once, whoever writes it.
void held_output_write(void);

// The same from the crash handler: async-signal-safe, and never waits for a thread that was
// holding or writing a line when the signal came.
void held_output_write_on_crash(void);

#endif
