/* Concurrency across the C API: 8 threads each build, alter, save and reload their own network
 * at once; 8 threads estimate and predict on their own handles at once and must get the same
 * figures and logits as one thread alone; then 8 threads hammer ONE handle, where every call must either succeed or return
 * TAILOR_ERR_BUSY (never corrupt the handle or crash); the handle must be intact afterwards.
 * Last-error messages are per thread. Prints "N passed, 0 failed". */
#include <math.h>
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

/* Reference figures from one thread, compared with what every thread computes concurrently. */
#define BATCH 4
static float input[BATCH * 3 * 32 * 32];
static float ref_logits[BATCH * 10];
static tailor_hw_totals ref_totals;
static tailor_skip_cost ref_rows[3];

static int estimate_and_predict(float *logits, tailor_hw_totals *totals, tailor_skip_cost *rows) {
    tailor_net *net = NULL;
    tailor_hw_config cfg;
    int64_t n = 0;
    int ok = tailor_zoo_create("resnet8", 10, NULL, 7, &net) == TAILOR_OK && tailor_hw_config_init(&cfg) == TAILOR_OK;
    cfg.depth_policy = "optimized";
    ok = ok && tailor_net_estimate(net, &cfg, rows, 3, &n, totals) == TAILOR_OK && n == 3;
    ok = ok && tailor_net_predict(net, input, BATCH, 3, 32, 32, logits, BATCH * 10) == TAILOR_OK;
    tailor_net_free(net);
    return ok;
}

static void *parallel_work(void *arg) {
    int id = (int)(size_t)arg, r, k;
    for (r = 0; r < 3; r++) {
        float logits[BATCH * 10];
        tailor_hw_totals totals;
        tailor_skip_cost rows[3];
        if (!estimate_and_predict(logits, &totals, rows)) { thread_failures[id]++; continue; }
        if (memcmp(&totals.total, &ref_totals.total, sizeof totals.total) != 0) thread_failures[id]++;
        for (k = 0; k < 3; k++)
            if (rows[k].depth_words != ref_rows[k].depth_words || rows[k].cost.lut != ref_rows[k].cost.lut) thread_failures[id]++;
        for (k = 0; k < BATCH * 10; k++)
            if (fabsf(logits[k] - ref_logits[k]) > 1e-5f * (1.0f + fabsf(ref_logits[k]))) { thread_failures[id]++; break; }
    }
    return NULL;
}

static void *same_handle(void *arg) {
    int id = (int)(size_t)arg, r;
    for (r = 0; r < ROUNDS * 8; r++) {
        int64_t n = 0;
        tailor_hw_config cfg;
        int rc;
        tailor_hw_config_init(&cfg);
        rc = (r % 3 == 1) ? tailor_net_set_block_mode(shared_net, (r + id) % 3, (int32_t)(r % 3))
           : (r % 3 == 2) ? tailor_net_estimate(shared_net, &cfg, NULL, 0, &n, NULL)
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

    for (i = 0; i < BATCH * 3 * 32 * 32; i++) input[i] = (float)sin(0.37 * i);
    if (!estimate_and_predict(ref_logits, &ref_totals, ref_rows)) return 1;
    for (i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, parallel_work, (void *)(size_t)i);
    for (i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    for (i = 0; i < THREADS; i++) { if (thread_failures[i]) failed++; else passed++; thread_failures[i] = 0; }
    printf("8 threads estimating and predicting on their own handles: %s\n", failed ? "MISMATCH" : "same as one thread");

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
