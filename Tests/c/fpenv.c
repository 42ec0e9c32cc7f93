/* The caller's floating-point environment across tailor calls, and denormals inside them.
 *
 * The library computes with denormals flushed to zero (FTZ/DAZ) but must hand the calling thread
 * back exactly the environment it had: rounding mode, exception masks, FTZ/DAZ bits and exception
 * flags (raised ones stay raised, clear ones stay clear). Progress callbacks run in the caller's
 * environment too. A training step and a prediction on denormal inputs must give finite results.
 * Build: cc -std=c99 fpenv.c $(pkg-config --cflags --libs tailor) -lm. Exits non-zero on failure. */
#include <fenv.h>
#include <float.h>
#include <stdio.h>
#include <string.h>
#include <math.h>
#include <tailor.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define HAVE_MXCSR 1
#endif

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
                              fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static unsigned control(void) {
#ifdef HAVE_MXCSR
    return _mm_getcsr();
#else
    return (unsigned)fegetround();
#endif
}

/* Multiplying a denormal: zero when the thread flushes denormals, non-zero otherwise. */
static int thread_flushes(void) {
    volatile float d = FLT_MIN / 1024.0f, two = 2.0f;
    volatile float r = d * two;
    return r == 0.0f;
}

typedef struct { unsigned expected; int calls, bad_env, flushed; } cb_state;

static int on_progress(const tailor_progress *p, void *user) {
    cb_state *s = user;
    (void)p;
    s->calls++;
    if ((control() & ~0x3Fu) != (s->expected & ~0x3Fu)) s->bad_env++;
    if (thread_flushes()) s->flushed++;
    return 0;
}

static tailor_net *tiny_net(void) {
    tailor_net *net = NULL;
    if (tailor_net_create(1, &net) != TAILOR_OK) return NULL;
    int ok = tailor_net_add_input(net, "x", 2, 4, 4, NULL) == TAILOR_OK
          && tailor_net_add_conv2d(net, "conv1", "x", 4, 3, 1, 1, 0, NULL) == TAILOR_OK
          && tailor_net_add_batchnorm(net, "bn1", "conv1", 1e-5, 0.1, NULL) == TAILOR_OK
          && tailor_net_add_relu(net, "relu1", "bn1", NULL) == TAILOR_OK
          && tailor_net_add_global_avgpool(net, "pool", "relu1", NULL) == TAILOR_OK
          && tailor_net_add_dense(net, "fc", "pool", 3, 1, NULL) == TAILOR_OK;
    if (!ok) { tailor_net_free(net); return NULL; }
    return net;
}

