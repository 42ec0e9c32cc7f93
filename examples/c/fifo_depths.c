/* fifo_depths: what an HLS flow needs to size every FIFO of a (Tailor-altered) network.
 *
 *   fifo_depths MODEL [--target hls4ml|finn] [--bits N] [--policy default|optimized]
 *               [--backend vivado|vitis] [--reuse R] [--strategy latency|resource] [--json FILE]
 *
 * MODEL is a model file written by Tailor (net.save / tailor_net_save) or a zoo name (resnet8).
 * Prints one row per skip (block, buffer, stream shape, word width, simulated occupancy, depth,
 * memory, BRAM18, LUT, FF), then every FIFO of the dataflow design (the depth of each
 * `#pragma HLS STREAM`), and, with --json, writes {"target", "bits", "depth_policy", "skips": [...],
 * "fifos": [...]} for a flow to read. Build against an installed libtailor:
 *   cc -std=c99 fifo_depths.c $(pkg-config --cflags --libs tailor) -o fifo_depths
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tailor.h>

static const char *memory_name(int32_t m) {
    static const char *names[] = {"none", "srl", "lutram", "bram", "uram", "dram"};
    return m >= 0 && m <= 5 ? names[m] : "?";
}

static const char *mode_name(int32_t m) {
    return m == TAILOR_MODE_LONG ? "long" : m == TAILOR_MODE_REMOVED ? "removed" : "short";
}

/* Writes `s` as a JSON string (names here are plain ASCII, but escape quotes and backslashes anyway). */
static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int main(int argc, char **argv) {
    const char *model = NULL, *json_path = NULL;
    tailor_hw_config cfg;
    tailor_net *net = NULL;
    tailor_skip_cost *rows = NULL;
    tailor_hw_totals totals = {.size = sizeof totals};
    int64_t n = 0, nf = 0, i;
    int a, status = 1;

    if (tailor_hw_config_init(&cfg) != TAILOR_OK) return 1;
    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--target") && a + 1 < argc) cfg.target = argv[++a];
        else if (!strcmp(argv[a], "--bits") && a + 1 < argc) cfg.bits = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--policy") && a + 1 < argc) cfg.depth_policy = argv[++a];
        else if (!strcmp(argv[a], "--backend") && a + 1 < argc) cfg.backend = argv[++a];
        else if (!strcmp(argv[a], "--reuse") && a + 1 < argc) cfg.reuse_factor = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--strategy") && a + 1 < argc) cfg.strategy = argv[++a];
        else if (!strcmp(argv[a], "--json") && a + 1 < argc) json_path = argv[++a];
        else if (argv[a][0] != '-' && !model) model = argv[a];
        else {
            fprintf(stderr, "usage: %s MODEL [--target hls4ml|finn] [--bits N] [--policy default|optimized] "
                            "[--backend vivado|vitis] [--reuse R] [--strategy latency|resource] [--json FILE]\n", argv[0]);
            return 2;
        }
    }
    if (!model) {
        fprintf(stderr, "usage: %s MODEL [options]\n", argv[0]);
        return 2;
    }
    if (tailor_net_load(model, &net) != TAILOR_OK && tailor_zoo_create(model, 10, 0, 0, 0, 0, &net) != TAILOR_OK) {
        fprintf(stderr, "fifo_depths: %s is neither a readable model file nor a zoo model: %s\n", model, tailor_last_error());
        return 1;
    }
    /* The estimate keeps one row per skip on the handle and gives their count; read each row. */
    if (tailor_net_estimate(net, &cfg, &n, &totals) != TAILOR_OK) goto fail;
    rows = (tailor_skip_cost *)calloc((size_t)(n > 0 ? n : 1), sizeof *rows);
    if (!rows) goto fail;
    for (i = 0; i < n; i++) {
        rows[i].size = (int64_t)sizeof rows[i];
        if (tailor_net_skip_cost(net, i, &rows[i]) != TAILOR_OK) goto fail;
    }

    printf("%s on %s, %d bits, depth policy %s\n", model, cfg.target, cfg.bits, cfg.depth_policy ? cfg.depth_policy : "(target default)");
    printf("%-10s %-3s %-8s %-26s %-12s %6s %6s %6s %-6s %6s %7s %7s\n", "block", "#", "mode", "buffer", "stream CxHxW",
           "bits", "lag", "depth", "memory", "BRAM18", "LUT", "FF");
    for (i = 0; i < n; i++) {
        const tailor_skip_cost *r = &rows[i];
        char shape[40];
        snprintf(shape, sizeof shape, "%lldx%lldx%lld", (long long)r->channels, (long long)r->height, (long long)r->width);
        printf("%-10s %-3lld %-8s %-26s %-12s %6lld %6lld %6lld %-6s %6lld %7lld %7lld\n", r->block_name, (long long)r->index,
               mode_name(r->mode), r->buffer ? r->buffer : "-", shape, (long long)r->word_bits, (long long)r->lag_words,
               (long long)r->depth_words, memory_name(r->memory), (long long)r->cost.bram18, (long long)r->cost.lut,
               (long long)r->cost.ff);
    }
    printf("skips: %lld BRAM18, %lld LUT, %lld FF of %lld BRAM18, %lld LUT, %lld FF in the design\n",
           (long long)totals.skips.bram18, (long long)totals.skips.lut, (long long)totals.skips.ff,
           (long long)totals.total.bram18, (long long)totals.total.lut, (long long)totals.total.ff);

    /* Every FIFO of the design: one `#pragma HLS STREAM variable=... depth=...` each. */
    if (tailor_net_fifos(net, &cfg, &nf) != TAILOR_OK) goto fail;
    printf("\n%-34s %-28s %-28s %6s %6s %6s %-6s\n", "stream", "producer", "consumer", "words", "max", "depth", "memory");
    for (i = 0; i < nf; i++) {
        tailor_fifo f = {.size = sizeof f};
        if (tailor_net_fifo(net, i, &f) != TAILOR_OK) goto fail;
        if (f.is_port) continue;
        printf("%-34s %-28s %-28s %6lld %6lld %6lld %-6s\n", f.stream, f.producer, f.consumer, (long long)(f.height * f.width),
               (long long)f.hls4ml_max, (long long)f.depth, memory_name(f.memory));
    }

    if (json_path) {
        FILE *f = fopen(json_path, "w");
        if (!f) {
            perror(json_path);
            goto done;
        }
        fprintf(f, "{\"target\": ");
        json_string(f, cfg.target);
        fprintf(f, ", \"bits\": %d, \"depth_policy\": ", cfg.bits);
        if (cfg.depth_policy) json_string(f, cfg.depth_policy); else fprintf(f, "null");
        fprintf(f, ", \"skips\": [");
        for (i = 0; i < n; i++) {
            const tailor_skip_cost *r = &rows[i];
            fprintf(f, "%s\n  {\"block\": ", i ? "," : "");
            json_string(f, r->block_name);
            fprintf(f, ", \"index\": %lld, \"mode\": \"%s\", \"buffer\": ", (long long)r->index, mode_name(r->mode));
            if (r->buffer) json_string(f, r->buffer); else fprintf(f, "null");
            fprintf(f, ", \"shape\": [%lld, %lld, %lld], \"word_bits\": %lld, \"depth\": %lld, \"memory\": \"%s\", "
                       "\"bram18\": %lld, \"lut\": %lld, \"ff\": %lld}",
                    (long long)r->channels, (long long)r->height, (long long)r->width, (long long)r->word_bits,
                    (long long)r->depth_words, memory_name(r->memory), (long long)r->cost.bram18, (long long)r->cost.lut,
                    (long long)r->cost.ff);
        }
        fprintf(f, "\n], \"fifos\": [");
        for (i = 0; i < nf; i++) {
            tailor_fifo q = {.size = sizeof q};
            if (tailor_net_fifo(net, i, &q) != TAILOR_OK) break;
            fprintf(f, "%s\n  {\"stream\": ", i ? "," : "");
            json_string(f, q.stream);
            fprintf(f, ", \"producer\": ");
            json_string(f, q.producer);
            fprintf(f, ", \"consumer\": ");
            json_string(f, q.consumer);
            fprintf(f, ", \"block\": %lld, \"port\": %s, \"shape\": [%lld, %lld, %lld], \"bits\": %lld, \"default_depth\": %lld, "
                       "\"max_occupancy\": %lld, \"hls4ml_max\": %lld, \"depth\": %lld, \"memory\": \"%s\", \"bram18\": %lld, \"lut\": %lld, \"ff\": %lld}",
                    (long long)q.block, q.is_port ? "true" : "false", (long long)q.channels, (long long)q.height, (long long)q.width,
                    (long long)q.bits, (long long)q.default_depth, (long long)q.max_occupancy, (long long)q.hls4ml_max, (long long)q.depth,
                    memory_name(q.memory), (long long)q.cost.bram18, (long long)q.cost.lut, (long long)q.cost.ff);
        }
        fprintf(f, "\n]}\n");
        fclose(f);
        printf("wrote %s\n", json_path);
    }
    status = 0;
    goto done;
fail:
    fprintf(stderr, "fifo_depths: %s\n", tailor_last_error());
done:
    free(rows);
    tailor_net_free(net);
    return status;
}
