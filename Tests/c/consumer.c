/* A C99 consumer of libtailor: builds ResNet-8 from the zoo, lists its skips in every mode,
 * round-trips a model file, and checks that bad calls fail with a message instead of crashing.
 * Exits non-zero on the first failed check; prints "N passed, 0 failed" at the end. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tailor.h"

static int passed = 0, failed = 0;

#define CHECK(cond, what)                                                                  \
    do {                                                                                   \
        if (cond) {                                                                        \
            passed++;                                                                      \
        } else {                                                                           \
            failed++;                                                                      \
            fprintf(stderr, "FAIL %s:%d: %s (last error: %s)\n", __FILE__, __LINE__, what, \
                    tailor_last_error());                                                  \
        }                                                                                  \
    } while (0)

static const char *mode_name(int32_t m) {
    return m == TAILOR_MODE_LONG ? "long" : m == TAILOR_MODE_REMOVED ? "removed" : "short";
}

/* Progress callback: counts calls, cancels at the second training step. */
static int stop_at_second_step(const tailor_progress *p, void *user) {
    int *calls = (int *)user;
    (*calls)++;
    return p->global_step >= 1 && !p->epoch_end;
}

static int64_t print_skips(tailor_net *net) {
    int64_t n = 0, i;
    CHECK(tailor_net_skip_count(net, &n) == TAILOR_OK, "skip count");
    for (i = 0; i < n; i++) {
        tailor_skip_info s;
        CHECK(tailor_net_skip_info(net, i, &s) == TAILOR_OK, "skip info");
        printf("  %-9s #%lld %-7s %-16s -> %-16s proj=%-20s spans=%lld shape=%lldx%lldx%lld\n", s.block_name,
               (long long)s.index, mode_name(s.mode), s.source, s.join ? s.join : "-",
               s.projection ? s.projection : "-", (long long)s.num_spans, (long long)s.shape[0],
               (long long)s.shape[1], (long long)s.shape[2]);
    }
    return n;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "consumer_c.tailor";
    tailor_net *net = NULL, *back = NULL;
    int64_t blocks = 0, params = 0, i, chw[3] = {3, 32, 32}, outputs = 0;
    float *w;

    printf("libtailor %s (ABI %d, header ABI %d)\n", tailor_version(), tailor_abi_version(), TAILOR_ABI_VERSION);
    CHECK(tailor_abi_version() == TAILOR_ABI_VERSION, "ABI version matches the header");
    CHECK(tailor_cpu_supported() == 1, "this CPU runs the build it was built on");

    CHECK(tailor_zoo_create("resnet8", 10, chw, 1, &net) == TAILOR_OK, "zoo resnet8");
    CHECK(tailor_net_io_shape(net, chw, &outputs) == TAILOR_OK && outputs == 10, "io shape");
    CHECK(tailor_net_block_count(net, &blocks) == TAILOR_OK && blocks == 3, "three residual blocks");
    printf("ResNet-8 skips (long):\n");
    CHECK(print_skips(net) == 3, "three long skips");

    for (i = 0; i < blocks; i++) CHECK(tailor_net_set_block_mode(net, i, TAILOR_MODE_SHORT) == TAILOR_OK, "shorten");
    printf("shortened:\n");
    CHECK(print_skips(net) == 6, "two short skips per block");
    CHECK(tailor_net_set_block_mode(net, 0, TAILOR_MODE_REMOVED) == TAILOR_OK, "remove block 0");
    printf("block 0 removed:\n");
    CHECK(print_skips(net) == 5, "one removed + four short");

    /* Round trip through a model file; every parameter must come back bit-exact. */
    CHECK(tailor_net_save(net, path) == TAILOR_OK, "save");
    CHECK(tailor_net_load(path, &back) == TAILOR_OK, "load");
    CHECK(tailor_net_param_count(net, &params) == TAILOR_OK && params > 0, "param count");
    for (i = 0; i < params; i++) {
        const char *name = NULL;
        int64_t ndim = 0, dims[4], count = 1, k;
        float *a, *b;
        CHECK(tailor_net_param_info(net, i, &name, &ndim, dims, NULL) == TAILOR_OK, "param info");
        for (k = 0; k < ndim; k++) count *= dims[k];
        a = (float *)malloc((size_t)count * sizeof(float));
        b = (float *)malloc((size_t)count * sizeof(float));
        CHECK(tailor_net_get_param(net, name, a, count) == TAILOR_OK, "get original");
        CHECK(tailor_net_get_param(back, name, b, count) == TAILOR_OK, "get loaded");
        CHECK(memcmp(a, b, (size_t)count * sizeof(float)) == 0, name);
        free(a);
        free(b);
    }
    {
        int32_t mode = -1;
        CHECK(tailor_net_block_info(back, 0, NULL, NULL, &mode) == TAILOR_OK && mode == TAILOR_MODE_REMOVED,
              "mode survives the file");
    }
    printf("model file round trip: %lld tensors identical\n", (long long)params);

    /* Bad calls: each fails with a status and a message, and the handle stays usable. */
    CHECK(tailor_zoo_create("resnet9", 10, NULL, 0, &back) == TAILOR_ERR_NOT_FOUND, "unknown zoo name");
    CHECK(strstr(tailor_last_error(), "resnet9") != NULL, "message names it");
    CHECK(tailor_net_set_block_mode(NULL, 0, 0) == TAILOR_ERR_INVALID_ARGUMENT, "null handle");
    CHECK(tailor_net_set_block_mode(net, 99, 0) == TAILOR_ERR_INVALID_ARGUMENT, "block out of range");
    CHECK(tailor_net_get_param(net, "conv1.weight", NULL, 432) == TAILOR_ERR_INVALID_ARGUMENT, "null buffer");
    w = (float *)calloc(432, sizeof(float));
    w[5] = NAN;
    {
        int64_t dims[4] = {16, 3, 3, 3}, bad[4] = {16, 3, 3, 2};
        CHECK(tailor_net_set_param(net, "conv1.weight", w, 4, dims) == TAILOR_ERR_NUMERIC, "NaN weight refused");
        CHECK(tailor_net_set_param(net, "conv1.weight", w, 4, bad) == TAILOR_ERR_SHAPE, "wrong shape refused");
        CHECK(tailor_net_set_param(net, "nope.weight", w, 4, dims) == TAILOR_ERR_NOT_FOUND, "unknown param");
    }
    free(w);
    CHECK(tailor_net_load_buffer("garbage!", 8, &back) == TAILOR_ERR_FORMAT, "garbage buffer");
    CHECK(tailor_net_load("/nonexistent/x.tailor", &back) == TAILOR_ERR_IO, "missing file");
    CHECK(tailor_net_set_block_mode(net, 0, TAILOR_MODE_LONG) == TAILOR_OK, "handle still usable");

    /* Hardware model: ResNet-8 on hls4ml, default depths. The skips clone 16x32x32, 16x32x32 and
     * 32x16x16 tensors, so hls4ml's default FIFOs are H*W = 1024, 1024, 256 words of C*16 bits. */
    {
        tailor_net *r8 = NULL, *removed = NULL;
        tailor_hw_config cfg;
        tailor_skip_cost rows[8];
        tailor_hw_totals totals, after;
        int64_t n = 0, k;
        const char *json = NULL;
        const int64_t depth[3] = {1024, 1024, 256}, bits[3] = {256, 256, 512};
        CHECK(tailor_zoo_create("resnet8", 10, NULL, 0, &r8) == TAILOR_OK, "zoo resnet8 for estimate");
        CHECK(tailor_hw_config_init(&cfg) == TAILOR_OK && cfg.bits == 16, "config defaults");
        CHECK(tailor_net_estimate(r8, &cfg, NULL, 0, &n, NULL) == TAILOR_OK && n == 3, "skip count from estimate");
        CHECK(tailor_net_estimate(r8, &cfg, rows, 8, &n, &totals) == TAILOR_OK, "estimate");
        printf("hls4ml default, 16 bits:\n");
        for (k = 0; k < n && k < 3; k++) {
            printf("  %-9s %-26s depth %5lld x %4lld bits  BRAM18 %3lld  LUT %5lld  FF %5lld\n", rows[k].block_name,
                   rows[k].buffer, (long long)rows[k].depth_words, (long long)rows[k].word_bits,
                   (long long)rows[k].cost.bram18, (long long)rows[k].cost.lut, (long long)rows[k].cost.ff);
            CHECK(rows[k].depth_words == depth[k] && rows[k].word_bits == bits[k], "default depth and width");
        }
        CHECK(totals.total.bram18 == totals.skips.bram18 + totals.rest.bram18 && totals.latency_us < 0, "totals add up");
        CHECK(tailor_net_copy(r8, &removed) == TAILOR_OK, "copy");
        for (k = 0; k < 3; k++) CHECK(tailor_net_set_block_mode(removed, k, TAILOR_MODE_REMOVED) == TAILOR_OK, "remove");
        CHECK(tailor_net_estimate(removed, &cfg, rows, 8, &n, &after) == TAILOR_OK && after.skips.bram18 == 0 &&
              after.total.bram18 < totals.total.bram18, "removing every skip saves BRAM");
        CHECK(tailor_net_compare_json(r8, removed, &cfg, &json) == TAILOR_OK && strstr(json, "\"mode_after\":\"removed\""),
              "compare JSON");
        CHECK(tailor_net_estimate_json(r8, &cfg, &json) == TAILOR_OK && strstr(json, "\"explain\""), "report JSON");
        cfg.bits = 0;
        CHECK(tailor_net_estimate(r8, &cfg, rows, 8, &n, NULL) == TAILOR_ERR_INVALID_ARGUMENT &&
              strstr(tailor_last_error(), "bits") != NULL, "bad bits named");
        cfg.bits = 16;
        cfg.target = "vivado";
        CHECK(tailor_net_estimate(r8, &cfg, rows, 8, &n, NULL) == TAILOR_ERR_INVALID_ARGUMENT &&
              strstr(tailor_last_error(), "target") != NULL, "unknown target named");
        cfg.target = "hls4ml";
        cfg.size = 8;
        CHECK(tailor_net_estimate(r8, &cfg, rows, 8, &n, NULL) == TAILOR_ERR_VERSION, "uninitialised config refused");
        CHECK(tailor_net_estimate(r8, NULL, rows, 8, &n, NULL) == TAILOR_ERR_INVALID_ARGUMENT, "null config");
        CHECK(tailor_hw_config_init(&cfg) == TAILOR_OK && tailor_net_estimate(r8, &cfg, NULL, 3, &n, NULL) ==
              TAILOR_ERR_INVALID_ARGUMENT, "null rows with capacity");
        tailor_net_free(removed);
        tailor_net_free(r8);
    }

    /* Lookups by name for the index-based calls. */
    {
        tailor_net *r8 = NULL;
        int64_t i = -1;
        const char *name = NULL;
        CHECK(tailor_zoo_create("resnet8", 10, NULL, 0, &r8) == TAILOR_OK, "zoo resnet8 for lookups");
        CHECK(tailor_net_block_index(r8, "layer2.0", &i) == TAILOR_OK && i == 1, "block by name");
        CHECK(tailor_net_node_index(r8, "input", &i) == TAILOR_OK && i == 0 && tailor_net_node_index(r8, "fc", &i) == TAILOR_OK && i > 20, "node by name");
        CHECK(tailor_net_param_index(r8, "layer1.0.conv2.weight", &i) == TAILOR_OK &&
              tailor_net_param_info(r8, i, &name, NULL, NULL, NULL) == TAILOR_OK && !strcmp(name, "layer1.0.conv2.weight"), "parameter by name");
        CHECK(tailor_net_block_index(r8, "layer9.9", &i) == TAILOR_ERR_NOT_FOUND && strstr(tailor_last_error(), "layer9.9"), "unknown block named");
        CHECK(tailor_net_param_index(r8, NULL, &i) == TAILOR_ERR_INVALID_ARGUMENT, "null name");
        tailor_net_free(r8);
    }

    /* Every FIFO of the dataflow design, through counts and index accessors: ResNet-8 has the 33
     * streams hls4ml declares plus its input and output ports. With FIFO-optimised depths every
     * FIFO is hls4ml's would-be maximum + 1, and the skip FIFO of layer1.0 is the deepest. */
    {
        tailor_net *r8 = NULL;
        tailor_hw_config cfg;
        tailor_fifo f;
        int64_t n = 0, k, fifos = 0, deepest = 0;
        char buf[64];
        const char *design = "{\"layers\": [{\"name\": \"x\", \"class\": \"Input\", \"shape\": [1, 8, 4]},"
                             "{\"name\": \"c\", \"class\": \"Conv2D\", \"inputs\": [\"x\"], \"filters\": 4, \"kernel\": [1, 1],"
                             " \"stride\": [1, 1], \"reuse_factor\": 4}, {\"name\": \"a\", \"class\": \"Add\", \"inputs\": [\"c\", \"x\"]}]}";
        char *result;
        CHECK(tailor_zoo_create("resnet8", 10, NULL, 0, &r8) == TAILOR_OK, "zoo resnet8 for fifos");
        CHECK(tailor_hw_config_init(&cfg) == TAILOR_OK && cfg.backend == NULL && !strcmp(cfg.strategy, "latency"), "new config defaults");
        f.size = (int64_t)sizeof f;
        CHECK(tailor_net_fifo(r8, 0, &f) == TAILOR_ERR_NOT_FOUND, "no FIFOs before tailor_net_fifos");
        cfg.depth_policy = "simulated";
        CHECK(tailor_net_fifos(r8, &cfg, &n) == TAILOR_OK && n == 35, "35 streams");
        for (k = 0; k < n; k++) {
            CHECK(tailor_net_fifo(r8, k, &f) == TAILOR_OK && f.stream && f.producer && f.consumer, "fifo row");
            if (f.is_port) continue;
            fifos++;
            CHECK(f.depth == f.hls4ml_max + 1 && f.default_depth == f.height * f.width, "optimized depth and default depth");
            if (f.depth > deepest) { deepest = f.depth; snprintf(buf, sizeof buf, "%s", f.stream); }
        }
        CHECK(fifos == 33 && !strcmp(buf, "relu_cpy2"), "33 FIFOs, the first skip's the deepest");
        CHECK(tailor_net_fifo(r8, n, &f) == TAILOR_ERR_NOT_FOUND && tailor_net_fifo(r8, -1, &f) == TAILOR_ERR_NOT_FOUND, "index range");
        CHECK(tailor_net_fifo(r8, 0, NULL) == TAILOR_ERR_INVALID_ARGUMENT, "null out");
        cfg.backend = "quartus";
        CHECK(tailor_net_fifos(r8, &cfg, &n) == TAILOR_ERR_INVALID_ARGUMENT && strstr(tailor_last_error(), "backend"), "unknown backend named");
        cfg.backend = "vitis";
        cfg.target = "pe_array";
        cfg.depth_policy = NULL;
        CHECK(tailor_net_fifos(r8, &cfg, &n) == TAILOR_ERR_INVALID_ARGUMENT && strstr(tailor_last_error(), "backend"), "backend for pe_array refused");
        cfg.backend = NULL;
        CHECK(tailor_net_fifos(r8, &cfg, &n) == TAILOR_ERR_INVALID_ARGUMENT && strstr(tailor_last_error(), "pe_array"), "pe_array has no FIFOs");
        cfg.target = "hls4ml";
        cfg.layers_json = "{\"conv1\": {\"reuse_factor\": \"many\"}}";
        CHECK(tailor_net_fifos(r8, &cfg, &n) == TAILOR_ERR_INVALID_ARGUMENT && strstr(tailor_last_error(), "conv1"), "bad layer setting named");
        tailor_net_free(r8);

        /* The skip rows describe one buffer each: with optimized depths its depth is the occupancy the
         * simulation saw in that same buffer (hls4ml's max + 1 = occupancy, at least 2). Before, the
         * lag of the source stream was reported beside the depth of the projection FIFO (100 vs 33). */
        {
            tailor_skip_cost rows[8];
            tailor_net *short8 = NULL;
            CHECK(tailor_zoo_create("resnet8", 10, NULL, 0, &r8) == TAILOR_OK && tailor_hw_config_init(&cfg) == TAILOR_OK, "resnet8 again");
            cfg.depth_policy = "optimized";
            CHECK(tailor_net_estimate(r8, &cfg, rows, 8, &n, NULL) == TAILOR_OK && n == 3, "optimized rows");
            for (k = 0; k < n; k++)
                CHECK(rows[k].depth_words == (rows[k].lag_words > 2 ? rows[k].lag_words : 2), "lag and depth of the same buffer");
            cfg.precision_json = "{\"nope\": 8}";
            CHECK(tailor_net_estimate(r8, &cfg, rows, 8, &n, NULL) == TAILOR_ERR_INVALID_ARGUMENT && strstr(tailor_last_error(), "nope"),
                  "an unknown node in precision_json is INVALID_ARGUMENT, as the config's other errors");
            cfg.precision_json = NULL;
            cfg.target = "pe_array";
            CHECK(tailor_net_estimate(r8, &cfg, rows, 8, &n, NULL) == TAILOR_ERR_INVALID_ARGUMENT && strstr(tailor_last_error(), "depth_policy"),
                  "depth_policy is refused for pe_array, not ignored");
            cfg.depth_policy = NULL;
            CHECK(tailor_net_copy(r8, &short8) == TAILOR_OK, "copy for short");
            for (k = 0; k < 3; k++) CHECK(tailor_net_set_block_mode(short8, k, TAILOR_MODE_SHORT) == TAILOR_OK, "shorten");
            CHECK(tailor_net_estimate(short8, &cfg, rows, 8, &n, NULL) == TAILOR_OK && n == 6, "PE-array short rows");
            for (k = 0; k < n; k++)
                CHECK(rows[k].buffer && !strcmp(rows[k].buffer, "on-chip buffer") && rows[k].memory == TAILOR_MEM_NONE, "a short skip's on-chip buffer is named");
            tailor_net_free(short8);
            tailor_net_free(r8);
        }

        /* A design from another tool: size query, then the result. */
        CHECK(tailor_dataflow_simulate_json(design, NULL, 0, &n) == TAILOR_OK && n > 1, "result size");
        result = (char *)malloc((size_t)n);
        CHECK(result && tailor_dataflow_simulate_json(design, result, n, &k) == TAILOR_OK && k == n &&
              strlen(result) + 1 == (size_t)n && strstr(result, "\"x_cpy2\""), "result JSON");
        free(result);
        CHECK(tailor_dataflow_simulate_json("{\"layers\": [{\"name\": \"x\", \"class\": \"Input\", \"shape\": [2, 2, 1]},"
                                            " {\"name\": \"s\", \"class\": \"Softmax\", \"inputs\": [\"x\"]}]}", NULL, 0, &n) ==
              TAILOR_ERR_UNSUPPORTED && strstr(tailor_last_error(), "Softmax"), "a layer without a timing rule is named");
        CHECK(tailor_dataflow_simulate_json(NULL, NULL, 0, &n) == TAILOR_ERR_INVALID_ARGUMENT, "null design");
        CHECK(tailor_dataflow_simulate_json("{", NULL, 0, &n) == TAILOR_ERR_INVALID_ARGUMENT, "bad JSON");
    }

    /* Training: one step and its gradient, a short fit with validation, a cancelling callback. */
    {
        enum { N = 8, VALUES = 8 * 3 * 32 * 32 };
        float *x = (float *)calloc(VALUES, sizeof(float)), grad[432];
        int64_t y[N], nh = -1;
        int k, calls = 0;
        double loss = 0, acc = -1;
        tailor_train_config cfg;
        tailor_data data;
        tailor_epoch_stats hist[2];
        for (k = 0; k < VALUES; k++) x[k] = (float)((k * 7919) % 101) / 101.0f - 0.5f;
        for (k = 0; k < N; k++) y[k] = k % 10;
        CHECK(tailor_train_config_init(&cfg) == TAILOR_OK && cfg.size == (int64_t)sizeof cfg, "config defaults");
        cfg.lr = 0.01; cfg.batch_size = 4; cfg.epochs = 2;
        CHECK(tailor_net_train_step(net, x, N, 3, 32, 32, y, NULL, &cfg, 1, NULL, 0, &loss) == TAILOR_OK && loss > 0,
              "train step");
        CHECK(tailor_net_grad(net, "conv1.weight", grad, 432) == TAILOR_OK, "gradient after the step");
        memset(&data, 0, sizeof data);
        data.size = (int64_t)sizeof data; data.x = x; data.n = N; data.channels = 3; data.height = 32; data.width = 32;
        data.labels = y;
        CHECK(tailor_net_fit(net, &data, &data, &cfg, NULL, NULL, NULL, hist, 2, &nh) == TAILOR_OK && nh == 2,
              "fit two epochs");
        printf("fit: epoch 2 loss %.4f, validation accuracy %.3f\n", hist[1].loss, hist[1].val_accuracy);
        CHECK(tailor_net_fit(net, &data, NULL, &cfg, NULL, stop_at_second_step, &calls, hist, 2, &nh)
              == TAILOR_ERR_CANCELLED && calls == 2 && nh == 0, "callback cancels");
        y[3] = 10;
        CHECK(tailor_net_fit(net, &data, NULL, &cfg, NULL, NULL, NULL, NULL, 0, NULL) == TAILOR_ERR_INVALID_ARGUMENT,
              "label out of range refused");
        y[3] = 3;
        CHECK(tailor_net_evaluate(net, &data, NULL, &acc) == TAILOR_OK && acc >= 0 && acc <= 1, "evaluate");
        /* Checkpoints: the fit writes one per epoch; resuming the finished run hands back its student. */
        {
            const char *ck = "consumer_run.ckpt";
            tailor_net *student = NULL, *teacher = NULL;
            int64_t len = -1;
            cfg.checkpoint_path = ck;
            CHECK(tailor_net_fit(net, &data, NULL, &cfg, NULL, NULL, NULL, hist, 2, &nh) == TAILOR_OK && nh == 2,
                  "fit with a checkpoint");
            CHECK(tailor_checkpoint_json(ck, NULL, 0, &len) == TAILOR_OK && len > 0, "checkpoint described");
            CHECK(tailor_net_fit_resume(ck, &data, NULL, NULL, NULL, NULL, &student, &teacher, hist, 2, &nh) == TAILOR_OK
                  && student != NULL && teacher == NULL && nh == 2, "finished run resumed");
            CHECK(tailor_net_fit_resume(ck, &data, NULL, net, NULL, NULL, &teacher, NULL, NULL, 0, NULL)
                  == TAILOR_ERR_INVALID_ARGUMENT && teacher == NULL, "a run that started from other weights refused");
            CHECK(tailor_net_fit_resume("no_such.ckpt", &data, NULL, NULL, NULL, NULL, &teacher, NULL, NULL, 0, NULL)
                  == TAILOR_ERR_IO, "missing checkpoint");
            tailor_net_free(student);
            cfg.checkpoint_path = NULL;
            remove(ck);
        }
        /* The whole Tailor run in the library: SkipRemover, one block per epoch, KD from the network. */
        {
            tailor_run_config run;
            tailor_epoch_stats rh[4];
            tailor_net *student = NULL, *teacher = NULL;
            const char *json = NULL;
            int32_t mode = -1;
            int64_t b;
            CHECK(tailor_net_copy(net, &teacher) == TAILOR_OK, "teacher copy");
            for (b = 0; b < 3; b++) CHECK(tailor_net_set_block_mode(teacher, b, TAILOR_MODE_LONG) == TAILOR_OK, "long skips to start from");
            CHECK(tailor_run_config_init(&run) == TAILOR_OK && !strcmp(run.algorithm, "remove") && run.every == 3, "run defaults");
            run.every = 1;
            cfg.loss = TAILOR_LOSS_KD_MSE;
            CHECK(tailor_run(teacher, &data, &data, &run, &cfg, NULL, NULL, &student, rh, 4, &nh) == TAILOR_OK && student && nh == 4,
                  "SkipRemover: 3 blocks, one per epoch, one more epoch");
            CHECK(tailor_net_block_info(student, 2, NULL, NULL, &mode) == TAILOR_OK && mode == TAILOR_MODE_REMOVED, "every block removed");
            CHECK(tailor_net_run_history_json(student, &json) == TAILOR_OK && strstr(json, "\"altered\":[\"layer1.0\",\"layer2.0\",\"layer3.0\"]")
                  && strstr(json, "\"hardware\""), "history with modes and hardware");
            CHECK(tailor_net_run_history_json(teacher, &json) == TAILOR_ERR_NOT_FOUND, "no history on a network tailor_run did not make");
            tailor_net_free(student);
            student = NULL;
            /* Checkpointed: resuming the finished run hands back the student with the whole run's history. */
            cfg.checkpoint_path = "consumer_tailor.ckpt";
            CHECK(tailor_run(teacher, &data, NULL, &run, &cfg, NULL, NULL, &student, NULL, 0, NULL) == TAILOR_OK, "checkpointed run");
            tailor_net_free(student);
            student = NULL;
            CHECK(tailor_net_fit_resume("consumer_tailor.ckpt", &data, NULL, teacher, NULL, NULL, &student, NULL, rh, 4, &nh) == TAILOR_OK
                  && nh == 4 && tailor_net_run_history_json(student, &json) == TAILOR_OK && strstr(json, "\"modes\""),
                  "a resumed Tailor run carries its history with modes and hardware");
            tailor_net_free(student);
            student = NULL;
            cfg.checkpoint_path = NULL;
            remove("consumer_tailor.ckpt");
            run.algorithm = "prune";
            CHECK(tailor_run(teacher, &data, NULL, &run, &cfg, NULL, NULL, &student, NULL, 0, NULL) == TAILOR_ERR_INVALID_ARGUMENT
                  && student == NULL && strstr(tailor_last_error(), "algorithm"), "unknown algorithm named");
            run.algorithm = "shorten";
            cfg.loss = TAILOR_LOSS_CE;
            CHECK(tailor_run(teacher, &data, NULL, &run, &cfg, NULL, NULL, &student, NULL, 0, NULL) == TAILOR_ERR_INVALID_ARGUMENT
                  && strstr(tailor_last_error(), "KD"), "a Tailor run needs a KD loss");
            tailor_net_free(teacher);
        }
        free(x);
    }

    tailor_net_free(net);
    tailor_net_free(back);
    tailor_net_free(NULL);
    remove(path);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
