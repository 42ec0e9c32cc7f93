// A C++17 consumer of libtailor: RAII over the C handle, node-by-node graph building, the skip
// inventory, a model-file round trip and error paths. Prints "N passed, 0 failed" at the end.
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "tailor.h"

namespace {

int passed = 0, failed = 0;

void check(bool ok, const std::string &what) {
    if (ok) {
        ++passed;
    } else {
        ++failed;
        std::fprintf(stderr, "FAIL %s (last error: %s)\n", what.c_str(), tailor_last_error());
    }
}

struct NetDeleter {
    void operator()(tailor_net *n) const { tailor_net_free(n); }
};
using Net = std::unique_ptr<tailor_net, NetDeleter>;

Net zoo(const char *name) {
    tailor_net *raw = nullptr;
    if (tailor_zoo_create(name, 10, nullptr, 0, &raw) != TAILOR_OK) throw std::runtime_error(tailor_last_error());
    return Net(raw);
}

std::vector<tailor_skip_info> skips(tailor_net *net) {
    int64_t n = 0;
    check(tailor_net_skip_count(net, &n) == TAILOR_OK, "skip count");
    std::vector<tailor_skip_info> out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) check(tailor_net_skip_info(net, i, &out[static_cast<size_t>(i)]) == TAILOR_OK, "skip info");
    return out;
}

}  // namespace

int main(int argc, char **argv) {
    const std::string path = argc > 1 ? argv[1] : "consumer_cpp.tailor";
    Net net = zoo("resnet8");
    for (const auto &s : skips(net.get()))
        std::printf("  %s: %s -> %s (%lld convs)\n", s.block_name, s.source, s.join ? s.join : "-",
                    static_cast<long long>(s.num_spans));
    check(skips(net.get()).size() == 3, "resnet8 has three skips");

    // A one-block network built by hand is recognised as a residual block.
    tailor_net *raw = nullptr;
    check(tailor_net_create(42, &raw) == TAILOR_OK, "create");
    Net hand(raw);
    check(tailor_net_add_input(hand.get(), "x", 8, 16, 16, nullptr) == TAILOR_OK, "input");
    check(tailor_net_add_conv2d(hand.get(), "c1", "x", 8, 3, 1, 1, 0, nullptr) == TAILOR_OK, "conv1");
    check(tailor_net_add_batchnorm(hand.get(), "b1", "c1", 1e-5, 0.1, nullptr) == TAILOR_OK, "bn1");
    check(tailor_net_add_relu(hand.get(), "r1", "b1", nullptr) == TAILOR_OK, "relu1");
    check(tailor_net_add_conv2d(hand.get(), "c2", "r1", 8, 3, 1, 1, 0, nullptr) == TAILOR_OK, "conv2");
    check(tailor_net_add_batchnorm(hand.get(), "b2", "c2", 1e-5, 0.1, nullptr) == TAILOR_OK, "bn2");
    check(tailor_net_add_add(hand.get(), "sum", "b2", "x", nullptr) == TAILOR_OK, "add");
    int64_t out = -1;
    check(tailor_net_add_relu(hand.get(), "out", "sum", &out) == TAILOR_OK && out == 7, "relu out");
    check(tailor_net_add_global_avgpool(hand.get(), "gap", "out", nullptr) == TAILOR_OK, "gap");
    check(tailor_net_add_flatten(hand.get(), "flat", "gap", nullptr) == TAILOR_OK, "flatten");
    check(tailor_net_add_dense(hand.get(), "fc", "flat", 4, 1, nullptr) == TAILOR_OK, "dense");
    int64_t blocks = 0;
    check(tailor_net_block_count(hand.get(), &blocks) == TAILOR_OK && blocks == 1, "block recognised");
    check(tailor_net_add_add(hand.get(), "bad", "x", "fc", nullptr) == TAILOR_ERR_SHAPE, "add of different shapes");
    check(tailor_net_add_conv2d(hand.get(), "c3", "missing", 8, 3, 1, 1, 0, nullptr) == TAILOR_ERR_NOT_FOUND,
          "unknown input");
    check(tailor_net_add_pool(hand.get(), "p", "x", 7, 2, 2, 0, nullptr) == TAILOR_ERR_INVALID_ARGUMENT, "bad pool kind");

    check(tailor_net_set_block_mode(hand.get(), 0, TAILOR_MODE_SHORT) == TAILOR_OK, "shorten hand-built block");
    check(tailor_net_save(hand.get(), path.c_str()) == TAILOR_OK, "save");
    tailor_net *loaded = nullptr;
    check(tailor_net_load(path.c_str(), &loaded) == TAILOR_OK, "load");
    Net back(loaded);
    check(skips(back.get()).size() == 2, "short block reloaded with two skips");
    const char *json = nullptr;
    check(tailor_net_describe(back.get(), &json) == TAILOR_OK && std::string(json).find("\"short\"") != std::string::npos,
          "describe reports the mode");
    // The resource model from C++: JSON an HLS flow can read, and the per-skip rows.
    tailor_hw_config cfg;
    check(tailor_hw_config_init(&cfg) == TAILOR_OK, "config");
    cfg.target = "finn";
    cfg.bits = 4;
    std::vector<tailor_skip_cost> rows(4);
    int64_t n = 0;
    tailor_hw_totals totals;
    check(tailor_net_estimate(back.get(), &cfg, rows.data(), static_cast<int64_t>(rows.size()), &n, &totals) == TAILOR_OK &&
          n == 2, "estimate the short block on FINN");
    check(rows[0].lag_words > 0 && rows[0].depth_words >= 2, "lag-based FINN depth");
    check(tailor_net_estimate_json(back.get(), &cfg, &json) == TAILOR_OK && std::string(json).find("optimize_depth") != std::string::npos,
          "FINN formulas explained");
    std::remove(path.c_str());
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
