#ifndef CCRASHTRACE_CRASH_TRACE_H
#define CCRASHTRACE_CRASH_TRACE_H
#include <stddef.h>

// A last line in the log when the process dies of a signal: a packaged bootstrap has no backtracer,
// so without it a Swift runtime trap shows in CloudWatch only as Lambda's "Runtime exited with
// error: signal ...". Written in C because a signal handler may call only async-signal-safe
// functions, and Swift code cannot promise that (it may retain, release or allocate).

// Installs the handler for SIGILL, SIGTRAP, SIGSEGV, SIGBUS and SIGABRT, and an alternate signal
// stack for the calling thread, so that a stack overflow on that thread is reported too. Call it
// once at start from the thread that runs the handlers (the main thread); later calls do nothing.
// Returns 0, or -1 if the alternate stack or a handler could not be installed.
int crash_trace_install(void);

// Records the request id of the invocation now running (cut to 127 bytes); length 0 clears it.
// Lock-free: the signal handler reads the same fixed buffer.
void crash_trace_set_request_id(const char *request_id, size_t length);

#endif
