// The reference the Swift runtime is measured against: an echo function (the response is the
// event, not copied) on the least a Lambda runtime over libcurl can do per invocation (lambda-loop.h).
#include "lambda-loop.h"

static int echo(const char *event, size_t length, const char **answer, size_t *answer_length, void *context) {
    (void)context;
    *answer = event;
    *answer_length = length;
    return 0;
}

int main(void) {
    return lambda_loop("reference-loop", echo, NULL);
}
