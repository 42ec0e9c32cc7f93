/* A C99 consumer of libtailor (ABI 2): builds ResNet-8 from the zoo, lists its nodes and skips in
 * every mode, round-trips a model file, estimates hardware, trains, runs Tailor, and checks that
 * bad calls fail with a message instead of crashing. It also holds the library to the rules at the
 * top of tailor.h as a toolflow relies on them: struct sizes (rule 2: output structs written up to
 * `size` and never past it, input structs read as a `size`-byte prefix with the rest defaulted),
 * index accessors (3), lists kept on the handle (4), string lifetimes (5), handle outputs NULL on
 * failure (1) and the TAILOR_MAX_* limits (7).
 * Exits non-zero on any failed check; prints "N passed, 0 failed" at the end. */
#include <math.h>
#include <stddef.h>
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

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = (char *)malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Rule 7: the message of a refused over-limit value names the limit (its macro or its value). */
static int names_limit(const char *macro, long long value) {
    char v[32];
    snprintf(v, sizeof v, "%lld", value);
    return strstr(tailor_last_error(), macro) != NULL || strstr(tailor_last_error(), v) != NULL;
}

/* Progress callback: counts calls, cancels at the second training step. */
static int stop_at_second_step(const tailor_progress *p, void *user) {
    int *calls = (int *)user;
    (*calls)++;
    return p->global_step >= 1 && !p->epoch_end;
}

/* Progress callback: lets the first epoch finish, cancels at the first step of the second. */
static int stop_in_second_epoch(const tailor_progress *p, void *user) {
    (void)user;
    return p->epoch >= 1 && !p->epoch_end;
}

/* Progress callback: keeps the size the library declares for the struct it passes (rule 2). */
static int keep_progress_size(const tailor_progress *p, void *user) {
    *(int64_t *)user = p->size;
    return 0;
}

/* ---- Rule 2, output structs ------------------------------------------------------------------
 * The struct is received into a buffer filled with a canary byte. A program built against a newer
 * header has a larger struct: declared with that larger size, the library fills its own fields and
 * leaves the bytes after them alone. A program built against an older header has a shorter one:
 * declared with that size, only that prefix is written. Sizes that are 0, negative, not a multiple
 * of 8 or above TAILOR_MAX_STRUCT_BYTES are TAILOR_ERR_INVALID_ARGUMENT, with nothing written. */
#define CANARY 0xA5
typedef union {
    int64_t size;
    double d;
    const void *p;
    unsigned char b[1024];
} out_buf;
static union {
    int64_t size;
    double d;
    const void *p;
    unsigned char b[TAILOR_MAX_STRUCT_BYTES];
} largest;

typedef tailor_status (*out_getter)(void *ctx, void *out);
typedef struct {
    tailor_net *net;
    int64_t index;
} at_index;
typedef struct {
    tailor_net *net;
    const tailor_hw_config *cfg;
} with_config;

static tailor_status get_node(void *c, void *out) {
    return tailor_net_node_info(((at_index *)c)->net, ((at_index *)c)->index, (tailor_node_info *)out);
}
static tailor_status get_skip(void *c, void *out) {
    return tailor_net_skip_info(((at_index *)c)->net, ((at_index *)c)->index, (tailor_skip_info *)out);
}
static tailor_status get_param(void *c, void *out) {
    return tailor_net_param_info(((at_index *)c)->net, ((at_index *)c)->index, (tailor_param_info *)out);
}
static tailor_status get_skip_cost(void *c, void *out) {
    return tailor_net_skip_cost(((at_index *)c)->net, ((at_index *)c)->index, (tailor_skip_cost *)out);
}
static tailor_status get_fifo(void *c, void *out) {
    return tailor_net_fifo(((at_index *)c)->net, ((at_index *)c)->index, (tailor_fifo *)out);
}
static tailor_status get_history(void *c, void *out) {
    return tailor_net_history(((at_index *)c)->net, ((at_index *)c)->index, (tailor_epoch_stats *)out);
}
static tailor_status get_totals(void *c, void *out) {
    int64_t n = 0;
    return tailor_net_estimate(((with_config *)c)->net, ((with_config *)c)->cfg, &n, (tailor_hw_totals *)out);
}

static void arm(unsigned char *b, size_t n, int64_t size) {
    memset(b, CANARY, n);
    memcpy(b, &size, sizeof size);
}

static int untouched(const unsigned char *b, size_t from, size_t to) {
    for (; from < to; from++)
        if (b[from] != CANARY) return 0;
    return 1;
}

/* `lib` is sizeof the struct in this header (the library's), `prefix` an older header's size (the
 * offset of a later field). On return `full` holds the struct as a newer program receives it and
 * `part` the prefix, for the caller to compare field by field. */
static void check_output_struct(const char *what, size_t lib, size_t prefix, out_getter get, void *ctx, out_buf *full,
                                out_buf *part) {
    static const int64_t bad[] = {0, -8, 12, TAILOR_MAX_STRUCT_BYTES + 8};
    char msg[200];
    out_buf u;
    size_t k;
    arm(full->b, sizeof full->b, (int64_t)lib + 64);
    snprintf(msg, sizeof msg, "%s: a larger struct (size %d) gets the library's fields; the canary after them is untouched", what,
             (int)lib + 64);
    CHECK(get(ctx, full->b) == TAILOR_OK && full->size == (int64_t)lib + 64 && untouched(full->b, lib, sizeof full->b), msg);
    arm(part->b, sizeof part->b, (int64_t)prefix);
    snprintf(msg, sizeof msg, "%s: a shorter struct (size %d) gets only that prefix", what, (int)prefix);
    CHECK(get(ctx, part->b) == TAILOR_OK && part->size == (int64_t)prefix && untouched(part->b, prefix, sizeof part->b), msg);
    arm(u.b, sizeof u.b, (int64_t)lib);
    snprintf(msg, sizeof msg, "%s: size = sizeof, nothing written past it", what);
    CHECK(get(ctx, u.b) == TAILOR_OK && u.size == (int64_t)lib && untouched(u.b, lib, sizeof u.b), msg);
    arm(u.b, sizeof u.b, 8);
    snprintf(msg, sizeof msg, "%s: size 8 (just the size field) is a valid, empty prefix", what);
    CHECK(get(ctx, u.b) == TAILOR_OK && untouched(u.b, 8, sizeof u.b), msg);
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        arm(u.b, sizeof u.b, bad[k]);
        snprintf(msg, sizeof msg, "%s: size %lld is TAILOR_ERR_INVALID_ARGUMENT, nothing written", what, (long long)bad[k]);
        CHECK(get(ctx, u.b) == TAILOR_ERR_INVALID_ARGUMENT && untouched(u.b, 8, sizeof u.b) && strstr(tailor_last_error(), "size"), msg);
    }
    arm(largest.b, sizeof largest.b, TAILOR_MAX_STRUCT_BYTES);
    snprintf(msg, sizeof msg, "%s: size TAILOR_MAX_STRUCT_BYTES is accepted, nothing past the library's fields written", what);
    CHECK(get(ctx, largest.b) == TAILOR_OK && untouched(largest.b, lib, sizeof largest.b), msg);
}

