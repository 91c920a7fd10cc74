#define _GNU_SOURCE
#include "crash_trace.h"
#include "held_output.h"

#include <link.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

enum { request_id_capacity = 127, alternate_stack_size = 64 * 1024, highest_signal = 32 };

static const int crash_signals[] = { SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT };

// The request id the handler prints. The length is 0 while the bytes are rewritten, so a handler
// running meanwhile prints no id rather than a mix of two.
static char request_id[request_id_capacity];
static atomic_size_t request_id_length;

// What each signal did before: restored before re-raising, so the process ends as it would have
// (the default action, or a handler installed earlier such as Swift's backtracer).
static struct sigaction previous_actions[highest_signal];
static atomic_int installed;
// Far above the kernel's minimum (MINSIGSTKSZ, a few KB even with AVX-512 state); the handler itself
// needs well under 1 KB.
static char alternate_stack[alternate_stack_size] __attribute__((aligned(16)));
// Where the executable is loaded (it is position-independent): for an instruction inside it, the
// address minus the load bias is what `addr2line -e bootstrap` takes. Found at install time (the
// loader's functions are not async-signal-safe).
static uintptr_t executable_bias, executable_low, executable_high;

// The first object the loader reports is the executable itself.
static int find_executable(struct dl_phdr_info *object, size_t size, void *unused) {
    (void)size;
    (void)unused;
    for (ElfW(Half) index = 0; index < object->dlpi_phnum; index++) {
        const ElfW(Phdr) *segment = &object->dlpi_phdr[index];
        if (segment->p_type != PT_LOAD) continue;
        uintptr_t start = (uintptr_t)object->dlpi_addr + segment->p_vaddr;
        uintptr_t end = start + segment->p_memsz;
        if (executable_high == 0 || start < executable_low) executable_low = start;
        if (end > executable_high) executable_high = end;
    }
    executable_bias = (uintptr_t)object->dlpi_addr;
    return 1;
}

// Writers take turns (a process normally has one loop, but tests run several at once); the handler
// never takes it, it only reads.
static atomic_flag writing = ATOMIC_FLAG_INIT;

void crash_trace_set_request_id(const char *id, size_t length) {
    while (atomic_flag_test_and_set_explicit(&writing, memory_order_acquire)) sched_yield();
    atomic_store_explicit(&request_id_length, 0, memory_order_release);
    if (length > request_id_capacity) length = request_id_capacity;
    if (length > 0) memcpy(request_id, id, length);
    atomic_store_explicit(&request_id_length, length, memory_order_release);
    atomic_flag_clear_explicit(&writing, memory_order_release);
}

// A bounded line buffer filled without the C library's formatting (not async-signal-safe).
struct line {
    char bytes[384];
    size_t used;
};

static void append(struct line *line, const char *text, size_t length) {
    size_t room = sizeof line->bytes - line->used;
    if (length > room) length = room;
    memcpy(line->bytes + line->used, text, length);
    line->used += length;
}

static void append_text(struct line *line, const char *text) {
    append(line, text, strlen(text));
}

static void append_decimal(struct line *line, unsigned long value) {
    char digits[24];
    size_t count = 0;
    do {
        digits[sizeof digits - 1 - count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0 && count < sizeof digits);
    append(line, digits + sizeof digits - count, count);
}

static void append_hex(struct line *line, uintptr_t value) {
    static const char hex[] = "0123456789abcdef";
    char digits[2 + 2 * sizeof value];
    digits[0] = '0';
    digits[1] = 'x';
    for (size_t index = 0; index < 2 * sizeof value; index++) {
        digits[sizeof digits - 1 - index] = hex[(value >> (4 * index)) & 0xF];
    }
    append(line, digits, sizeof digits);
}

static const char *signal_name(int signal_number) {
    switch (signal_number) {
    case SIGILL: return "SIGILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGABRT: return "SIGABRT";
    default: return "signal";
    }
}

// The interrupted instruction, from the machine context the kernel saved.
static uintptr_t instruction_address(const void *context) {
    const ucontext_t *machine = context;
#if defined(__x86_64__)
    return (uintptr_t)machine->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)machine->uc_mcontext.pc;
#else
    (void)machine;
    return 0;
#endif
}

static void report_crash(int signal_number, siginfo_t *info, void *context) {
    // The invocation's held metric line first: it describes what happened before the crash.
    held_output_write_on_crash();
    struct line line = { .used = 0 };
    append_text(&line, "Runtime.Crash: ");
    append_text(&line, signal_name(signal_number));
    append_text(&line, " (signal ");
    append_decimal(&line, (unsigned long)signal_number);
    append_text(&line, ") at instruction ");
    uintptr_t instruction = instruction_address(context);
    append_hex(&line, instruction);
    if (executable_high != 0 && instruction >= executable_low && instruction < executable_high) {
        append_text(&line, " (executable+");
        append_hex(&line, instruction - executable_bias);
        append_text(&line, ")");
    }
    if ((signal_number == SIGSEGV || signal_number == SIGBUS) && info != NULL) {
        append_text(&line, ", fault address ");
        append_hex(&line, (uintptr_t)info->si_addr);
    }
    size_t length = atomic_load_explicit(&request_id_length, memory_order_acquire);
    if (length > 0) {
        append_text(&line, ", request ");
        append(&line, request_id, length);
    } else {
        append_text(&line, ", outside an invocation");
    }
    append_text(&line, "\n");
    size_t written = 0;
    while (written < line.used) {
        ssize_t result = write(STDERR_FILENO, line.bytes + written, line.used - written);
        if (result <= 0) break;
        written += (size_t)result;
    }

    // Re-raise with what was there before. The signal stays blocked until this handler returns;
    // then it is delivered again (a fault re-executes its instruction and faults again anyway).
    if (signal_number > 0 && signal_number < highest_signal) {
        sigaction(signal_number, &previous_actions[signal_number], NULL);
    } else {
        signal(signal_number, SIG_DFL);
    }
    raise(signal_number);
}

int crash_trace_install(void) {
    if (atomic_exchange(&installed, 1) != 0) return 0;
    int result = 0;
    dl_iterate_phdr(find_executable, NULL);

    // A stack overflow leaves no stack to run a handler on: give it one of its own (per thread).
    // Static rather than allocated: nothing but the kernel would point at an allocation, and leak
    // checkers would report it.
    stack_t alternate = { .ss_sp = alternate_stack, .ss_size = sizeof alternate_stack, .ss_flags = 0 };
    if (sigaltstack(&alternate, NULL) != 0) result = -1;

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = report_crash;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    for (size_t index = 0; index < sizeof crash_signals / sizeof crash_signals[0]; index++) {
        int signal_number = crash_signals[index];
        if (sigaction(signal_number, &action, &previous_actions[signal_number]) != 0) result = -1;
    }
    return result;
}
