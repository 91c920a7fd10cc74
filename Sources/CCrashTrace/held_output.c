#define _GNU_SOURCE
#include "held_output.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// A metric line is about 600 bytes; a longer one (a function name of hundreds of bytes) is simply
// written at once by the caller.
enum { held_capacity = 16 * 1024 };

static char held_bytes[held_capacity];
// 0 while nothing is held or the bytes are being rewritten: a writer that finds 0 writes nothing
// rather than a mix of two lines. Taken with an exchange, so a line is written by one caller only.
static atomic_size_t held_length;
static atomic_int held_descriptor;
// Callers take turns, so no line is rewritten while another thread writes it (a process normally
// has one loop, but tests run several at once); the crash handler never waits for a turn.
static atomic_flag turn = ATOMIC_FLAG_INIT;
static atomic_int exit_hook_installed;

static void write_held_at_exit(void) {
    held_output_write();
}

static void write_held(void) {
    size_t length = atomic_exchange_explicit(&held_length, 0, memory_order_acq_rel);
    if (length == 0) return;
    int descriptor = atomic_load_explicit(&held_descriptor, memory_order_acquire);
    size_t written = 0;
    while (written < length) {
        ssize_t result = write(descriptor, held_bytes + written, length - written);
        if (result < 0 && errno == EINTR) continue;
        if (result <= 0) break;
        written += (size_t)result;
    }
}

static void take_turn(void) {
    while (atomic_flag_test_and_set_explicit(&turn, memory_order_acquire)) sched_yield();
}

static void end_turn(void) {
    atomic_flag_clear_explicit(&turn, memory_order_release);
}

void held_output_write(void) {
    take_turn();
    write_held();
    end_turn();
}

void held_output_write_on_crash(void) {
    write_held();
}

int held_output_hold(int descriptor, const void *bytes, size_t length) {
    if (length > held_capacity) return -1;
    if (length == 0) return 0;
    // A process that ends without going back to the loop (exit() from another thread, a handler
    // run outside the loop) still writes what it holds.
    if (atomic_exchange(&exit_hook_installed, 1) == 0 && atexit(write_held_at_exit) != 0) {
        atomic_store(&exit_hook_installed, 0);
        return -1;
    }
    take_turn();
    write_held();
    memcpy(held_bytes, bytes, length);
    atomic_store_explicit(&held_descriptor, descriptor, memory_order_release);
    atomic_store_explicit(&held_length, length, memory_order_release);
    end_turn();
    return 0;
}
