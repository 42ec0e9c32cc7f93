/* Concurrency across the C API: 8 threads each build, alter, save and reload their own network
 * at once; 8 threads estimate and predict on their own handles at once and must get the same
 * figures and logits as one thread alone; then 8 threads hammer ONE handle, where every call must either succeed or return
 * TAILOR_ERR_BUSY (never corrupt the handle or crash); the handle must be intact afterwards.
 * Last-error messages are per thread, and so are the strings of tailor_dataflow_simulate_json and
 * tailor_checkpoint_json (rule 5): one thread's string stays valid and unchanged while the other
 * threads make the same calls, until its own next call. Prints "N passed, 0 failed". */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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
        if (tailor_zoo_create(r % 2 ? "resnet20" : "resnet8", 10, 0, 0, 0, (uint64_t)id, &net) != TAILOR_OK) { thread_failures[id]++; continue; }
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

/* totals and rows[0..2] are output structs: their size is set here (rule 2). */
static int estimate_and_predict(float *logits, tailor_hw_totals *totals, tailor_skip_cost *rows) {
    tailor_net *net = NULL;
    tailor_hw_config cfg;
    int64_t n = 0, k;
    int ok = tailor_zoo_create("resnet8", 10, 0, 0, 0, 7, &net) == TAILOR_OK && tailor_hw_config_init(&cfg) == TAILOR_OK;
    cfg.depth_policy = "optimized";
    totals->size = (int64_t)sizeof *totals;
    ok = ok && tailor_net_estimate(net, &cfg, &n, totals) == TAILOR_OK && n == 3;
    for (k = 0; ok && k < 3; k++) {
        rows[k].size = (int64_t)sizeof rows[k];
        ok = tailor_net_skip_cost(net, k, &rows[k]) == TAILOR_OK;
    }
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
        tailor_skip_cost row = {.size = sizeof row};
        tailor_status rc;
        tailor_hw_config_init(&cfg);
        switch (r % 4) {
        case 1: rc = tailor_net_set_block_mode(shared_net, (r + id) % 3, (int32_t)(r % 3)); break;
        case 2: rc = tailor_net_estimate(shared_net, &cfg, &n, NULL); break;
        case 3: /* a row of the last estimate by any thread; none before the first (NOT_FOUND) */
            rc = tailor_net_skip_cost(shared_net, 0, &row);
            if (rc == TAILOR_ERR_NOT_FOUND) rc = TAILOR_OK;
            else if (rc == TAILOR_OK && (row.block != 0 || row.block_name == NULL)) rc = TAILOR_ERR_INTERNAL;
            break;
        default: rc = tailor_net_skip_count(shared_net, &n); break;
        }
        if (rc == TAILOR_ERR_BUSY) busy_seen[id]++;
        else if (rc != TAILOR_OK) thread_failures[id]++;
    }
    return NULL;
}

/* Rule 5, per-thread strings. Each round every thread takes a string from a call with no handle
 * (a dataflow simulation of its own design, or the description of its own checkpoint) and keeps a
 * copy; then, in turn, half the threads make those same calls again while the other half wait, and
 * afterwards the waiting half find their strings valid and unchanged. */
#define STRING_ROUNDS 6
static pthread_barrier_t barrier;

/* A tiny network trained for one epoch, checkpointed at `path` with a note naming the thread. */
static int tiny_checkpoint(int id, const char *path, char *note, size_t note_size) {
    enum { N = 4, SAMPLE = 2 * 4 * 4 };
    float x[N * SAMPLE];
    int64_t y[N] = {0, 1, 2, 1}, nh = -1;
    tailor_net *net = NULL;
    tailor_train_config cfg;
    tailor_data d = {.size = sizeof d};
    int i, ok;
    for (i = 0; i < N * SAMPLE; i++) x[i] = (float)sin(0.1 * (i + 7 * id));
    snprintf(note, note_size, "thread %d", id);
    ok = tailor_net_create((uint64_t)id, &net) == TAILOR_OK && tailor_net_add_input(net, "x", 2, 4, 4, NULL) == TAILOR_OK &&
         tailor_net_add_conv2d(net, "conv", "x", 4, 3, 1, 1, 0, NULL) == TAILOR_OK &&
         tailor_net_add_batchnorm(net, "bn", "conv", 1e-5, 0.1, NULL) == TAILOR_OK &&
         tailor_net_add_relu(net, "relu", "bn", NULL) == TAILOR_OK && tailor_net_add_global_avgpool(net, "pool", "relu", NULL) == TAILOR_OK &&
         tailor_net_add_dense(net, "fc", "pool", 3, 1, NULL) == TAILOR_OK && tailor_train_config_init(&cfg) == TAILOR_OK;
    cfg.batch_size = 2; cfg.epochs = 1; cfg.augment = 0;
    cfg.checkpoint_path = path; cfg.checkpoint_note = note;
    d.x = x; d.n = N; d.channels = 2; d.height = 4; d.width = 4; d.labels = y;
    ok = ok && tailor_net_fit(net, &d, NULL, &cfg, NULL, NULL, NULL) == TAILOR_OK;
    ok = ok && tailor_net_history_count(net, &nh) == TAILOR_OK && nh == 1;  /* this handle's own history */
    tailor_net_free(net);
    return ok;
}

