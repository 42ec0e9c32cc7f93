/* Leak check across the C API: 10,000 create/use/free cycles of the network handle (zoo build,
 * copy, mode switches, parameters, estimate and its rows, its JSON, describe, node/skip/parameter
 * accessors, per-thread JSON, save to a buffer-free path, predict, error paths). Resident memory
 * after the last cycle must stay within a small margin of what it was after the first 1,000
 * (allocator warm-up). Prints the figures. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tailor.h"

static long rss_kib(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

int main(int argc, char **argv) {
    int cycles = argc > 1 ? atoi(argv[1]) : 10000, c, failures = 0;
    long warm = 0, end;
    static float x[3 * 32 * 32], logits[10];
    float w[432];
    for (c = 0; c < 3 * 32 * 32; c++) x[c] = (float)(c % 17) / 17.0f;
    for (c = 0; c < cycles; c++) {
        tailor_net *net = NULL, *copy = NULL;
        tailor_hw_config cfg;
        tailor_skip_cost row = {.size = sizeof row};
        tailor_skip_info skip = {.size = sizeof skip};
        tailor_node_info node = {.size = sizeof node};
        tailor_param_info param = {.size = sizeof param};
        tailor_hw_totals totals = {.size = sizeof totals};
        int64_t n = 0, k, dims[4] = {16, 3, 3, 3}, dim = 0;
        const char *json = NULL, *name = NULL;
        if (tailor_zoo_create("resnet8", 10, 0, 0, 0, (uint64_t)c, &net) != TAILOR_OK) { failures++; continue; }
        if (tailor_net_copy(net, &copy) != TAILOR_OK) failures++;
        tailor_net_set_block_mode(copy, c % 3, (int32_t)(1 + c % 2));
        tailor_hw_config_init(&cfg);
        cfg.target = (c % 3 == 0) ? "hls4ml" : (c % 3 == 1) ? "finn" : "pe_array";
        if (tailor_net_estimate(copy, &cfg, &n, &totals) != TAILOR_OK) failures++;
        for (k = 0; k < n; k++)
            if (tailor_net_skip_cost(copy, k, &row) != TAILOR_OK) failures++;
        /* Accessors that hand out names owned by the handle, on a rebuilt node list. */
        if (tailor_net_skip_count(copy, &n) != TAILOR_OK) failures++;
        for (k = 0; k < n; k++)
            if (tailor_net_skip_info(copy, k, &skip) != TAILOR_OK || tailor_net_skip_span(copy, k, 0, &name) != TAILOR_OK) failures++;
        if (tailor_net_node_info(copy, 9, &node) != TAILOR_OK || tailor_net_node_input(copy, 9, 0, &name) != TAILOR_OK) failures++;
        if (tailor_net_param_info(net, 0, &param) != TAILOR_OK || tailor_net_param_dim(net, 0, 3, &dim) != TAILOR_OK || dim != 3) failures++;
        if (c % 10 == 7 && tailor_dataflow_simulate_json("{\"layers\": [{\"name\": \"x\", \"class\": \"Input\", \"shape\": [2, 2, 1]}]}",
                                                         &json) != TAILOR_OK) failures++;
        if (c % 10 == 0 && tailor_net_estimate_json(copy, &cfg, &json) != TAILOR_OK) failures++;
        if (c % 10 == 5 && tailor_net_compare_json(net, copy, &cfg, &json) != TAILOR_OK) failures++;
        if (c % 10 == 3 && tailor_net_describe(net, &json) != TAILOR_OK) failures++;
        if (tailor_net_get_param(net, "conv1.weight", w, 432) != TAILOR_OK) failures++;
        if (tailor_net_set_param(copy, "conv1.weight", w, 4, dims) != TAILOR_OK) failures++;
        if (c % 20 == 0 && tailor_net_predict(net, x, 1, 3, 32, 32, logits, 10) != TAILOR_OK) failures++;
        /* Error paths allocate messages; they must be freed too. */
        if (tailor_net_set_param(copy, "nope", w, 4, dims) == TAILOR_OK) failures++;
        cfg.bits = 0;
        if (tailor_net_estimate(copy, &cfg, &n, NULL) == TAILOR_OK) failures++;
        if (tailor_net_skip_cost(copy, 99, &row) == TAILOR_OK) failures++;
        row.size = 0;
        if (tailor_net_skip_cost(copy, 0, &row) == TAILOR_OK) failures++;
        tailor_net_free(copy);
        tailor_net_free(net);
        if (c + 1 == cycles / 10) warm = rss_kib();
    }
    end = rss_kib();
    printf("%d cycles: RSS %ld KiB after %d, %ld KiB at the end (%+ld KiB), %d failures\n", cycles, warm, cycles / 10, end,
           end - warm, failures);
    /* Anything per cycle would show: 9,000 cycles × even 1 KiB = 9 MiB. Allow 2 MiB of allocator noise. */
    return failures == 0 && end - warm < 2048 ? 0 : 1;
}
