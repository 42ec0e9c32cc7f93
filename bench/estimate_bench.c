/* How long the hardware resource model takes from C: median time per tailor_net_estimate (totals,
 * then every row read back with tailor_net_skip_cost) and tailor_net_estimate_json (full report
 * with explanations) for zoo models on every target. Build and run with `make bench-estimate`.
 * Prints a table; asserts nothing. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tailor.h"

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of `reps` timings of `calls` calls each, in microseconds per call. */
static double median_us(tailor_net *net, const tailor_hw_config *cfg, int json, int reps, int calls) {
    double t[64];
    tailor_skip_cost row = {.size = sizeof row};
    int64_t n = 0, k;
    tailor_hw_totals totals = {.size = sizeof totals};
    const char *text = NULL;
    int r, c;
    for (r = 0; r < reps; r++) {
        double t0 = now_us();
        for (c = 0; c < calls; c++) {
            tailor_status st = json ? tailor_net_estimate_json(net, cfg, &text) : tailor_net_estimate(net, cfg, &n, &totals);
            for (k = 0; !json && st == TAILOR_OK && k < n; k++) st = tailor_net_skip_cost(net, k, &row);
            if (st != TAILOR_OK) {
                fprintf(stderr, "estimate failed: %s\n", tailor_last_error());
                exit(1);
            }
        }
        t[r] = (now_us() - t0) / calls;
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    return t[reps / 2];
}

int main(void) {
    const char *models[] = {"resnet8", "resnet20", "resnet50"};
    const char *targets[] = {"hls4ml", "finn", "pe_array"};
    size_t m, k;
    printf("%-9s %-9s %6s %14s %14s\n", "model", "target", "skips", "rows us/call", "json us/call");
    for (m = 0; m < 3; m++) {
        tailor_net *net = NULL;
        int64_t n = 0;
        if (tailor_zoo_create(models[m], 10, 0, 0, 0, 0, &net) != TAILOR_OK) {
            fprintf(stderr, "%s\n", tailor_last_error());
            return 1;
        }
        for (k = 0; k < 3; k++) {
            tailor_hw_config cfg;
            double rows_us, json_us;
            tailor_hw_config_init(&cfg);
            cfg.target = targets[k];
            tailor_net_estimate(net, &cfg, &n, NULL);
            median_us(net, &cfg, 0, 3, 20); /* warm-up */
            rows_us = median_us(net, &cfg, 0, 15, 50);
            json_us = median_us(net, &cfg, 1, 15, 10);
            printf("%-9s %-9s %6lld %14.1f %14.1f\n", models[m], targets[k], (long long)n, rows_us, json_us);
        }
        tailor_net_free(net);
    }
    return 0;
}