/* Thread `id`'s design: its input and clone streams carry its number. */
static void design_of(int id, char *buf, size_t size) {
    snprintf(buf, size,
             "{\"layers\": [{\"name\": \"in%d\", \"class\": \"Input\", \"shape\": [1, %d, 2]},"
             " {\"name\": \"c%d\", \"class\": \"Conv2D\", \"inputs\": [\"in%d\"], \"filters\": 2, \"kernel\": [1, 1],"
             " \"stride\": [1, 1]}, {\"name\": \"a%d\", \"class\": \"Add\", \"inputs\": [\"c%d\", \"in%d\"]}]}",
             id, 2 + id, id, id, id, id, id);
}

static void *per_thread_strings(void *arg) {
    int id = (int)(size_t)arg, r, k;
    char path[64], note[32], design[512], other[512], expect[48];
    const char *mine = NULL, *scratch = NULL;
    char *copy = NULL;
    snprintf(path, sizeof path, "threads_%d.ckpt", id);
    if (!tiny_checkpoint(id, path, note, sizeof note)) thread_failures[id]++;
    design_of(id, design, sizeof design);
    design_of(id + THREADS, other, sizeof other);
    for (r = 0; r < STRING_ROUNDS; r++) {
        int calling = (id + r) % 2;
        /* 1. Everyone takes a string and copies it. */
        if (r % 2 == 0) {
            snprintf(expect, sizeof expect, "\"in%d_cpy2\"", id);
            if (tailor_dataflow_simulate_json(design, &mine) != TAILOR_OK || !mine || !strstr(mine, expect)) thread_failures[id]++;
        } else {
            snprintf(expect, sizeof expect, "\"%s\"", note);
            if (tailor_checkpoint_json(path, &mine) != TAILOR_OK || !mine || !strstr(mine, expect)) thread_failures[id]++;
        }
        free(copy);
        copy = NULL;
        if (mine) {
            size_t n = strlen(mine) + 1;
            if ((copy = (char *)malloc(n)) != NULL) memcpy(copy, mine, n);
        }
        pthread_barrier_wait(&barrier);
        /* 2. Half the threads make the same calls (their own string is gone; they do not read it). */
        if (calling)
            for (k = 0; k < 4; k++) {
                if (tailor_dataflow_simulate_json(k % 2 ? other : design, &scratch) != TAILOR_OK) thread_failures[id]++;
                if (tailor_checkpoint_json(path, &scratch) != TAILOR_OK) thread_failures[id]++;
                if (tailor_checkpoint_json("threads_missing.ckpt", &scratch) != TAILOR_ERR_IO) thread_failures[id]++;
            }
        pthread_barrier_wait(&barrier);
        /* 3. The other half: their strings survived the other threads' calls. */
        if (!calling && (!mine || !copy || strcmp(mine, copy) != 0)) thread_failures[id]++;
        pthread_barrier_wait(&barrier);
    }
    free(copy);
    remove(path);
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

    if (tailor_zoo_create("resnet8", 10, 0, 0, 0, 0, &shared_net) != TAILOR_OK) return 1;
    for (i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, same_handle, (void *)(size_t)i);
    for (i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    for (i = 0; i < THREADS; i++) { if (thread_failures[i]) failed++; else passed++; busy += busy_seen[i]; }
    /* The handle is intact: back to all-long, three skips, as many parameters as a fresh ResNet-8. */
    for (i = 0; i < 3; i++) tailor_net_set_block_mode(shared_net, i, TAILOR_MODE_LONG);
    if (tailor_net_block_count(shared_net, &blocks) == TAILOR_OK && blocks == 3 &&
        tailor_net_skip_count(shared_net, &skips) == TAILOR_OK && skips == 3) passed++; else failed++;
    tailor_net_free(shared_net);
    printf("shared handle: %ld calls answered TAILOR_ERR_BUSY\n", busy);

    for (i = 0; i < THREADS; i++) thread_failures[i] = 0;
    if (pthread_barrier_init(&barrier, NULL, THREADS) != 0) return 1;
    for (i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, per_thread_strings, (void *)(size_t)i);
    for (i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    pthread_barrier_destroy(&barrier);
    {
        int bad = 0;
        for (i = 0; i < THREADS; i++) { if (thread_failures[i]) { failed++; bad++; } else passed++; }
        printf("per-thread JSON strings: %s\n", bad ? "CLOBBERED or failed" : "each thread's survived the others' calls");
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
