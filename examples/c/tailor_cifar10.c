/* tailor_cifar10: SkipRemover (or SkipShortener) on CIFAR-10 from C, the whole run in the library.
 *
 *   tailor_cifar10 DIR [--teacher FILE] [--teacher-epochs N] [--algorithm remove|shorten] [--every N]
 *                  [--limit N] [--test-limit N] [--out FILE]
 *
 * DIR is a `cifar-10-batches-bin` folder. Without --teacher, a ResNet-8 teacher is trained first
 * (one-cycle to lr 0.2, SGD Nesterov, weight decay 5e-4, crop + flip; 30 epochs by default). Then
 * tailor_run retrains a copy with knowledge distillation from it while its blocks are altered, one
 * every N epochs, and the program prints test accuracy and the hls4ml design (Vivado backend,
 * FIFO-optimised, 16 bits; then hls4ml's default depths) before and after. --limit and
 * --test-limit use the first N images (a quick run). Build against an installed libtailor:
 *   cc -std=c99 tailor_cifar10.c $(pkg-config --cflags --libs tailor) -o tailor_cifar10
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tailor.h>

#define IMAGE (3 * 32 * 32)

/* Reads the named batch files of DIR into one buffer, at most `limit` images. */
static tailor_status read_batches(const char *dir, const char *const *files, int nfiles, int64_t limit, float **x, int64_t **y,
                                  int64_t *n) {
    char path[4096];
    int f;
    *n = 0;
    *x = (float *)malloc((size_t)limit * IMAGE * sizeof(float));
    *y = (int64_t *)malloc((size_t)limit * sizeof(int64_t));
    if (!*x || !*y) return TAILOR_ERR_INVALID_ARGUMENT;
    for (f = 0; f < nfiles && *n < limit; f++) {
        int64_t records = 0, got = 0;
        float *bx;
        int64_t *by;
        tailor_status status;
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        if ((status = tailor_cifar10_read(path, NULL, NULL, 0, &records)) != TAILOR_OK) return status;
        bx = (float *)malloc((size_t)records * IMAGE * sizeof(float));
        by = (int64_t *)malloc((size_t)records * sizeof(int64_t));
        if (!bx || !by) { free(bx); free(by); return TAILOR_ERR_INVALID_ARGUMENT; }
        status = tailor_cifar10_read(path, bx, by, records, &got);
        if (status == TAILOR_OK) {
            int64_t take = got < limit - *n ? got : limit - *n;
            memcpy(*x + *n * IMAGE, bx, (size_t)take * IMAGE * sizeof(float));
            memcpy(*y + *n, by, (size_t)take * sizeof(int64_t));
            *n += take;
        }
        free(bx);
        free(by);
        if (status != TAILOR_OK) return status;
    }
    return TAILOR_OK;
}

static int on_progress(const tailor_progress *p, void *user) {
    if (p->epoch_end)
        printf("   %s epoch %lld/%lld: loss %.4f, train acc %.3f, test acc %.3f\n", (const char *)user, (long long)p->epoch + 1,
               (long long)p->epochs, p->loss, p->accuracy, p->val_accuracy);
    fflush(stdout);
    return 0;
}

/* Design totals on hls4ml at 16 bits: Vivado backend, `policy` depths. */
static tailor_status design(tailor_net *net, const char *policy, tailor_hw_totals *t) {
    tailor_hw_config cfg;
    int64_t n = 0;
    tailor_status status = tailor_hw_config_init(&cfg);
    cfg.backend = "vivado";
    cfg.depth_policy = policy;
    t->size = (int64_t)sizeof *t; /* an output struct (rule 2) */
    return status != TAILOR_OK ? status : tailor_net_estimate(net, &cfg, &n, t);
}

static void row(const char *label, double acc, double acc0, const tailor_hw_totals *t, const tailor_hw_totals *t0) {
    char d[32] = "";
    if (t0) snprintf(d, sizeof d, "%+.2f pt", 100 * (acc - acc0));
    printf("%-14s %7.2f %% %9s  %7lld %9lld %9lld\n", label, 100 * acc, d, (long long)t->total.bram18, (long long)t->total.lut,
           (long long)t->total.ff);
}