int main(void) {
    enum { N = 4, SAMPLE = 2 * 4 * 4 };
    float x[N * SAMPLE], logits[N * 3];
    int64_t labels[N] = {0, 1, 2, 1};
    for (int i = 0; i < N * SAMPLE; i++) x[i] = FLT_MIN / (float)(2 + i % 7);   /* every input denormal */
    tailor_net *net = tiny_net();
    CHECK(net != NULL, "tiny net: %s", tailor_last_error());
    if (!net) return 1;

    /* 1. Default environment in, the same out; no flags leak out of the library. */
    CHECK(!thread_flushes(), "the test thread flushes denormals before any call");
    feclearexcept(FE_ALL_EXCEPT);
    unsigned before = control();
    double loss = NAN;
    tailor_status st = tailor_net_train_step(net, x, N, 2, 4, 4, labels, NULL, NULL, 1, logits, N * 3, &loss);
    CHECK(st == TAILOR_OK, "train_step on denormal inputs: %s", tailor_last_error());
    CHECK(isfinite(loss), "train_step on denormal inputs gave loss %g", loss);
    for (int i = 0; i < N * 3; i++) CHECK(isfinite(logits[i]), "logit %d is %g", i, (double)logits[i]);
    CHECK(control() == before, "train_step changed the control/status word: %#x -> %#x", before, control());
    CHECK(fetestexcept(FE_ALL_EXCEPT) == 0, "train_step left exception flags %#x raised", fetestexcept(FE_ALL_EXCEPT));
    CHECK(!thread_flushes(), "train_step left the caller flushing denormals");

    st = tailor_net_predict(net, x, N, 2, 4, 4, logits, N * 3);
    CHECK(st == TAILOR_OK, "predict on denormal inputs: %s", tailor_last_error());
    for (int i = 0; i < N * 3; i++) CHECK(isfinite(logits[i]), "predicted logit %d is %g", i, (double)logits[i]);
    CHECK(control() == before, "predict changed the control/status word");

    /* 2. A caller with its own rounding mode and a raised flag gets both back. */
    fesetround(FE_UPWARD);
    feraiseexcept(FE_INEXACT);
    unsigned mine = control();
    st = tailor_net_train_step(net, x, N, 2, 4, 4, labels, NULL, NULL, 1, NULL, 0, &loss);
    CHECK(st == TAILOR_OK, "train_step (upward rounding): %s", tailor_last_error());
    CHECK(fegetround() == FE_UPWARD, "the rounding mode was not restored");
    CHECK(fetestexcept(FE_INEXACT) != 0, "a flag the caller had raised was cleared");
    CHECK(control() == mine, "the control/status word changed: %#x -> %#x", mine, control());
    fesetround(FE_TONEAREST);
    feclearexcept(FE_ALL_EXCEPT);

    /* 3. Failing calls restore it too. */
    before = control();
    float bad = NAN;
    int64_t dims[1] = {3};
    CHECK(tailor_net_set_param(net, "fc.bias", &bad, 1, dims) == TAILOR_ERR_NUMERIC, "NaN parameter accepted");
    CHECK(strstr(tailor_last_error(), "fc.bias") != NULL, "the NaN error does not name the parameter: %s", tailor_last_error());
    CHECK(control() == before, "a failing call changed the control/status word");

    /* 4. fit: the callback runs in the caller's environment, not the library's. */
    tailor_train_config cfg;
    tailor_train_config_init(&cfg);
    cfg.batch_size = 2; cfg.epochs = 2; cfg.augment = 0;
    tailor_data d = {.size = sizeof d};
    d.x = x; d.n = N; d.channels = 2; d.height = 4; d.width = 4; d.labels = labels;
    cb_state s = {control(), 0, 0, 0};
    int64_t epochs = 0;
    st = tailor_net_fit(net, &d, NULL, &cfg, NULL, on_progress, &s);
    CHECK(st == TAILOR_OK, "fit on denormal inputs: %s", tailor_last_error());
    CHECK(tailor_net_history_count(net, &epochs) == TAILOR_OK && epochs == 2, "fit history has %lld epochs", (long long)epochs);
    for (int64_t e = 0; e < epochs; e++) {
        tailor_epoch_stats h = {.size = sizeof h};
        CHECK(tailor_net_history(net, e, &h) == TAILOR_OK && h.epoch == e && isfinite(h.loss),
              "history epoch %lld on denormal inputs: loss %g", (long long)e, h.loss);
    }
    CHECK(control() == s.expected, "reading the history changed the control/status word");
    CHECK(s.calls == 6, "expected 6 progress calls, got %d", s.calls);
    CHECK(s.bad_env == 0 && s.flushed == 0, "%d callback(s) ran in the library's environment", s.bad_env + s.flushed);
    CHECK(control() == s.expected, "fit changed the control/status word");
    CHECK(!thread_flushes(), "fit left the caller flushing denormals");

    /* 5. A caller that flushes denormals itself keeps doing so. */
#ifdef HAVE_MXCSR
    _mm_setcsr(_mm_getcsr() | 0x8040u);
    mine = control();
    st = tailor_net_predict(net, x, N, 2, 4, 4, logits, N * 3);
    CHECK(st == TAILOR_OK, "predict (caller flushing): %s", tailor_last_error());
    CHECK(control() == mine && thread_flushes(), "a flushing caller's FTZ/DAZ was turned off");
    _mm_setcsr(_mm_getcsr() & ~0x8040u);
#endif

    tailor_net_free(net);
    if (failures) { fprintf(stderr, "fpenv: %d failure(s)\n", failures); return 1; }
    printf("fpenv: caller's floating-point environment preserved; denormal inputs train and predict finitely\n");
    return 0;
}