static int same_str(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

static int same_cost(const tailor_hw_cost *a, const tailor_hw_cost *b) {
    return a->bram18 == b->bram18 && a->uram == b->uram && a->lut == b->lut && a->ff == b->ff && a->dsp == b->dsp &&
           a->bytes == b->bytes;
}

static int64_t print_skips(tailor_net *net) {
    int64_t n = 0, i, k;
    const char *span = NULL;
    CHECK(tailor_net_skip_count(net, &n) == TAILOR_OK, "skip count");
    for (i = 0; i < n; i++) {
        tailor_skip_info s = {.size = sizeof s};
        CHECK(tailor_net_skip_info(net, i, &s) == TAILOR_OK, "skip info");
        printf("  %-9s #%lld %-7s %-16s -> %-16s proj=%-20s spans=%lld shape=%lldx%lldx%lld\n", s.block_name,
               (long long)s.index, mode_name(s.mode), s.source, s.join ? s.join : "-",
               s.projection ? s.projection : "-", (long long)s.num_spans, (long long)s.channels,
               (long long)s.height, (long long)s.width);
        /* Rule 3: the convolutions a skip bypasses, by index. A basic block's long (or removed) skip
         * spans conv1 and conv2; each short skip spans one. */
        CHECK(s.num_spans == (s.mode == TAILOR_MODE_SHORT ? 1 : 2), "spans of a basic block's skip");
        for (k = 0; k < s.num_spans; k++) {
            char expect[64];
            snprintf(expect, sizeof expect, "%s.conv%lld", s.block_name,
                     (long long)(s.mode == TAILOR_MODE_SHORT ? s.index + 1 : k + 1));
            CHECK(tailor_net_skip_span(net, i, k, &span) == TAILOR_OK && span && !strcmp(span, expect), expect);
        }
        CHECK(tailor_net_skip_span(net, i, s.num_spans, &span) == TAILOR_ERR_INVALID_ARGUMENT &&
              tailor_net_skip_span(net, i, -1, &span) == TAILOR_ERR_INVALID_ARGUMENT, "span index out of range refused");
    }
    CHECK(tailor_net_skip_span(net, n, 0, &span) == TAILOR_ERR_INVALID_ARGUMENT, "skip index out of range refused");
    return n;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "consumer_c.tailor";
    tailor_net *net = NULL, *back = NULL, *none = NULL;
    int64_t blocks = 0, params = 0, i, c = 0, h = 0, wd = 0, outputs = 0;
    float *w;

    printf("libtailor %s (ABI %d, header ABI %d)\n", tailor_version(), tailor_abi_version(), TAILOR_ABI_VERSION);
    CHECK(tailor_abi_version() == TAILOR_ABI_VERSION, "ABI version matches the header");
    CHECK(tailor_cpu_supported() == 1, "this CPU runs the build it was built on");

    CHECK(tailor_zoo_create("resnet8", 10, 3, 32, 32, 1, &net) == TAILOR_OK, "zoo resnet8");
    CHECK(tailor_net_io_shape(net, &c, &h, &wd, &outputs) == TAILOR_OK && c == 3 && h == 32 && wd == 32 && outputs == 10,
          "io shape");
    CHECK(tailor_net_io_shape(net, NULL, NULL, NULL, &outputs) == TAILOR_OK && outputs == 10, "io shape outputs may be NULL");
    CHECK(tailor_net_block_count(net, &blocks) == TAILOR_OK && blocks == 3, "three residual blocks");
    {
        tailor_net *big = NULL;
        CHECK(tailor_zoo_create("resnet8", 10, 1, 64, 48, 1, &big) == TAILOR_OK &&
              tailor_net_io_shape(big, &c, &h, &wd, NULL) == TAILOR_OK && c == 1 && h == 64 && wd == 48,
              "zoo model with its own input shape");
        tailor_net_free(big);
        big = net;
        CHECK(tailor_zoo_create("resnet8", 10, 3, 0, 32, 1, &big) == TAILOR_ERR_INVALID_ARGUMENT,
              "a partly zero input shape is refused (all 0 is the default)");
        CHECK(big == NULL, "zoo_create refusing its input shape sets *out to NULL (rule 1)");
    }
    printf("ResNet-8 skips (long):\n");
    CHECK(print_skips(net) == 3, "three long skips");

    /* Nodes (rule 3): inputs by index, resolvable by name, earlier in topological order. */
    {
        int64_t nodes = 0, k, j;
        const char *in = NULL;
        CHECK(tailor_net_node_count(net, &nodes) == TAILOR_OK && nodes == 32, "ResNet-8 has 32 nodes");
        for (i = 0; i < nodes; i++) {
            tailor_node_info f = {.size = sizeof f};
            CHECK(tailor_net_node_info(net, i, &f) == TAILOR_OK && f.name && f.op, "node info");
            CHECK(f.num_inputs == (i == 0 ? 0 : !strcmp(f.op, "add") ? 2 : 1), "inputs per node");
            for (k = 0; k < f.num_inputs; k++)
                CHECK(tailor_net_node_input(net, i, k, &in) == TAILOR_OK && in &&
                      tailor_net_node_index(net, in, &j) == TAILOR_OK && j < i, "a node's input is an earlier node");
            CHECK(tailor_net_node_input(net, i, f.num_inputs, &in) == TAILOR_ERR_INVALID_ARGUMENT &&
                  tailor_net_node_input(net, i, -1, &in) == TAILOR_ERR_INVALID_ARGUMENT, "input index out of range refused");
        }
        CHECK(tailor_net_node_input(net, nodes, 0, &in) == TAILOR_ERR_INVALID_ARGUMENT, "node index out of range refused");
        CHECK(tailor_net_node_input(net, 1, 0, NULL) == TAILOR_ERR_INVALID_ARGUMENT, "null name out refused");
        {
            tailor_node_info f = {.size = sizeof f};
            const char *a = NULL, *b = NULL;
            CHECK(tailor_net_node_index(net, "layer2.0.add", &j) == TAILOR_OK && tailor_net_node_info(net, j, &f) == TAILOR_OK &&
                  tailor_net_node_input(net, j, 0, &a) == TAILOR_OK && tailor_net_node_input(net, j, 1, &b) == TAILOR_OK &&
                  !strcmp(a, "layer2.0.bn2") && !strcmp(b, "layer2.0.downsample.1") && f.channels == 32 && f.height == 16 &&
                  f.width == 16 && f.block == 1, "layer2.0.add joins the branch and the projection, 32x16x16");
            CHECK(tailor_net_node_index(net, "layer2.0.conv1", &j) == TAILOR_OK && tailor_net_node_info(net, j, &f) == TAILOR_OK &&
                  !strcmp(f.op, "conv2d") && f.out_channels == 32 && f.kernel == 3 && f.stride == 2 && f.padding == 1 && f.bias == 0,
                  "conv2d fields");
            CHECK(tailor_net_node_index(net, "fc", &j) == TAILOR_OK && tailor_net_node_info(net, j, &f) == TAILOR_OK &&
                  !strcmp(f.op, "dense") && f.channels == 10 && f.height == 1 && f.width == 1 && f.bias == 1 && f.block == -1,
                  "dense: features x 1 x 1, bias, no block");
        }
        /* Rule 2 on tailor_node_info: the prefix up to num_inputs holds name and op. */
        {
            out_buf full, part;
            at_index at;
            tailor_node_info a, b;
            at.net = net;
            CHECK(tailor_net_node_index(net, "layer1.0.add", &at.index) == TAILOR_OK, "node by name");
            check_output_struct("tailor_node_info", sizeof(tailor_node_info), offsetof(tailor_node_info, num_inputs), get_node, &at,
                                &full, &part);
            memcpy(&a, full.b, sizeof a);
            memcpy(&b, part.b, offsetof(tailor_node_info, num_inputs));
            CHECK(same_str(a.name, "layer1.0.add") && same_str(a.op, "add") && a.num_inputs == 2 && a.channels == 16 && a.block == 0 &&
                  same_str(b.name, a.name) && same_str(b.op, a.op), "node info prefix holds the same name and op");
        }
    }

    for (i = 0; i < blocks; i++) CHECK(tailor_net_set_block_mode(net, i, TAILOR_MODE_SHORT) == TAILOR_OK, "shorten");
    printf("shortened:\n");
    CHECK(print_skips(net) == 6, "two short skips per block");
    CHECK(tailor_net_set_block_mode(net, 0, TAILOR_MODE_REMOVED) == TAILOR_OK, "remove block 0");
    printf("block 0 removed:\n");
    CHECK(print_skips(net) == 5, "one removed + four short");
    {
        /* Rule 2 on tailor_skip_info: the prefix up to source holds block, block_name, index, mode, kind. */
        out_buf full, part;
        at_index at;
        tailor_skip_info a, b;
        at.net = net;
        at.index = 2;
        check_output_struct("tailor_skip_info", sizeof(tailor_skip_info), offsetof(tailor_skip_info, source), get_skip, &at, &full,
                            &part);
        memcpy(&a, full.b, sizeof a);
        memcpy(&b, part.b, offsetof(tailor_skip_info, source));
        CHECK(a.block == 1 && same_str(a.block_name, "layer2.0") && a.index == 1 && a.mode == TAILOR_MODE_SHORT &&
              a.kind == TAILOR_BLOCK_BASIC && same_str(a.join, "layer2.0.add2") && a.channels == 32 && b.block == a.block &&
              same_str(b.block_name, a.block_name) && b.index == a.index && b.mode == a.mode && b.kind == a.kind,
              "skip info prefix holds the same fields");
    }

    /* Round trip through a model file; every parameter must come back bit-exact. */
    CHECK(tailor_net_save(net, path) == TAILOR_OK, "save");
    CHECK(tailor_net_load(path, &back) == TAILOR_OK, "load");
    CHECK(tailor_net_param_count(net, &params) == TAILOR_OK && params > 0, "param count");
    for (i = 0; i < params; i++) {
        tailor_param_info p = {.size = sizeof p};
        int64_t count = 1, k, dim = 0;
        float *a, *b;
        CHECK(tailor_net_param_info(net, i, &p) == TAILOR_OK && p.name && p.ndim >= 0 && p.ndim <= 4, "param info");
        for (k = 0; k < p.ndim; k++) {
            CHECK(tailor_net_param_dim(net, i, k, &dim) == TAILOR_OK && dim > 0, "param dim");
            count *= dim;
        }
        CHECK(count == p.count, "count is the product of the dims");
        a = (float *)malloc((size_t)count * sizeof(float));
        b = (float *)malloc((size_t)count * sizeof(float));
        CHECK(tailor_net_get_param(net, p.name, a, count) == TAILOR_OK, "get original");
        CHECK(tailor_net_get_param(back, p.name, b, count) == TAILOR_OK, "get loaded");
        CHECK(memcmp(a, b, (size_t)count * sizeof(float)) == 0, p.name);
        free(a);
        free(b);
    }
    {
        int32_t mode = -1;
        CHECK(tailor_net_block_info(back, 0, NULL, NULL, &mode) == TAILOR_OK && mode == TAILOR_MODE_REMOVED,
              "mode survives the file");
    }
    printf("model file round trip: %lld tensors identical\n", (long long)params);
    /* Parameter dims (rule 3) and tailor_param_info's size rule. */
    {
        tailor_param_info p = {.size = sizeof p};
        int64_t idx = -1, d[4] = {0, 0, 0, 0}, dim = 0, k;
        out_buf full, part;
        at_index at;
        tailor_param_info a, b;
        CHECK(tailor_net_param_index(net, "conv1.weight", &idx) == TAILOR_OK && tailor_net_param_info(net, idx, &p) == TAILOR_OK &&
              p.ndim == 4 && p.count == 432 && p.is_integer == 0, "conv1.weight: rank 4, 432 values");
        for (k = 0; k < 4; k++) CHECK(tailor_net_param_dim(net, idx, k, &d[k]) == TAILOR_OK, "conv1.weight dim");
        CHECK(d[0] == 16 && d[1] == 3 && d[2] == 3 && d[3] == 3, "conv1.weight is 16x3x3x3 (OIHW)");
        CHECK(tailor_net_param_dim(net, idx, 4, &dim) == TAILOR_ERR_INVALID_ARGUMENT &&
              tailor_net_param_dim(net, idx, -1, &dim) == TAILOR_ERR_INVALID_ARGUMENT, "dim index out of range refused");
        CHECK(tailor_net_param_dim(net, params, 0, &dim) == TAILOR_ERR_INVALID_ARGUMENT &&
              tailor_net_param_info(net, params, &p) == TAILOR_ERR_INVALID_ARGUMENT, "parameter index out of range refused");
        CHECK(tailor_net_param_index(net, "bn1.num_batches_tracked", &idx) == TAILOR_OK &&
              tailor_net_param_info(net, idx, &p) == TAILOR_OK && p.ndim == 0 && p.count == 1 && p.is_integer == 1 &&
              tailor_net_param_dim(net, idx, 0, &dim) == TAILOR_ERR_INVALID_ARGUMENT, "a scalar buffer has no dims");
        at.net = net;
        CHECK(tailor_net_param_index(net, "fc.weight", &at.index) == TAILOR_OK, "fc.weight index");
        check_output_struct("tailor_param_info", sizeof(tailor_param_info), offsetof(tailor_param_info, count), get_param, &at, &full,
                            &part);
        memcpy(&a, full.b, sizeof a);
        memcpy(&b, part.b, offsetof(tailor_param_info, count));
        CHECK(same_str(a.name, "fc.weight") && a.ndim == 2 && a.count == 640 && same_str(b.name, a.name) && b.ndim == a.ndim,
              "param info prefix holds the same name and rank");
    }

    /* Bad calls: each fails with a status and a message, and the handle stays usable. */
    none = net; /* rule 1: a handle output is NULL on failure (not left as it was) */
    CHECK(tailor_zoo_create("resnet9", 10, 0, 0, 0, 0, &none) == TAILOR_ERR_NOT_FOUND, "unknown zoo name");
    CHECK(strstr(tailor_last_error(), "resnet9") != NULL, "message names it");
    CHECK(none == NULL, "failed zoo_create sets *out to NULL");
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
    none = net;
    CHECK(tailor_net_load_buffer("garbage!", 8, &none) == TAILOR_ERR_FORMAT && none == NULL, "garbage buffer");
    none = net;
    CHECK(tailor_net_load("/nonexistent/x.tailor", &none) == TAILOR_ERR_IO && none == NULL, "missing file");
    none = net;
    CHECK(tailor_net_copy(NULL, &none) == TAILOR_ERR_INVALID_ARGUMENT, "copy of NULL");
    CHECK(none == NULL, "a failed copy sets *out to NULL (rule 1)");
    none = net;
    CHECK(tailor_net_load_buffer(NULL, 8, &none) == TAILOR_ERR_INVALID_ARGUMENT, "null buffer refused");
    CHECK(none == NULL, "load_buffer refusing its arguments sets *out to NULL (rule 1)");
    CHECK(tailor_net_set_block_mode(net, 0, TAILOR_MODE_LONG) == TAILOR_OK, "handle still usable");

    /* Hardware model: ResNet-8 on hls4ml, default depths. The skips clone 16x32x32, 16x32x32 and
     * 32x16x16 tensors, so hls4ml's default FIFOs are H*W = 1024, 1024, 256 words of C*16 bits. */
    {
        tailor_net *r8 = NULL, *removed = NULL;
        tailor_hw_config cfg;
        tailor_skip_cost row = {.size = sizeof row};
        tailor_hw_totals totals = {.size = sizeof totals}, after = {.size = sizeof after};
        int64_t n = 0, k;
        const char *json = NULL;
        const int64_t depth[3] = {1024, 1024, 256}, bits[3] = {256, 256, 512};
        CHECK(tailor_zoo_create("resnet8", 10, 0, 0, 0, 0, &r8) == TAILOR_OK, "zoo resnet8 for estimate");
        CHECK(tailor_net_skip_cost(r8, 0, &row) == TAILOR_ERR_NOT_FOUND, "no rows before tailor_net_estimate");
        CHECK(tailor_hw_config_init(&cfg) == TAILOR_OK && cfg.bits == 16 && cfg.size == (int64_t)sizeof cfg, "config defaults");
        CHECK(tailor_net_estimate(r8, &cfg, &n, NULL) == TAILOR_OK && n == 3, "skip count from estimate (totals may be NULL)");
        CHECK(tailor_net_estimate(r8, &cfg, &n, &totals) == TAILOR_OK && n == 3, "estimate");
        printf("hls4ml default, 16 bits:\n");
        for (k = 0; k < n && k < 3; k++) {
            CHECK(tailor_net_skip_cost(r8, k, &row) == TAILOR_OK && row.size == (int64_t)sizeof row, "row");
            printf("  %-9s %-26s depth %5lld x %4lld bits  BRAM18 %3lld  LUT %5lld  FF %5lld\n", row.block_name,
                   row.buffer, (long long)row.depth_words, (long long)row.word_bits,
                   (long long)row.cost.bram18, (long long)row.cost.lut, (long long)row.cost.ff);
            CHECK(row.depth_words == depth[k] && row.word_bits == bits[k], "default depth and width");
            CHECK(row.block == k && row.mode == TAILOR_MODE_LONG && row.channels * 16 == row.word_bits &&
                  row.height * row.width == row.depth_words, "row: the stream the skip FIFO holds");
        }
        CHECK(tailor_net_skip_cost(r8, n, &row) == TAILOR_ERR_NOT_FOUND && tailor_net_skip_cost(r8, -1, &row) == TAILOR_ERR_NOT_FOUND,
              "row index out of range");
        CHECK(tailor_net_skip_cost(r8, 0, NULL) == TAILOR_ERR_INVALID_ARGUMENT, "null row out");
        CHECK(tailor_net_estimate(r8, &cfg, NULL, &totals) == TAILOR_ERR_INVALID_ARGUMENT, "null count");
        CHECK(totals.total.bram18 == totals.skips.bram18 + totals.rest.bram18 && totals.latency_us < 0, "totals add up");
        /* Rows belong to the last estimate on the handle. */
        cfg.bits = 8;
        CHECK(tailor_net_estimate(r8, &cfg, &n, NULL) == TAILOR_OK && tailor_net_skip_cost(r8, 2, &row) == TAILOR_OK &&
              row.word_bits == 256, "rows are the last estimate's (8 bits: 32 x 8)");
        cfg.bits = 16;
        CHECK(tailor_net_copy(r8, &removed) == TAILOR_OK, "copy");
        CHECK(tailor_net_skip_cost(removed, 0, &row) == TAILOR_ERR_NOT_FOUND, "a copy has no rows of its own yet");
        for (k = 0; k < 3; k++) CHECK(tailor_net_set_block_mode(removed, k, TAILOR_MODE_REMOVED) == TAILOR_OK, "remove");
        CHECK(tailor_net_estimate(removed, &cfg, &n, &after) == TAILOR_OK && after.skips.bram18 == 0 &&
              after.total.bram18 < totals.total.bram18, "removing every skip saves BRAM");
        CHECK(tailor_net_skip_cost(removed, 1, &row) == TAILOR_OK && row.mode == TAILOR_MODE_REMOVED && row.buffer == NULL &&
              row.lag_words == -1 && row.channels == 0, "a removed skip's row");
        CHECK(tailor_net_compare_json(r8, removed, &cfg, &json) == TAILOR_OK && strstr(json, "\"mode_after\":\"removed\""),
              "compare JSON");
        CHECK(tailor_net_estimate_json(r8, &cfg, &json) == TAILOR_OK && strstr(json, "\"explain\""), "report JSON");
        cfg.bits = 0;
        CHECK(tailor_net_estimate(r8, &cfg, &n, NULL) == TAILOR_ERR_INVALID_ARGUMENT &&
              strstr(tailor_last_error(), "bits") != NULL, "bad bits named");
        cfg.bits = 16;
        cfg.target = "vivado";
        CHECK(tailor_net_estimate(r8, &cfg, &n, NULL) == TAILOR_ERR_INVALID_ARGUMENT &&
              strstr(tailor_last_error(), "target") != NULL, "unknown target named");
        cfg.target = "hls4ml";
        cfg.size = 0;
        CHECK(tailor_net_estimate(r8, &cfg, &n, NULL) == TAILOR_ERR_INVALID_ARGUMENT && strstr(tailor_last_error(), "size"),
              "uninitialised config (size 0) refused");
        cfg.size = TAILOR_MAX_STRUCT_BYTES + 8;
        CHECK(tailor_net_estimate(r8, &cfg, &n, NULL) == TAILOR_ERR_INVALID_ARGUMENT, "config size above TAILOR_MAX_STRUCT_BYTES refused");
        cfg.size = 20;
        CHECK(tailor_net_estimate(r8, &cfg, &n, NULL) == TAILOR_ERR_INVALID_ARGUMENT, "config size not a multiple of 8 refused");
        cfg.size = (int64_t)sizeof cfg;
        CHECK(tailor_net_estimate(r8, NULL, &n, NULL) == TAILOR_ERR_INVALID_ARGUMENT, "null config");

        /* Rule 2 on tailor_hw_totals and tailor_skip_cost. */
        {
            out_buf full, part;
            with_config wc;
            at_index at;
            tailor_hw_totals ta, tb;
            tailor_skip_cost ra, rb;
            wc.net = r8;
            wc.cfg = &cfg;
            check_output_struct("tailor_hw_totals", sizeof(tailor_hw_totals), offsetof(tailor_hw_totals, rest), get_totals, &wc, &full,
                                &part);
            memcpy(&ta, full.b, sizeof ta);
            memcpy(&tb, part.b, offsetof(tailor_hw_totals, rest));
            CHECK(same_cost(&ta.total, &totals.total) && same_cost(&ta.skips, &totals.skips) && same_cost(&tb.skips, &ta.skips),
                  "totals prefix holds the same skips cost");
            at.net = r8;
            at.index = 1;
            check_output_struct("tailor_skip_cost", sizeof(tailor_skip_cost), offsetof(tailor_skip_cost, channels), get_skip_cost, &at,
                                &full, &part);
            memcpy(&ra, full.b, sizeof ra);
            memcpy(&rb, part.b, offsetof(tailor_skip_cost, channels));
            CHECK(ra.block == 1 && same_str(ra.block_name, "layer2.0") && ra.depth_words == 1024 && rb.block == ra.block &&
                  same_str(rb.block_name, ra.block_name) && rb.index == ra.index && rb.mode == ra.mode && rb.memory == ra.memory &&
                  same_str(rb.buffer, ra.buffer), "skip cost prefix holds the same fields");
        }

        /* Rule 2, input structs: a tailor_hw_config from an older header (size ending before
         * `backend`) estimates like the defaults, whatever lies after its size. With the same
         * values inside its size, they count (so the check can tell). */
        {
            tailor_hw_config older;
            tailor_hw_totals t_def = {.size = sizeof t_def}, t_old = {.size = sizeof t_old};
            struct {
                tailor_hw_config cfg;
                unsigned char tail[64];
            } wide;
            CHECK(tailor_hw_config_init(&older) == TAILOR_OK && tailor_net_estimate(r8, &older, &n, &t_def) == TAILOR_OK, "default totals");
            older.backend = "vitis";
            older.interface = "axi_wrapper";
            older.strategy = "resource";
            older.layers_json = "{\"conv1\": {\"reuse_factor\": \"many\"}}";
            older.size = (int64_t)offsetof(tailor_hw_config, backend);
            CHECK(tailor_net_estimate(r8, &older, &n, &t_old) == TAILOR_OK && same_cost(&t_old.total, &t_def.total) &&
                  same_cost(&t_old.skips, &t_def.skips), "fields past size are defaulted: estimates like the defaults");
            older.size = (int64_t)sizeof older;
            CHECK(tailor_net_estimate(r8, &older, &n, &t_old) == TAILOR_ERR_INVALID_ARGUMENT && strstr(tailor_last_error(), "conv1"),
                  "inside size the same layers_json is read (and refused)");
            older.layers_json = NULL;
            CHECK(tailor_net_estimate(r8, &older, &n, &t_old) == TAILOR_OK && !same_cost(&t_old.total, &t_def.total),
                  "inside size backend/interface/strategy change the design");
            /* size 8: nothing but the size; every field defaulted, garbage after it ignored. */
            older.target = "vivado";
            older.bits = 0;
            older.depth_policy = "sometimes";
            older.size = 8;
            CHECK(tailor_net_estimate(r8, &older, &n, &t_old) == TAILOR_OK && same_cost(&t_old.total, &t_def.total),
                  "a config of size 8 is all defaults");
            /* The defaults function: fills an older struct's prefix only; zeroes what it does not know of a newer one. */
            memset(&wide, CANARY, sizeof wide);
            CHECK(tailor_hw_config_defaults(&wide.cfg, (int64_t)offsetof(tailor_hw_config, backend)) == TAILOR_OK &&
                  wide.cfg.size == (int64_t)offsetof(tailor_hw_config, backend) && wide.cfg.bits == 16 &&
                  same_str(wide.cfg.target, "hls4ml") && wide.cfg.onchip_kib == 256 &&
                  untouched((const unsigned char *)&wide, offsetof(tailor_hw_config, backend), sizeof wide),
                  "hw defaults for an older struct fill only its prefix");
            memset(&wide, CANARY, sizeof wide);
            CHECK(tailor_hw_config_defaults(&wide.cfg, (int64_t)sizeof wide) == TAILOR_OK && wide.cfg.size == (int64_t)sizeof wide &&
                  wide.cfg.bits == 16 && same_str(wide.cfg.strategy, "latency") && wide.tail[0] == 0 && wide.tail[63] == 0 &&
                  !memcmp(wide.tail, wide.tail + 1, sizeof wide.tail - 1),
                  "hw defaults for a newer struct zero the fields this library does not know");
            memset(&wide, CANARY, sizeof wide);
            CHECK(tailor_hw_config_defaults(&wide.cfg, 0) == TAILOR_ERR_INVALID_ARGUMENT &&
                  tailor_hw_config_defaults(&wide.cfg, TAILOR_MAX_STRUCT_BYTES + 8) == TAILOR_ERR_INVALID_ARGUMENT &&
                  tailor_hw_config_defaults(&wide.cfg, 12) == TAILOR_ERR_INVALID_ARGUMENT &&
                  untouched((const unsigned char *)&wide, 0, sizeof wide), "hw defaults: bad sizes refused, nothing written");
            CHECK(tailor_hw_config_defaults(NULL, (int64_t)sizeof older) == TAILOR_ERR_INVALID_ARGUMENT, "hw defaults: NULL refused");
        }
        tailor_net_free(removed);
        tailor_net_free(r8);
    }

    /* Lookups by name for the index-based calls. */
    {
        tailor_net *r8 = NULL;
        int64_t i = -1;
        tailor_param_info p = {.size = sizeof p};
        CHECK(tailor_zoo_create("resnet8", 10, 0, 0, 0, 0, &r8) == TAILOR_OK, "zoo resnet8 for lookups");
        CHECK(tailor_net_block_index(r8, "layer2.0", &i) == TAILOR_OK && i == 1, "block by name");
        CHECK(tailor_net_node_index(r8, "input", &i) == TAILOR_OK && i == 0 && tailor_net_node_index(r8, "fc", &i) == TAILOR_OK && i > 20, "node by name");
        CHECK(tailor_net_param_index(r8, "layer1.0.conv2.weight", &i) == TAILOR_OK &&
              tailor_net_param_info(r8, i, &p) == TAILOR_OK && !strcmp(p.name, "layer1.0.conv2.weight"), "parameter by name");
        CHECK(tailor_net_block_index(r8, "layer9.9", &i) == TAILOR_ERR_NOT_FOUND && strstr(tailor_last_error(), "layer9.9"), "unknown block named");
        CHECK(tailor_net_param_index(r8, NULL, &i) == TAILOR_ERR_INVALID_ARGUMENT, "null name");
        tailor_net_free(r8);
    }

    /* Rule 5: a handle's strings. A JSON text stays valid and unchanged until the next call of the
     * same function on the same handle: other JSON calls, a mode switch, a per-thread string in
     * between do not touch it. Names stay valid until the handle is freed, across rebuilds. */
    {
        tailor_net *r8 = NULL, *other = NULL;
        tailor_hw_config cfg;
        tailor_skip_info s = {.size = sizeof s};
        const char *desc = NULL, *est = NULL, *cmp = NULL, *sim = NULL, *name = NULL, *join = NULL;
        char *desc_copy = NULL, *est_copy = NULL, *name_copy = NULL, *join_copy = NULL;
        int64_t k;
        CHECK(tailor_zoo_create("resnet8", 10, 0, 0, 0, 0, &r8) == TAILOR_OK && tailor_hw_config_init(&cfg) == TAILOR_OK &&
              tailor_net_copy(r8, &other) == TAILOR_OK, "resnet8 for strings");
        CHECK(tailor_net_describe(r8, &desc) == TAILOR_OK && desc && (desc_copy = dup_str(desc)) != NULL, "describe");
        CHECK(tailor_net_skip_info(r8, 0, &s) == TAILOR_OK && (name_copy = dup_str(s.block_name)) && (join_copy = dup_str(s.join)),
              "skip names");
        name = s.block_name;
        join = s.join;
        CHECK(tailor_net_estimate_json(r8, &cfg, &est) == TAILOR_OK && est && (est_copy = dup_str(est)) != NULL, "estimate JSON");
        CHECK(!strcmp(desc, desc_copy), "describe JSON valid and unchanged after tailor_net_estimate_json on the same handle");
        CHECK(tailor_net_compare_json(other, r8, &cfg, &cmp) == TAILOR_OK && cmp && strstr(cmp, "\"blocks\""), "compare JSON on the same handle");
        CHECK(!strcmp(desc, desc_copy) && !strcmp(est, est_copy), "describe and estimate JSON unchanged after compare_json");
        CHECK(tailor_net_estimate_json(other, &cfg, &cmp) == TAILOR_OK && tailor_net_describe(other, &cmp) == TAILOR_OK,
              "JSON calls on another handle");
        CHECK(tailor_dataflow_simulate_json("{\"layers\": [{\"name\": \"x\", \"class\": \"Input\", \"shape\": [1, 4, 2]}]}", &sim) ==
              TAILOR_OK && sim && strstr(sim, "\"streams\""), "a per-thread JSON");
        for (k = 0; k < 3; k++) CHECK(tailor_net_set_block_mode(r8, k, TAILOR_MODE_SHORT) == TAILOR_OK, "rebuild the nodes");
        CHECK(!strcmp(desc, desc_copy) && !strcmp(est, est_copy), "handle JSON unchanged after other handles' calls and a mode switch");
        CHECK(!strcmp(name, name_copy) && !strcmp(join, join_copy), "names from before a rebuild stay valid");
        CHECK(tailor_net_describe(r8, &desc) == TAILOR_OK && strstr(desc, "\"short\""), "a new describe reports the new modes");
        CHECK(!strcmp(est, est_copy), "estimate JSON unchanged after a new describe");
        free(desc_copy);
        free(est_copy);
        free(name_copy);
        free(join_copy);
        tailor_net_free(other);
        tailor_net_free(r8);
    }

    /* Rule 7: limits. Strings of TAILOR_MAX_STRING_BYTES are taken, one byte more is refused with
     * TAILOR_ERR_INVALID_ARGUMENT naming the limit (not looked up and reported as unknown). */
    {
        char *name = (char *)malloc(TAILOR_MAX_STRING_BYTES + 2), *json = (char *)malloc(TAILOR_MAX_JSON_BYTES + 2);
        tailor_net *b = NULL, *r8 = NULL;
        tailor_node_info f = {.size = sizeof f};
        tailor_hw_config cfg;
        int64_t idx = -1, n = 0, dims[TAILOR_MAX_RANK + 1];
        float wv[432];
        tailor_status st;
        memset(name, 'n', TAILOR_MAX_STRING_BYTES + 1);
        name[TAILOR_MAX_STRING_BYTES + 1] = '\0'; /* TAILOR_MAX_STRING_BYTES + 1 bytes */
        CHECK(tailor_net_create(3, &b) == TAILOR_OK && tailor_zoo_create("resnet8", 10, 0, 0, 0, 0, &r8) == TAILOR_OK, "handles for limits");
        CHECK(tailor_net_add_input(b, name, 3, 8, 8, NULL) == TAILOR_ERR_INVALID_ARGUMENT &&
              names_limit("TAILOR_MAX_STRING_BYTES", TAILOR_MAX_STRING_BYTES), "a node name of TAILOR_MAX_STRING_BYTES+1 bytes refused");
        CHECK(tailor_net_node_index(r8, name, &idx) == TAILOR_ERR_INVALID_ARGUMENT, "an over-long lookup name refused, not NOT_FOUND");
        none = r8;
        CHECK(tailor_zoo_create(name, 10, 0, 0, 0, 0, &none) == TAILOR_ERR_INVALID_ARGUMENT, "an over-long zoo name refused, not NOT_FOUND");
        CHECK(none == NULL, "zoo_create refusing its name sets *out to NULL (rule 1)");
        name[0] = '/';
        none = r8;
        CHECK(tailor_net_load(name, &none) == TAILOR_ERR_INVALID_ARGUMENT, "an over-long path refused, not IO");
        CHECK(none == NULL, "load refusing its path sets *out to NULL (rule 1)");
        CHECK(tailor_net_save(r8, name) == TAILOR_ERR_INVALID_ARGUMENT, "an over-long save path refused");
        name[0] = 'n';
        name[TAILOR_MAX_STRING_BYTES] = '\0'; /* exactly TAILOR_MAX_STRING_BYTES */
        CHECK(tailor_zoo_create(name, 10, 0, 0, 0, 0, &none) == TAILOR_ERR_NOT_FOUND &&
              tailor_net_node_index(r8, name, &idx) == TAILOR_ERR_NOT_FOUND, "names of exactly TAILOR_MAX_STRING_BYTES are looked up");
        /* Node names have their own, shorter limit. */
        name[TAILOR_MAX_NODE_NAME_BYTES + 1] = '\0';
        CHECK(tailor_net_add_input(b, name, 3, 8, 8, NULL) == TAILOR_ERR_INVALID_ARGUMENT &&
              names_limit("TAILOR_MAX_NODE_NAME_BYTES", TAILOR_MAX_NODE_NAME_BYTES), "a node name of TAILOR_MAX_NODE_NAME_BYTES+1 bytes refused");
        name[TAILOR_MAX_NODE_NAME_BYTES] = '\0';
        CHECK(tailor_net_add_input(b, name, 3, 8, 8, &idx) == TAILOR_OK && idx == 0 && tailor_net_node_info(b, 0, &f) == TAILOR_OK &&
              strlen(f.name) == TAILOR_MAX_NODE_NAME_BYTES && tailor_net_node_index(b, name, &idx) == TAILOR_OK && idx == 0,
              "a node name of exactly TAILOR_MAX_NODE_NAME_BYTES is taken and found by name");
        /* Dimensions, ranks, batches, JSON options. */
        st = tailor_net_add_conv2d(b, "c", name, TAILOR_MAX_DIM + 1, 1, 1, 0, 0, NULL);
        CHECK((st == TAILOR_ERR_INVALID_ARGUMENT || st == TAILOR_ERR_SHAPE) && names_limit("TAILOR_MAX_DIM", TAILOR_MAX_DIM),
              "out_channels above TAILOR_MAX_DIM refused");
        none = r8;
        st = tailor_zoo_create("resnet8", TAILOR_MAX_DIM + 1, 0, 0, 0, 0, &none);
        CHECK((st == TAILOR_ERR_INVALID_ARGUMENT || st == TAILOR_ERR_SHAPE) && names_limit("TAILOR_MAX_DIM", TAILOR_MAX_DIM),
              "num_classes above TAILOR_MAX_DIM refused");
        CHECK(none == NULL, "zoo_create refusing num_classes sets *out to NULL (rule 1)");
        for (idx = 0; idx <= TAILOR_MAX_RANK; idx++) dims[idx] = 1;
        dims[0] = 432;
        memset(wv, 0, sizeof wv);
        st = tailor_net_set_param(r8, "conv1.weight", wv, TAILOR_MAX_RANK + 1, dims);
        CHECK((st == TAILOR_ERR_INVALID_ARGUMENT || st == TAILOR_ERR_SHAPE) && names_limit("TAILOR_MAX_RANK", TAILOR_MAX_RANK),
              "a rank above TAILOR_MAX_RANK refused");
        memset(json, ' ', TAILOR_MAX_JSON_BYTES + 1);
        json[0] = '{';
        json[TAILOR_MAX_JSON_BYTES] = '}';
        json[TAILOR_MAX_JSON_BYTES + 1] = '\0'; /* TAILOR_MAX_JSON_BYTES + 1 bytes of valid JSON */
        CHECK(tailor_hw_config_init(&cfg) == TAILOR_OK, "config for limits");
        cfg.precision_json = json;
        CHECK(tailor_net_estimate(r8, &cfg, &n, NULL) == TAILOR_ERR_INVALID_ARGUMENT &&
              names_limit("TAILOR_MAX_JSON_BYTES", TAILOR_MAX_JSON_BYTES), "precision_json above TAILOR_MAX_JSON_BYTES refused");
        json[TAILOR_MAX_JSON_BYTES - 1] = '}';
        json[TAILOR_MAX_JSON_BYTES] = '\0'; /* exactly TAILOR_MAX_JSON_BYTES */
        CHECK(tailor_net_estimate(r8, &cfg, &n, NULL) == TAILOR_OK && n == 3, "precision_json of TAILOR_MAX_JSON_BYTES taken");
        free(name);
        free(json);
        tailor_net_free(b);
        tailor_net_free(r8);
    }

    /* Every FIFO of the dataflow design, through counts and index accessors: ResNet-8 has the 33
     * streams hls4ml declares plus its input and output ports. With FIFO-optimised depths every
     * FIFO is hls4ml's would-be maximum + 1, and the skip FIFO of layer1.0 is the deepest. */
    {
        tailor_net *r8 = NULL;
        tailor_hw_config cfg;
        tailor_fifo f = {.size = sizeof f};
        int64_t n = 0, k, fifos = 0, deepest = 0;
        char buf[64] = "";
        const char *design = "{\"layers\": [{\"name\": \"x\", \"class\": \"Input\", \"shape\": [1, 8, 4]},"
                             "{\"name\": \"c\", \"class\": \"Conv2D\", \"inputs\": [\"x\"], \"filters\": 4, \"kernel\": [1, 1],"
                             " \"stride\": [1, 1], \"reuse_factor\": 4}, {\"name\": \"a\", \"class\": \"Add\", \"inputs\": [\"c\", \"x\"]}]}";
        const char *result = NULL;
        CHECK(tailor_zoo_create("resnet8", 10, 0, 0, 0, 0, &r8) == TAILOR_OK, "zoo resnet8 for fifos");
        CHECK(tailor_hw_config_init(&cfg) == TAILOR_OK && cfg.backend == NULL && !strcmp(cfg.strategy, "latency"), "new config defaults");
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
        {
            /* Rule 2 on tailor_fifo: the prefix up to block holds the four names. */
            out_buf full, part;
            at_index at;
            tailor_fifo a, b;
            at.net = r8;
            at.index = 3;
            check_output_struct("tailor_fifo", sizeof(tailor_fifo), offsetof(tailor_fifo, block), get_fifo, &at, &full, &part);
            memcpy(&a, full.b, sizeof a);
            memcpy(&b, part.b, offsetof(tailor_fifo, block));
            CHECK(a.stream && a.role && a.depth >= 1 && same_str(b.stream, a.stream) && same_str(b.producer, a.producer) &&
                  same_str(b.consumer, a.consumer) && same_str(b.role, a.role), "fifo prefix holds the same names");
        }
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
            tailor_skip_cost row = {.size = sizeof row};
            tailor_net *short8 = NULL;
            CHECK(tailor_zoo_create("resnet8", 10, 0, 0, 0, 0, &r8) == TAILOR_OK && tailor_hw_config_init(&cfg) == TAILOR_OK, "resnet8 again");
            cfg.depth_policy = "optimized";
            CHECK(tailor_net_estimate(r8, &cfg, &n, NULL) == TAILOR_OK && n == 3, "optimized rows");
            for (k = 0; k < n; k++)
                CHECK(tailor_net_skip_cost(r8, k, &row) == TAILOR_OK && row.depth_words == (row.lag_words > 2 ? row.lag_words : 2),
                      "lag and depth of the same buffer");
            cfg.precision_json = "{\"nope\": 8}";
            CHECK(tailor_net_estimate(r8, &cfg, &n, NULL) == TAILOR_ERR_INVALID_ARGUMENT && strstr(tailor_last_error(), "nope"),
                  "an unknown node in precision_json is INVALID_ARGUMENT, as the config's other errors");
            cfg.precision_json = NULL;
            cfg.target = "pe_array";
            CHECK(tailor_net_estimate(r8, &cfg, &n, NULL) == TAILOR_ERR_INVALID_ARGUMENT && strstr(tailor_last_error(), "depth_policy"),
                  "depth_policy is refused for pe_array, not ignored");
            cfg.depth_policy = NULL;
            CHECK(tailor_net_copy(r8, &short8) == TAILOR_OK, "copy for short");
            for (k = 0; k < 3; k++) CHECK(tailor_net_set_block_mode(short8, k, TAILOR_MODE_SHORT) == TAILOR_OK, "shorten");
            CHECK(tailor_net_estimate(short8, &cfg, &n, NULL) == TAILOR_OK && n == 6, "PE-array short rows");
            for (k = 0; k < n; k++)
                CHECK(tailor_net_skip_cost(short8, k, &row) == TAILOR_OK && row.buffer && !strcmp(row.buffer, "on-chip buffer") &&
                      row.memory == TAILOR_MEM_NONE, "a short skip's on-chip buffer is named");
            tailor_net_free(short8);
            tailor_net_free(r8);
        }

        /* A design from another tool: the result is a per-thread string (rule 5). */
        CHECK(tailor_dataflow_simulate_json(design, &result) == TAILOR_OK && result && result[0] == '{' &&
              strstr(result, "\"x_cpy2\""), "result JSON");
        CHECK(tailor_dataflow_simulate_json("{\"layers\": [{\"name\": \"x\", \"class\": \"Input\", \"shape\": [2, 2, 1]},"
                                            " {\"name\": \"s\", \"class\": \"Softmax\", \"inputs\": [\"x\"]}]}", &result) ==
              TAILOR_ERR_UNSUPPORTED && strstr(tailor_last_error(), "Softmax"), "a layer without a timing rule is named");
        CHECK(tailor_dataflow_simulate_json(NULL, &result) == TAILOR_ERR_INVALID_ARGUMENT, "null design");
        CHECK(tailor_dataflow_simulate_json("{", &result) == TAILOR_ERR_INVALID_ARGUMENT, "bad JSON");
        CHECK(tailor_dataflow_simulate_json(design, NULL) == TAILOR_ERR_INVALID_ARGUMENT, "null json out");
    }

    /* FPGA parts and budgets: the parts table is static storage; a budget check gives the estimate's
     * totals beside the limits, and every bad budget is a status naming what is wrong. */
    {
        const char *parts = NULL, *again = NULL, *check = NULL;
        tailor_net *r8 = NULL;
        tailor_hw_config cfg;
        tailor_hw_totals tot = {.size = sizeof tot};
        int64_t n = 0;
        char want[160], *big = NULL;
        size_t bigsize = (size_t)TAILOR_MAX_JSON_BYTES + 2;
        CHECK(tailor_fpga_parts_json(&parts) == TAILOR_OK && parts && strstr(parts, "\"xc7z020\"") &&
              strstr(parts, "\"bram18\":280") && strstr(parts, "\"lut\":53200") && strstr(parts, "DS190"),
              "parts table with the Z-7020's data-sheet figures and their source");
        CHECK(tailor_fpga_parts_json(&again) == TAILOR_OK && again == parts, "the parts table is one static string");
        CHECK(tailor_fpga_parts_json(NULL) == TAILOR_ERR_INVALID_ARGUMENT && strstr(tailor_last_error(), "NULL"), "parts: out NULL");

        CHECK(tailor_zoo_create("resnet8", 10, 0, 0, 0, 0, &r8) == TAILOR_OK && tailor_hw_config_init(&cfg) == TAILOR_OK,
              "resnet8 for budgets");
        cfg.bits = 16;
        cfg.depth_policy = "optimized";
        CHECK(tailor_net_estimate(r8, &cfg, &n, &tot) == TAILOR_OK, "estimate for the budget");
        CHECK(tailor_net_budget_check_json(r8, &cfg, "{\"part\": \"XC7Z020CLG400-1\"}", &check) == TAILOR_OK && check,
              "budget against a part with package and speed grade");
        snprintf(want, sizeof want, "\"bram18\":{\"used\":%lld,\"limit\":280,", (long long)tot.total.bram18);
        CHECK(check && strstr(check, want), "bram18 used (the estimate's total) beside the Z-7020's 2 x 140");
        snprintf(want, sizeof want, "\"lut\":{\"used\":%lld,\"limit\":53200,", (long long)tot.total.lut);
        CHECK(check && strstr(check, want), "lut used beside the Z-7020's 53,200");
        /* A limit one under what is used: over by exactly one, and the design does not fit. */
        snprintf(want, sizeof want, "{\"part\": \"xc7z020\", \"lut\": %lld}", (long long)tot.total.lut - 1);
        CHECK(tailor_net_budget_check_json(r8, &cfg, want, &check) == TAILOR_OK && strstr(check, "\"over\":1,\"fits\":false") &&
              strstr(check, "\"fits\":false}"), "a part with an override one LUT short: over by 1, does not fit");
        CHECK(tailor_net_budget_check_json(r8, &cfg, "{\"bram18\": 100000000, \"dsp\": 100000000}", &check) == TAILOR_OK &&
              strstr(check, "\"part\":null") && strstr(check, "\"fits\":true}") && !strstr(check, "\"lut\":{"),
              "custom limits: only the fields given are checked");

        CHECK(tailor_net_budget_check_json(r8, &cfg, "{\"part\": \"xc9z999\"}", &check) == TAILOR_ERR_NOT_FOUND &&
              strstr(tailor_last_error(), "xc9z999") && strstr(tailor_last_error(), "xczu9eg"), "unknown part lists the known ones");
        CHECK(tailor_net_budget_check_json(r8, &cfg, "{\"lut\": -1}", &check) == TAILOR_ERR_INVALID_ARGUMENT &&
              strstr(tailor_last_error(), "lut"), "negative limit named");
        CHECK(tailor_net_budget_check_json(r8, &cfg, "{\"lut\": 1.5}", &check) == TAILOR_ERR_INVALID_ARGUMENT &&
              strstr(tailor_last_error(), "lut"), "fractional limit named");
        CHECK(tailor_net_budget_check_json(r8, &cfg, "{\"luts\": 1}", &check) == TAILOR_ERR_INVALID_ARGUMENT &&
              strstr(tailor_last_error(), "luts"), "unknown field named");
        CHECK(tailor_net_budget_check_json(r8, &cfg, "{\"bytes\": 1000}", &check) == TAILOR_ERR_INVALID_ARGUMENT &&
              strstr(tailor_last_error(), "bytes"), "bytes on hls4ml is a field the target lacks");
        CHECK(tailor_net_budget_check_json(r8, &cfg, "{\"part\": 7}", &check) == TAILOR_ERR_INVALID_ARGUMENT &&
              strstr(tailor_last_error(), "part"), "a part that is not a string");
        CHECK(tailor_net_budget_check_json(r8, &cfg, "{}", &check) == TAILOR_ERR_INVALID_ARGUMENT, "a budget without limits");
        CHECK(tailor_net_budget_check_json(r8, &cfg, "{\"lut\": ", &check) == TAILOR_ERR_INVALID_ARGUMENT &&
              strstr(tailor_last_error(), "JSON"), "malformed JSON");
        CHECK(tailor_net_budget_check_json(r8, &cfg, "[1]", &check) == TAILOR_ERR_INVALID_ARGUMENT, "a budget that is not an object");
        CHECK(tailor_net_budget_check_json(r8, &cfg, NULL, &check) == TAILOR_ERR_INVALID_ARGUMENT && strstr(tailor_last_error(), "NULL"),
              "budget_json NULL");
        CHECK(tailor_net_budget_check_json(r8, &cfg, "{\"part\": \"xc7z020\"}", NULL) == TAILOR_ERR_INVALID_ARGUMENT, "out NULL");
        CHECK(tailor_net_budget_check_json(r8, NULL, "{\"part\": \"xc7z020\"}", &check) == TAILOR_ERR_INVALID_ARGUMENT, "cfg NULL");
        CHECK(tailor_net_budget_check_json(NULL, &cfg, "{\"part\": \"xc7z020\"}", &check) == TAILOR_ERR_INVALID_ARGUMENT,
              "net NULL");
        big = (char *)malloc(bigsize);
        if (big) {
            /* One byte over TAILOR_MAX_JSON_BYTES: refused by length, naming the limit. */
            memset(big, ' ', bigsize - 1);
            big[bigsize - 1] = '\0';
            CHECK(tailor_net_budget_check_json(r8, &cfg, big, &check) == TAILOR_ERR_INVALID_ARGUMENT &&
                  names_limit("TAILOR_MAX_JSON_BYTES", TAILOR_MAX_JSON_BYTES), "over-long budget_json");
            /* A part name over TAILOR_MAX_STRING_BYTES inside a budget of legal length. */
            memcpy(big, "{\"part\": \"", 10);
            memset(big + 10, 'x', (size_t)TAILOR_MAX_STRING_BYTES + 1);
            memcpy(big + 10 + TAILOR_MAX_STRING_BYTES + 1, "\"}", 3);
            CHECK(tailor_net_budget_check_json(r8, &cfg, big, &check) == TAILOR_ERR_INVALID_ARGUMENT &&
                  names_limit("TAILOR_MAX_STRING_BYTES", TAILOR_MAX_STRING_BYTES), "over-long part name");
            free(big);
        }
        /* The PE array: off-chip bytes and its on-chip buffer; device resources are not its fields. */
        tailor_hw_config_init(&cfg);
        cfg.target = "pe_array";
        CHECK(tailor_net_estimate(r8, &cfg, &n, &tot) == TAILOR_OK, "PE-array estimate");
        snprintf(want, sizeof want, "{\"bytes\": %lld, \"onchip_kib\": 128}", (long long)tot.total.bytes);
        CHECK(tailor_net_budget_check_json(r8, &cfg, want, &check) == TAILOR_OK && strstr(check, "\"onchip_kib\":{\"used\":256,") &&
              strstr(check, "\"over\":128,") && strstr(check, "\"fits\":false}"),
              "PE array: bytes at its limit fit, a 256 KiB buffer is 128 KiB over a 128 KiB budget");
        CHECK(tailor_net_budget_check_json(r8, &cfg, "{\"part\": \"xc7z020\"}", &check) == TAILOR_ERR_INVALID_ARGUMENT &&
              strstr(tailor_last_error(), "pe_array") && strstr(tailor_last_error(), "bram18"),
              "a part's device limits on the PE array name the fields it lacks");
        tailor_net_free(r8);
    }

    /* Training: one step and its gradient, a short fit with validation, a cancelling callback. */
    {
        enum { N = 8, VALUES = 8 * 3 * 32 * 32 };
        float *x = (float *)calloc(VALUES, sizeof(float)), grad[432];
        int64_t y[N], nh = -1, k64, psize = 0;
        int k, calls = 0;
        double loss = 0, acc = -1, first_loss[2] = {0, 0};
        tailor_train_config cfg;
        tailor_data data = {.size = sizeof data};
        tailor_epoch_stats e = {.size = sizeof e};
        for (k = 0; k < VALUES; k++) x[k] = (float)((k * 7919) % 101) / 101.0f - 0.5f;
        for (k = 0; k < N; k++) y[k] = k % 10;
        CHECK(tailor_train_config_init(&cfg) == TAILOR_OK && cfg.size == (int64_t)sizeof cfg, "config defaults");
        cfg.lr = 0.01; cfg.batch_size = 4; cfg.epochs = 2;
        CHECK(tailor_net_history_count(net, &nh) == TAILOR_OK && nh == 0 && tailor_net_history(net, 0, &e) == TAILOR_ERR_NOT_FOUND,
              "no history before any fit");
        CHECK(tailor_net_train_step(net, x, N, 3, 32, 32, y, NULL, &cfg, 1, NULL, 0, &loss) == TAILOR_OK && loss > 0,
              "train step");
        CHECK(tailor_net_grad(net, "conv1.weight", grad, 432) == TAILOR_OK, "gradient after the step");
        CHECK(tailor_net_history_count(net, &nh) == TAILOR_OK && nh == 0, "a train step is not a fit: no history");
        data.x = x; data.n = N; data.channels = 3; data.height = 32; data.width = 32;
        data.labels = y;
        CHECK(tailor_net_fit(net, &data, &data, &cfg, NULL, keep_progress_size, &psize) == TAILOR_OK, "fit two epochs");
        CHECK(psize >= (int64_t)(offsetof(tailor_progress, val_accuracy) + sizeof(double)), "the progress struct covers this header's fields");
        /* Rule 4: the fit's history stays on the handle. */
        CHECK(tailor_net_history_count(net, &nh) == TAILOR_OK && nh == 2, "history: one entry per epoch");
        for (k64 = 0; k64 < nh && k64 < 2; k64++) {
            CHECK(tailor_net_history(net, k64, &e) == TAILOR_OK && e.epoch == k64 && isfinite(e.loss) && e.loss > 0 &&
                  e.train_accuracy >= 0 && e.train_accuracy <= 1 && e.val_accuracy >= 0 && e.val_accuracy <= 1 &&
                  isfinite(e.val_loss) && fabs(e.lr - 0.01) < 1e-6, "history entry: epoch numbers 0..n-1, validation figures");
            first_loss[k64] = e.loss;
        }
        CHECK(tailor_net_history(net, 1, &e) == TAILOR_OK, "last epoch");
        printf("fit: epoch 2 loss %.4f, validation accuracy %.3f\n", e.loss, e.val_accuracy);
        CHECK(tailor_net_history(net, 2, &e) == TAILOR_ERR_NOT_FOUND && tailor_net_history(net, -1, &e) == TAILOR_ERR_NOT_FOUND,
              "history index out of range is NOT_FOUND");
        CHECK(tailor_net_history(net, 0, NULL) == TAILOR_ERR_INVALID_ARGUMENT && tailor_net_history_count(net, NULL) ==
              TAILOR_ERR_INVALID_ARGUMENT, "null history outs");
        {
            out_buf full, part;
            at_index at;
            tailor_epoch_stats a, b;
            at.net = net;
            at.index = 1;
            check_output_struct("tailor_epoch_stats", sizeof(tailor_epoch_stats), offsetof(tailor_epoch_stats, val_loss), get_history,
                                &at, &full, &part);
            memcpy(&a, full.b, sizeof a);
            memcpy(&b, part.b, offsetof(tailor_epoch_stats, val_loss));
            CHECK(a.epoch == 1 && a.loss == first_loss[1] && b.epoch == a.epoch && b.loss == a.loss &&
                  b.train_accuracy == a.train_accuracy, "epoch stats prefix holds the same figures");
        }
        CHECK(tailor_net_fit(net, &data, NULL, &cfg, NULL, stop_at_second_step, &calls)
              == TAILOR_ERR_CANCELLED && calls == 2, "callback cancels");
        CHECK(tailor_net_history_count(net, &nh) == TAILOR_OK && nh == 0 && tailor_net_history(net, 0, &e) == TAILOR_ERR_NOT_FOUND,
              "a fit cancelled in its first epoch leaves an empty history (not the previous fit's)");
        CHECK(tailor_net_fit(net, &data, NULL, &cfg, NULL, stop_in_second_epoch, NULL) == TAILOR_ERR_CANCELLED,
              "cancel in the second epoch");
        CHECK(tailor_net_history_count(net, &nh) == TAILOR_OK && nh == 1 && tailor_net_history(net, 0, &e) == TAILOR_OK &&
              e.epoch == 0 && isfinite(e.loss) && isnan(e.val_loss) && isnan(e.val_accuracy) &&
              tailor_net_history(net, 1, &e) == TAILOR_ERR_NOT_FOUND,
              "a cancelled fit keeps its completed epoch (no validation: NaN)");
        y[3] = 10;
        CHECK(tailor_net_fit(net, &data, NULL, &cfg, NULL, NULL, NULL) == TAILOR_ERR_INVALID_ARGUMENT,
              "label out of range refused");
        CHECK(tailor_net_history_count(net, &nh) == TAILOR_OK && nh == 0,
              "a fit that fails keeps the history of the epochs it completed: none (not the previous fit's)");
        y[3] = 3;
        CHECK(tailor_net_evaluate(net, &data, NULL, &acc) == TAILOR_OK && acc >= 0 && acc <= 1, "evaluate");

        /* Rule 2, input structs: tailor_data and tailor_train_config read as a prefix. */
        {
            float mean[3] = {0.25f, -0.5f, 0.125f}, sd[3] = {0.5f, 0.25f, 2.0f};
            tailor_data older = data;
            tailor_train_config oldcfg = cfg;
            double l_plain = 0, l_norm = 0, l_old = 0;
            CHECK(tailor_net_evaluate(net, &data, &l_plain, NULL) == TAILOR_OK, "evaluate without normalisation");
            older.mean = mean;
            older.std = sd;
            CHECK(tailor_net_evaluate(net, &older, &l_norm, NULL) == TAILOR_OK && fabs(l_norm - l_plain) > 1e-4,
                  "inside size mean/std normalise (so the next check can tell)");
            older.size = (int64_t)offsetof(tailor_data, mean);
            CHECK(tailor_net_evaluate(net, &older, &l_old, NULL) == TAILOR_OK && fabs(l_old - l_plain) <= 1e-9 * (1 + fabs(l_plain)),
                  "a tailor_data ending before mean: mean/std default to NULL, whatever follows");
            older.size = (int64_t)offsetof(tailor_data, std);
            CHECK(tailor_net_evaluate(net, &older, &l_old, NULL) == TAILOR_ERR_INVALID_ARGUMENT,
                  "mean inside size, std defaulted to NULL: refused (std NULL iff mean NULL)");
            older.size = 0;
            CHECK(tailor_net_evaluate(net, &older, &l_old, NULL) == TAILOR_ERR_INVALID_ARGUMENT &&
                  tailor_net_fit(net, &older, NULL, &cfg, NULL, NULL, NULL) == TAILOR_ERR_INVALID_ARGUMENT, "tailor_data size 0 refused");
            older.size = TAILOR_MAX_STRUCT_BYTES + 8;
            CHECK(tailor_net_evaluate(net, &older, &l_old, NULL) == TAILOR_ERR_INVALID_ARGUMENT,
                  "tailor_data size above TAILOR_MAX_STRUCT_BYTES refused");
            /* A train config ending before checkpoint_path gets no checkpoint (the default); the
             * same unwritable path inside its size stops the fit with TAILOR_ERR_IO. */
            oldcfg.epochs = 1;
            oldcfg.checkpoint_path = "/nonexistent-tailor-dir/consumer.ckpt";
            oldcfg.checkpoint_note = "never written";
            oldcfg.size = (int64_t)offsetof(tailor_train_config, checkpoint_path);
            CHECK(tailor_net_fit(net, &data, NULL, &oldcfg, NULL, NULL, NULL) == TAILOR_OK &&
                  tailor_net_history_count(net, &nh) == TAILOR_OK && nh == 1,
                  "a train config ending before checkpoint_path: fields past size defaulted (no checkpoint)");
            oldcfg.size = (int64_t)sizeof oldcfg;
            CHECK(tailor_net_fit(net, &data, NULL, &oldcfg, NULL, NULL, NULL) == TAILOR_ERR_IO,
                  "inside size the unwritable checkpoint_path is used (TAILOR_ERR_IO)");
            oldcfg.size = 0;
            CHECK(tailor_net_fit(net, &data, NULL, &oldcfg, NULL, NULL, NULL) == TAILOR_ERR_INVALID_ARGUMENT &&
                  tailor_net_train_step(net, x, N, 3, 32, 32, y, NULL, &oldcfg, 1, NULL, 0, &loss) == TAILOR_ERR_INVALID_ARGUMENT,
                  "train config size 0 refused");
            oldcfg.size = TAILOR_MAX_STRUCT_BYTES + 8;
            CHECK(tailor_net_fit(net, &data, NULL, &oldcfg, NULL, NULL, NULL) == TAILOR_ERR_INVALID_ARGUMENT,
                  "train config size above TAILOR_MAX_STRUCT_BYTES refused");
            oldcfg = cfg;
            oldcfg.batch_size = TAILOR_MAX_BATCH + 1;
            CHECK(tailor_net_fit(net, &data, NULL, &oldcfg, NULL, NULL, NULL) == TAILOR_ERR_INVALID_ARGUMENT &&
                  names_limit("TAILOR_MAX_BATCH", TAILOR_MAX_BATCH), "batch_size above TAILOR_MAX_BATCH refused, naming it");
            {
                struct {
                    tailor_train_config cfg;
                    unsigned char tail[64];
                } wide;
                memset(&wide, CANARY, sizeof wide);
                CHECK(tailor_train_config_defaults(&wide.cfg, (int64_t)offsetof(tailor_train_config, checkpoint_path)) == TAILOR_OK &&
                      wide.cfg.epochs == 1 && wide.cfg.batch_size == 128 && fabs(wide.cfg.lr - 0.1) < 1e-12 &&
                      untouched((const unsigned char *)&wide, offsetof(tailor_train_config, checkpoint_path), sizeof wide),
                      "train defaults for an older struct fill only its prefix");
                memset(&wide, CANARY, sizeof wide);
                CHECK(tailor_train_config_defaults(&wide.cfg, (int64_t)sizeof wide) == TAILOR_OK && wide.cfg.checkpoint_path == NULL &&
                      wide.cfg.size == (int64_t)sizeof wide && wide.tail[0] == 0 && !memcmp(wide.tail, wide.tail + 1, sizeof wide.tail - 1),
                      "train defaults for a newer struct zero the fields this library does not know");
                memset(&wide, CANARY, sizeof wide);
                CHECK(tailor_train_config_defaults(&wide.cfg, 0) == TAILOR_ERR_INVALID_ARGUMENT &&
                      tailor_train_config_defaults(&wide.cfg, TAILOR_MAX_STRUCT_BYTES + 8) == TAILOR_ERR_INVALID_ARGUMENT &&
                      untouched((const unsigned char *)&wide, 0, sizeof wide), "train defaults: bad sizes refused, nothing written");
            }
        }

        /* Checkpoints: the fit writes one per epoch; resuming the finished run hands back its student. */
        {
            const char *ck = "consumer_run.ckpt", *js = NULL;
            tailor_net *student = NULL, *teacher = NULL;
            tailor_epoch_stats a = {.size = sizeof a}, b = {.size = sizeof b};
            char *note = (char *)malloc(TAILOR_MAX_JSON_BYTES + 2);
            cfg.checkpoint_path = ck;
            cfg.checkpoint_note = "written by consumer.c";
            CHECK(tailor_net_fit(net, &data, NULL, &cfg, NULL, NULL, NULL) == TAILOR_OK &&
                  tailor_net_history_count(net, &nh) == TAILOR_OK && nh == 2, "fit with a checkpoint");
            CHECK(tailor_checkpoint_json(ck, &js) == TAILOR_OK && js && strstr(js, "\"next_epoch\"") &&
                  strstr(js, "written by consumer.c"), "checkpoint described, with the note (a per-thread string)");
            CHECK(tailor_checkpoint_json("no_such.ckpt", &js) == TAILOR_ERR_IO, "missing checkpoint described: IO");
            CHECK(tailor_checkpoint_json(ck, NULL) == TAILOR_ERR_INVALID_ARGUMENT, "null json out");
            CHECK(tailor_net_fit_resume(ck, &data, NULL, NULL, NULL, NULL, &student, &teacher) == TAILOR_OK
                  && student != NULL && teacher == NULL, "finished run resumed");
            CHECK(tailor_net_history_count(student, &nh) == TAILOR_OK && nh == 2, "the resumed student holds the run's history");
            for (k64 = 0; k64 < 2; k64++)
                CHECK(tailor_net_history(student, k64, &a) == TAILOR_OK && tailor_net_history(net, k64, &b) == TAILOR_OK &&
                      a.epoch == k64 && a.loss == b.loss && a.train_accuracy == b.train_accuracy, "same history as the fit");
            teacher = net;
            CHECK(tailor_net_fit_resume(ck, &data, NULL, net, NULL, NULL, &teacher, NULL)
                  == TAILOR_ERR_INVALID_ARGUMENT && teacher == NULL, "a run that started from other weights refused");
            teacher = net;
            CHECK(tailor_net_fit_resume("no_such.ckpt", &data, NULL, NULL, NULL, NULL, &teacher, NULL)
                  == TAILOR_ERR_IO && teacher == NULL, "missing checkpoint");
            memset(note, 'x', TAILOR_MAX_JSON_BYTES + 1);
            note[TAILOR_MAX_JSON_BYTES + 1] = '\0';
            cfg.checkpoint_note = note;
            CHECK(tailor_net_fit(net, &data, NULL, &cfg, NULL, NULL, NULL) == TAILOR_ERR_INVALID_ARGUMENT &&
                  names_limit("TAILOR_MAX_JSON_BYTES", TAILOR_MAX_JSON_BYTES), "a checkpoint note above TAILOR_MAX_JSON_BYTES refused");
            free(note);
            tailor_net_free(student);
            cfg.checkpoint_path = NULL;
            cfg.checkpoint_note = NULL;
            remove(ck);
        }
        /* The whole Tailor run in the library: SkipRemover, one block per epoch, KD from the network. */
        {
            tailor_run_config run;
            tailor_net *student = NULL, *teacher = NULL;
            tailor_hw_config badhw;
            const char *json = NULL, *est = NULL;
            char *copy = NULL;
            int32_t mode = -1;
            int64_t b;
            const int64_t last_block = 2;
            CHECK(tailor_net_copy(net, &teacher) == TAILOR_OK, "teacher copy");
            for (b = 0; b < 3; b++) CHECK(tailor_net_set_block_mode(teacher, b, TAILOR_MODE_LONG) == TAILOR_OK, "long skips to start from");
            CHECK(tailor_run_config_init(&run) == TAILOR_OK && !strcmp(run.algorithm, "remove") && run.every == 3 &&
                  run.size == (int64_t)sizeof run, "run defaults");
            run.every = 1;
            cfg.loss = TAILOR_LOSS_KD_MSE;
            CHECK(tailor_run(teacher, &data, &data, &run, &cfg, NULL, NULL, &student) == TAILOR_OK && student,
                  "SkipRemover: 3 blocks, one per epoch, one more epoch");
            CHECK(tailor_net_history_count(student, &nh) == TAILOR_OK && nh == 4, "the student holds the run's 4 epochs");
            for (k64 = 0; k64 < nh; k64++)
                CHECK(tailor_net_history(student, k64, &e) == TAILOR_OK && e.epoch == k64 && isfinite(e.val_loss), "run history entry");
            CHECK(tailor_net_history(student, nh, &e) == TAILOR_ERR_NOT_FOUND, "run history index out of range");
            CHECK(tailor_net_block_info(student, 2, NULL, NULL, &mode) == TAILOR_OK && mode == TAILOR_MODE_REMOVED, "every block removed");
            CHECK(tailor_net_run_history_json(student, &json) == TAILOR_OK && strstr(json, "\"altered\":[\"layer1.0\",\"layer2.0\",\"layer3.0\"]")
                  && strstr(json, "\"hardware\""), "history with modes and hardware");
            /* Rule 5: the run history JSON is not the estimate JSON's buffer any more. */
            copy = dup_str(json);
            CHECK(tailor_hw_config_init(&badhw) == TAILOR_OK && tailor_net_estimate_json(student, &badhw, &est) == TAILOR_OK &&
                  tailor_net_describe(student, &est) == TAILOR_OK && copy && !strcmp(json, copy),
                  "run history JSON unchanged after estimate_json and describe on the student");
            free(copy);
            CHECK(tailor_net_run_history_json(teacher, &json) == TAILOR_ERR_NOT_FOUND, "no history on a network tailor_run did not make");
            tailor_net_free(student);
            student = NULL;
            /* Checkpointed: resuming the finished run hands back the student with the whole run's history. */
            cfg.checkpoint_path = "consumer_tailor.ckpt";
            CHECK(tailor_run(teacher, &data, NULL, &run, &cfg, NULL, NULL, &student) == TAILOR_OK, "checkpointed run");
            tailor_net_free(student);
            student = NULL;
            CHECK(tailor_net_fit_resume("consumer_tailor.ckpt", &data, NULL, teacher, NULL, NULL, &student, NULL) == TAILOR_OK
                  && tailor_net_history_count(student, &nh) == TAILOR_OK && nh == 4
                  && tailor_net_run_history_json(student, &json) == TAILOR_OK && strstr(json, "\"modes\""),
                  "a resumed Tailor run carries its history with modes and hardware");
            tailor_net_free(student);
            student = NULL;
            cfg.checkpoint_path = NULL;
            remove("consumer_tailor.ckpt");
            /* Rule 2 on tailor_run_config: one ending before `hardware` estimates on the defaults.
             * (One block altered: a two-epoch run.) */
            badhw.bits = 0;
            run.hardware = &badhw;
            run.blocks = &last_block;
            run.num_blocks = 1;
            run.size = (int64_t)offsetof(tailor_run_config, hardware);
            CHECK(tailor_run(teacher, &data, NULL, &run, &cfg, NULL, NULL, &student) == TAILOR_OK && student &&
                  tailor_net_history_count(student, &nh) == TAILOR_OK && nh == 2,
                  "a run config ending before hardware: hardware defaulted, whatever follows");
            tailor_net_free(student);
            student = teacher;
            run.size = (int64_t)sizeof run;
            CHECK(tailor_run(teacher, &data, NULL, &run, &cfg, NULL, NULL, &student) == TAILOR_ERR_INVALID_ARGUMENT && student == NULL &&
                  strstr(tailor_last_error(), "bits"), "inside size the bad hardware config is read (and refused)");
            run.hardware = NULL;
            run.size = 0;
            CHECK(tailor_run(teacher, &data, NULL, &run, &cfg, NULL, NULL, &student) == TAILOR_ERR_INVALID_ARGUMENT && student == NULL,
                  "run config size 0 refused");
            CHECK(tailor_run_config_defaults(&run, 0) == TAILOR_ERR_INVALID_ARGUMENT &&
                  tailor_run_config_defaults(&run, TAILOR_MAX_STRUCT_BYTES + 8) == TAILOR_ERR_INVALID_ARGUMENT,
                  "run defaults: bad sizes refused");
            CHECK(tailor_run_config_init(&run) == TAILOR_OK, "run defaults again");
            {
                tailor_train_config fine, plain;
                CHECK(tailor_run_train_config_init(&fine) == TAILOR_OK && tailor_train_config_init(&plain) == TAILOR_OK &&
                      fine.loss == TAILOR_LOSS_KD_MSE && fine.lr == 0.01 && fine.schedule == TAILOR_SCHED_COSINE &&
                      fine.kd_alpha == 0.35 && fine.batch_size == plain.batch_size && fine.momentum == plain.momentum &&
                      fine.size == (int64_t)sizeof fine, "run training defaults: the authors' fine-tuning over the plain defaults");
                CHECK(plain.lr == 0.1 && plain.loss == TAILOR_LOSS_CE && plain.schedule == TAILOR_SCHED_CONSTANT &&
                      plain.weight_decay == 5e-4 && plain.nesterov == 1 && plain.epochs == 1 && plain.crop_padding == 4 &&
                      plain.step_size == 30 && plain.div_factor == 25, "train defaults as documented in tailor.h");
                CHECK(tailor_run_train_config_defaults(&fine, 0) == TAILOR_ERR_INVALID_ARGUMENT &&
                      tailor_run_train_config_defaults(NULL, 8) == TAILOR_ERR_INVALID_ARGUMENT, "run training defaults: bad arguments refused");
            }
            run.every = 1;
            run.algorithm = "prune";
            student = teacher;
            CHECK(tailor_run(teacher, &data, NULL, &run, &cfg, NULL, NULL, &student) == TAILOR_ERR_INVALID_ARGUMENT
                  && student == NULL && strstr(tailor_last_error(), "algorithm"), "unknown algorithm named");
            run.algorithm = "shorten";
            cfg.loss = TAILOR_LOSS_CE;
            CHECK(tailor_run(teacher, &data, NULL, &run, &cfg, NULL, NULL, &student) == TAILOR_ERR_INVALID_ARGUMENT
                  && strstr(tailor_last_error(), "KD"), "a Tailor run needs a KD loss");
            tailor_net_free(teacher);
        }
        free(x);
    }

    tailor_net_free(net);
    tailor_net_free(back);
    tailor_net_free(NULL);
    remove(path);
    {
        /* Fixed point as hls4ml's ap_fixed converts: a grid of 2^-10, wrap past 32, overflows counted. */
        double v[4] = {1.0 / 3, 40.5, -32.0, 2.5}, q[4];
        int64_t over = -1;
        CHECK(tailor_fixed_quantize("ap_fixed<16,6>", v, 4, q, &over) == TAILOR_OK && q[0] == 341.0 / 1024 && q[1] == -23.5 &&
              q[2] == -32.0 && q[3] == 2.5 && over == 1, "ap_fixed<16,6>: floor to the grid, 40.5 wraps to -23.5");
        CHECK(tailor_fixed_quantize("ap_fixed<16,6,AP_RND,AP_SAT>", v, 4, v, NULL) == TAILOR_OK && v[1] == 32 - 1.0 / 1024,
              "saturation, in place");
        CHECK(tailor_fixed_quantize("ap_fixed<16,6,AP_ROUND>", v, 4, q, NULL) == TAILOR_ERR_INVALID_ARGUMENT &&
              strstr(tailor_last_error(), "AP_ROUND") != NULL, "an unknown rounding mode is named");
        v[2] = 0.0 / 0.0;
        CHECK(tailor_fixed_quantize("ap_fixed<8,3>", v, 4, q, NULL) == TAILOR_ERR_NUMERIC && strstr(tailor_last_error(), "values[2]") != NULL,
              "NaN refused naming its index");
        CHECK(tailor_fixed_quantize("ap_fixed<8,3>", NULL, 4, q, NULL) == TAILOR_ERR_INVALID_ARGUMENT &&
              tailor_fixed_quantize("ap_fixed<8,3>", NULL, 0, NULL, NULL) == TAILOR_OK, "NULL arrays only with n = 0");
    }
    {
        /* Fixed-point types on a network, in hls4ml's config layout; kept by model files. */
        tailor_net *q = NULL, *q2 = NULL;
        const char *pj = NULL;
        CHECK(tailor_zoo_create("resnet8", 10, 0, 0, 0, 1, &q) == TAILOR_OK && tailor_net_precision_json(q, &pj) == TAILOR_OK &&
              strcmp(pj, "null") == 0, "a new network is a float network");
        CHECK(tailor_net_set_precision_json(q, "{\"Model\": {\"Precision\": \"ap_fixed<16,6>\"}, \"LayerName\": "
                                               "{\"conv1\": {\"Precision\": {\"weight\": \"ap_fixed<8,3>\"}}}}") == TAILOR_OK &&
              tailor_net_precision_json(q, &pj) == TAILOR_OK && strstr(pj, "\"weight\":\"ap_fixed<8,3>\"") != NULL,
              "precision set in hls4ml's layout and read back");
        CHECK(tailor_net_set_precision_json(q, "{\"Model\": {\"Precision\": \"ap_fixed<16,6>\"}, \"LayerName\": "
                                               "{\"relu\": {\"Precision\": {\"weight\": \"ap_fixed<8,3>\"}}}}") == TAILOR_ERR_INVALID_ARGUMENT &&
              strstr(tailor_last_error(), "has no weight") != NULL, "a role the node lacks is refused, naming it");
        CHECK(tailor_net_save(q, "consumer_precision.tailor") == TAILOR_OK && tailor_net_load("consumer_precision.tailor", &q2) == TAILOR_OK &&
              tailor_net_precision_json(q2, &pj) == TAILOR_OK && strstr(pj, "ap_fixed<8,3>") != NULL, "a model file keeps the types");
        {
            /* Fixed-point inference: hls4ml's design at the carried types; overflows reported, not errors. */
            static double x[2 * 3 * 32 * 32];
            double y[20];
            int64_t over = -1;
            const char *oj = NULL;
            for (int i = 0; i < 2 * 3 * 32 * 32; i++) x[i] = 3.0 * sin(0.37 * i);
            CHECK(tailor_net_set_precision_json(q, "{\"Model\": {\"Precision\": \"ap_fixed<16,6>\"}, \"LayerName\": "
                                                   "{\"input\": {\"Precision\": \"ap_fixed<4,2>\"}}}") == TAILOR_OK &&
                  tailor_net_predict_fixed(q, x, 2, 3, 32, 32, y, 20, &over, &oj) == TAILOR_OK && over > 0 && oj != NULL &&
                  strstr(oj, "\"input\"") != NULL && isfinite(y[0]),
                  "predict_fixed: the 4-bit input wraps and the overflow counts name it");
            CHECK(tailor_net_predict_fixed(q, x, 2, 3, 32, 32, y, 19, NULL, NULL) == TAILOR_ERR_SHAPE &&
                  tailor_net_predict_fixed(q, NULL, 2, 3, 32, 32, y, 20, NULL, NULL) == TAILOR_ERR_INVALID_ARGUMENT &&
                  tailor_net_predict_fixed(NULL, x, 2, 3, 32, 32, y, 20, NULL, NULL) != TAILOR_OK,
                  "predict_fixed: wrong out_count, NULL x, NULL net refused");
            x[5] = 0.0 / 0.0;
            CHECK(tailor_net_predict_fixed(q, x, 2, 3, 32, 32, y, 20, NULL, NULL) == TAILOR_ERR_NUMERIC, "predict_fixed: NaN input refused");
            const char *dj = NULL;
            double w1[16 * 3 * 3 * 3];
            CHECK(tailor_net_fixed_design_json(q, &dj) == TAILOR_OK && strstr(dj, "\"folded_into\"") == NULL &&
                  strstr(dj, "\"kind\":\"batchnorm\"") != NULL && tailor_net_fixed_parameter(q, "conv1", "weight", w1, 432) == TAILOR_OK &&
                  tailor_net_fixed_parameter(q, "conv1", "weight", w1, 431) == TAILOR_ERR_SHAPE &&
                  tailor_net_fixed_parameter(q, "relu", "weight", w1, 432) == TAILOR_ERR_NOT_FOUND &&
                  tailor_net_fixed_parameter(q, NULL, "weight", w1, 432) == TAILOR_ERR_INVALID_ARGUMENT,
                  "fixed design: unnamed results are the model type (no fold), conv1's weights read back, bad calls refused");
        }
        CHECK(tailor_net_set_precision_json(q, NULL) == TAILOR_OK && tailor_net_precision_json(q, &pj) == TAILOR_OK && strcmp(pj, "null") == 0,
              "NULL makes it a float network again");
        {
            double x[3 * 32 * 32] = {0}, y[10];
            CHECK(tailor_net_predict_fixed(q, x, 1, 3, 32, 32, y, 10, NULL, NULL) == TAILOR_ERR_INVALID_ARGUMENT &&
                  strstr(tailor_last_error(), "precision") != NULL, "predict_fixed: a float network is refused, saying why");
        }
        tailor_net_free(q);
        tailor_net_free(q2);
        remove("consumer_precision.tailor");
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