int main(int argc, char **argv) {
    static const char *const train_files[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                                              "data_batch_5.bin"};
    static const char *const test_files[] = {"test_batch.bin"};
    const char *dir = NULL, *teacher_path = NULL, *out = "resnet8_student.tailor", *algorithm = "remove";
    int64_t limit = 50000, test_limit = 10000, teacher_epochs = 30, every = 3, ntr = 0, nte = 0, i, c, k;
    float *xtr = NULL, *xte = NULL, mean[3], std[3];
    int64_t *ytr = NULL, *yte = NULL, nh = 0;
    tailor_net *teacher = NULL, *student = NULL;
    tailor_data train = {.size = sizeof train}, test;
    tailor_run_config run;
    tailor_hw_totals t_opt, t_def, s_opt, s_def;
    double acc_t = 0, acc_s = 0;
    int a, status = 1;

    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--teacher") && a + 1 < argc) teacher_path = argv[++a];
        else if (!strcmp(argv[a], "--teacher-epochs") && a + 1 < argc) teacher_epochs = atoll(argv[++a]);
        else if (!strcmp(argv[a], "--algorithm") && a + 1 < argc) algorithm = argv[++a];
        else if (!strcmp(argv[a], "--every") && a + 1 < argc) every = atoll(argv[++a]);
        else if (!strcmp(argv[a], "--limit") && a + 1 < argc) limit = atoll(argv[++a]);
        else if (!strcmp(argv[a], "--test-limit") && a + 1 < argc) test_limit = atoll(argv[++a]);
        else if (!strcmp(argv[a], "--out") && a + 1 < argc) out = argv[++a];
        else if (argv[a][0] != '-' && !dir) dir = argv[a];
        else {
            fprintf(stderr, "usage: %s DIR [--teacher FILE] [--teacher-epochs N] [--algorithm remove|shorten] [--every N] "
                            "[--limit N] [--test-limit N] [--out FILE]\n", argv[0]);
            return 2;
        }
    }
    if (!dir || limit < 1 || test_limit < 1) {
        fprintf(stderr, "usage: %s DIR [options] (DIR: cifar-10-batches-bin)\n", argv[0]);
        return 2;
    }
    if (read_batches(dir, train_files, 5, limit, &xtr, &ytr, &ntr) != TAILOR_OK ||
        read_batches(dir, test_files, 1, test_limit, &xte, &yte, &nte) != TAILOR_OK) goto fail;
    printf("CIFAR-10 from %s: %lld training and %lld test images\n", dir, (long long)ntr, (long long)nte);
    /* Per-channel normalisation from the training images (the library applies it). */
    for (c = 0; c < 3; c++) {
        double s = 0, ss = 0;
        for (i = 0; i < ntr; i++)
            for (k = 0; k < 1024; k++) {
                double v = xtr[i * IMAGE + c * 1024 + k];
                s += v; ss += v * v;
            }
        mean[c] = (float)(s / (ntr * 1024.0));
        std[c] = (float)sqrt(ss / (ntr * 1024.0) - (double)mean[c] * mean[c]);
    }
    train.x = xtr; train.n = ntr; train.channels = 3; train.height = 32; train.width = 32;
    train.labels = ytr; train.mean = mean; train.std = std;
    test = train;
    test.x = xte; test.n = nte; test.labels = yte;

    if (teacher_path) {
        if (tailor_net_load(teacher_path, &teacher) != TAILOR_OK) goto fail;
        printf("teacher: %s\n", teacher_path);
    } else {
        tailor_train_config cfg;
        if (tailor_zoo_create("resnet8", 10, 0, 0, 0, 0, &teacher) != TAILOR_OK || tailor_train_config_init(&cfg) != TAILOR_OK) goto fail;
        cfg.epochs = teacher_epochs; cfg.lr = 0.2; cfg.schedule = TAILOR_SCHED_ONECYCLE;
        printf("teacher: ResNet-8, %lld epochs, one-cycle to lr 0.2\n", (long long)teacher_epochs);
        if (tailor_net_fit(teacher, &train, &test, &cfg, NULL, on_progress, (void *)"teacher") != TAILOR_OK) goto fail;
    }
    if (tailor_net_evaluate(teacher, &test, NULL, &acc_t) != TAILOR_OK) goto fail;

    /* The Tailor run: defaults are the authors' fine-tuning (KD 0.35·MSE + 0.65·CE, lr 0.01 cosine). */
    if (tailor_run_config_init(&run) != TAILOR_OK) goto fail;
    run.algorithm = algorithm;
    run.every = every;
    printf("%s: one block every %lld epoch(s), KD from the teacher\n", !strcmp(algorithm, "remove") ? "SkipRemover" : "SkipShortener",
           (long long)every);
    if (tailor_run(teacher, &train, &test, &run, NULL, on_progress, (void *)"student", &student) != TAILOR_OK) goto fail;
    /* The run's history stays on the student (rule 4). */
    if (tailor_net_history_count(student, &nh) != TAILOR_OK) goto fail;
    if (tailor_net_evaluate(student, &test, NULL, &acc_s) != TAILOR_OK) goto fail;
    if (design(teacher, "optimized", &t_opt) != TAILOR_OK || design(teacher, "default", &t_def) != TAILOR_OK ||
        design(student, "optimized", &s_opt) != TAILOR_OK || design(student, "default", &s_def) != TAILOR_OK) goto fail;

    printf("\nhls4ml, 16 bits, Vivado backend; FIFO-optimised depths (what is deployed), then hls4ml's defaults\n");
    printf("%-14s %9s %9s  %7s %9s %9s\n", "network", "test acc", "change", "BRAM18", "LUT", "FF");
    row("teacher", acc_t, acc_t, &t_opt, NULL);
    row("  default", acc_t, acc_t, &t_def, NULL);
    row(!strcmp(algorithm, "remove") ? "SkipRemover" : "SkipShortener", acc_s, acc_t, &s_opt, &t_opt);
    row("  default", acc_s, acc_t, &s_def, &t_def);
    if (tailor_net_save(student, out) != TAILOR_OK) goto fail;
    printf("student written to %s (%lld epochs)\n", out, (long long)nh);
    status = 0;
    goto done;
fail:
    fprintf(stderr, "tailor_cifar10: %s\n", tailor_last_error());
done:
    tailor_net_free(student);
    tailor_net_free(teacher);
    free(xtr); free(ytr); free(xte); free(yte);
    return status;
}
