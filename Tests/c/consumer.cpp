// A C++17 consumer of libtailor (ABI 2): RAII over the C handle, node-by-node graph building, the
// skip inventory, a model-file round trip and error paths. Every function the header says returns
// tailor_status is checked to, at compile time, and results are kept in tailor_status variables
// without casts. A hand-built block with ten convolutions exercises the skip-span accessor past
// the eight names ABI 1 could hold. Prints "N passed, 0 failed" at the end.
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "tailor.h"

namespace {

// Rule 1: every function returns tailor_status, except the few that cannot fail.
template <typename R, typename... A>
constexpr bool returns_status(R (*)(A...)) { return std::is_same<R, tailor_status>::value; }

#define RETURNS_STATUS(f) static_assert(returns_status(&f), #f " returns tailor_status")
RETURNS_STATUS(tailor_net_create);
RETURNS_STATUS(tailor_net_copy);
RETURNS_STATUS(tailor_zoo_create);
RETURNS_STATUS(tailor_net_add_input);
RETURNS_STATUS(tailor_net_add_conv2d);
RETURNS_STATUS(tailor_net_add_batchnorm);
RETURNS_STATUS(tailor_net_add_relu);
RETURNS_STATUS(tailor_net_add_add);
RETURNS_STATUS(tailor_net_add_pool);
RETURNS_STATUS(tailor_net_add_global_avgpool);
RETURNS_STATUS(tailor_net_add_flatten);
RETURNS_STATUS(tailor_net_add_dense);
RETURNS_STATUS(tailor_net_set_output);
RETURNS_STATUS(tailor_net_node_count);
RETURNS_STATUS(tailor_net_node_info);
RETURNS_STATUS(tailor_net_node_input);
RETURNS_STATUS(tailor_net_io_shape);
RETURNS_STATUS(tailor_net_block_count);
RETURNS_STATUS(tailor_net_block_info);
RETURNS_STATUS(tailor_net_set_block_mode);
RETURNS_STATUS(tailor_net_skip_count);
RETURNS_STATUS(tailor_net_skip_info);
RETURNS_STATUS(tailor_net_skip_span);
RETURNS_STATUS(tailor_net_param_count);
RETURNS_STATUS(tailor_net_node_index);
RETURNS_STATUS(tailor_net_block_index);
RETURNS_STATUS(tailor_net_param_index);
RETURNS_STATUS(tailor_net_param_info);
RETURNS_STATUS(tailor_net_param_dim);
RETURNS_STATUS(tailor_net_get_param);
RETURNS_STATUS(tailor_net_set_param);
RETURNS_STATUS(tailor_net_save);
RETURNS_STATUS(tailor_net_load);
RETURNS_STATUS(tailor_net_load_buffer);
RETURNS_STATUS(tailor_net_describe);
RETURNS_STATUS(tailor_net_predict);
RETURNS_STATUS(tailor_hw_config_defaults);
RETURNS_STATUS(tailor_net_estimate);
RETURNS_STATUS(tailor_net_skip_cost);
RETURNS_STATUS(tailor_net_estimate_json);
RETURNS_STATUS(tailor_net_compare_json);
RETURNS_STATUS(tailor_net_fifos);
RETURNS_STATUS(tailor_net_fifo);
RETURNS_STATUS(tailor_dataflow_simulate_json);
RETURNS_STATUS(tailor_fpga_parts_json);
RETURNS_STATUS(tailor_net_budget_check_json);
RETURNS_STATUS(tailor_plan_modes);
RETURNS_STATUS(tailor_train_config_defaults);
RETURNS_STATUS(tailor_cifar10_read);
RETURNS_STATUS(tailor_net_train_step);
RETURNS_STATUS(tailor_net_grad);
RETURNS_STATUS(tailor_net_train_reset);
RETURNS_STATUS(tailor_net_fit);
RETURNS_STATUS(tailor_net_history_count);
RETURNS_STATUS(tailor_net_history);
RETURNS_STATUS(tailor_net_evaluate);
RETURNS_STATUS(tailor_run_config_defaults);
RETURNS_STATUS(tailor_run_train_config_defaults);
RETURNS_STATUS(tailor_run);
RETURNS_STATUS(tailor_net_run_history_json);
RETURNS_STATUS(tailor_checkpoint_json);
RETURNS_STATUS(tailor_net_fit_resume);
#undef RETURNS_STATUS
// The init macros return what the defaults functions do.
static_assert(std::is_same<decltype(tailor_hw_config_init(static_cast<tailor_hw_config *>(nullptr))), tailor_status>::value,
              "tailor_hw_config_init gives a tailor_status");
static_assert(std::is_same<decltype(tailor_train_config_init(static_cast<tailor_train_config *>(nullptr))), tailor_status>::value,
              "tailor_train_config_init gives a tailor_status");
static_assert(std::is_same<decltype(tailor_run_config_init(static_cast<tailor_run_config *>(nullptr))), tailor_status>::value,
              "tailor_run_config_init gives a tailor_status");
// The exceptions rule 1 names.
static_assert(std::is_same<decltype(&tailor_net_free), void (*)(tailor_net *)>::value, "tailor_net_free is void");
static_assert(std::is_same<decltype(&tailor_last_error), const char *(*)()>::value, "tailor_last_error");
static_assert(std::is_same<decltype(&tailor_status_name), const char *(*)(int)>::value, "tailor_status_name");
static_assert(std::is_same<decltype(&tailor_version), const char *(*)()>::value, "tailor_version");
static_assert(std::is_same<decltype(&tailor_zoo_names), const char *(*)()>::value, "tailor_zoo_names");
static_assert(std::is_same<decltype(&tailor_abi_version), int (*)()>::value, "tailor_abi_version");
static_assert(std::is_same<decltype(&tailor_cpu_supported), int (*)()>::value, "tailor_cpu_supported");
// Rule 2: every versioned struct starts with int64_t size and is whole 8-byte units.
template <typename T>
constexpr bool versioned() {
    return std::is_same<decltype(T::size), int64_t>::value && offsetof(T, size) == 0 && sizeof(T) % 8 == 0 &&
           sizeof(T) <= TAILOR_MAX_STRUCT_BYTES;
}
static_assert(versioned<tailor_node_info>() && versioned<tailor_skip_info>() && versioned<tailor_param_info>() &&
                  versioned<tailor_hw_config>() && versioned<tailor_skip_cost>() && versioned<tailor_hw_totals>() &&
                  versioned<tailor_fifo>() && versioned<tailor_train_config>() && versioned<tailor_data>() &&
                  versioned<tailor_progress>() && versioned<tailor_epoch_stats>() && versioned<tailor_run_config>(),
              "versioned structs");

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
    const tailor_status st = tailor_zoo_create(name, 10, 0, 0, 0, 0, &raw);
    if (st != TAILOR_OK) throw std::runtime_error(tailor_last_error());
    return Net(raw);
}

// An output struct ready for the library: zeroed, size set (rule 2).
template <typename T>
T out_struct() {
    T v{};
    v.size = static_cast<int64_t>(sizeof v);
    return v;
}

std::vector<tailor_skip_info> skips(tailor_net *net) {
    int64_t n = 0;
    check(tailor_net_skip_count(net, &n) == TAILOR_OK, "skip count");
    std::vector<tailor_skip_info> out(static_cast<size_t>(n), out_struct<tailor_skip_info>());
    for (int64_t i = 0; i < n; ++i) {
        const tailor_status st = tailor_net_skip_info(net, i, &out[static_cast<size_t>(i)]);
        check(st == TAILOR_OK, "skip info");
    }
    return out;
}

// The names of the convolutions skip `index` bypasses, through the accessor (rule 3).
std::vector<std::string> spans(tailor_net *net, int64_t index, int64_t count) {
    std::vector<std::string> out;
    for (int64_t k = 0; k < count; ++k) {
        const char *name = nullptr;
        const tailor_status st = tailor_net_skip_span(net, index, k, &name);
        check(st == TAILOR_OK && name != nullptr, "skip span");
        out.emplace_back(name ? name : "");
    }
    return out;
}

}  // namespace

int main(int argc, char **argv) {
    const std::string path = argc > 1 ? argv[1] : "consumer_cpp.tailor";
    const std::string deep_path = path + ".deep";
    Net net = zoo("resnet8");
    for (const auto &s : skips(net.get()))
        std::printf("  %s: %s -> %s (%lld convs)\n", s.block_name, s.source, s.join ? s.join : "-",
                    static_cast<long long>(s.num_spans));
    check(skips(net.get()).size() == 3, "resnet8 has three skips");
    {
        const auto s = skips(net.get());
        check(s.size() == 3 && spans(net.get(), 2, s[2].num_spans) == std::vector<std::string>{"layer3.0.conv1", "layer3.0.conv2"},
              "layer3.0's skip spans its two convolutions");
    }

    // A one-block network built by hand is recognised as a residual block.
    tailor_net *raw = nullptr;
    tailor_status st = tailor_net_create(42, &raw);
    check(st == TAILOR_OK, "create");
    Net hand(raw);
    check(tailor_net_add_input(hand.get(), "x", 8, 16, 16, nullptr) == TAILOR_OK, "input");
    check(tailor_net_add_conv2d(hand.get(), "c1", "x", 8, 3, 1, 1, 0, nullptr) == TAILOR_OK, "conv1");
    check(tailor_net_add_batchnorm(hand.get(), "b1", "c1", 1e-5, 0.1, nullptr) == TAILOR_OK, "bn1");
    check(tailor_net_add_relu(hand.get(), "r1", "b1", nullptr) == TAILOR_OK, "relu1");
    check(tailor_net_add_conv2d(hand.get(), "c2", "r1", 8, 3, 1, 1, 0, nullptr) == TAILOR_OK, "conv2");
    check(tailor_net_add_batchnorm(hand.get(), "b2", "c2", 1e-5, 0.1, nullptr) == TAILOR_OK, "bn2");
    int64_t sum = -1;
    check(tailor_net_add_add(hand.get(), "sum", "b2", "x", &sum) == TAILOR_OK && sum == 6, "add");
    int64_t out = -1;
    check(tailor_net_add_relu(hand.get(), "out", "sum", &out) == TAILOR_OK && out == 7, "relu out");
    check(tailor_net_add_global_avgpool(hand.get(), "gap", "out", nullptr) == TAILOR_OK, "gap");
    check(tailor_net_add_flatten(hand.get(), "flat", "gap", nullptr) == TAILOR_OK, "flatten");
    check(tailor_net_add_dense(hand.get(), "fc", "flat", 4, 1, nullptr) == TAILOR_OK, "dense");
    int64_t blocks = 0;
    check(tailor_net_block_count(hand.get(), &blocks) == TAILOR_OK && blocks == 1, "block recognised");
    // Node inputs through the accessor (rule 3).
    {
        auto info = out_struct<tailor_node_info>();
        const char *a = nullptr, *b = nullptr;
        st = tailor_net_node_info(hand.get(), sum, &info);
        check(st == TAILOR_OK && info.num_inputs == 2 && std::string(info.op) == "add" && info.channels == 8 && info.height == 16 &&
                  info.width == 16 && info.block == 0, "the join node");
        check(tailor_net_node_input(hand.get(), sum, 0, &a) == TAILOR_OK && tailor_net_node_input(hand.get(), sum, 1, &b) == TAILOR_OK &&
                  std::string(a) == "b2" && std::string(b) == "x", "the join's inputs, in order");
        st = tailor_net_node_input(hand.get(), sum, 2, &a);
        check(st == TAILOR_ERR_INVALID_ARGUMENT, "input 2 of a two-input node refused");
        st = tailor_net_node_input(hand.get(), 0, 0, &a);
        check(st == TAILOR_ERR_INVALID_ARGUMENT, "the input node has no inputs");
        int64_t c = 0, h = 0, w = 0, o = 0;
        check(tailor_net_io_shape(hand.get(), &c, &h, &w, &o) == TAILOR_OK && c == 8 && h == 16 && w == 16 && o == 4, "io shape");
    }
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
    // The resource model from C++: JSON an HLS flow can read, and the per-skip rows kept on the handle.
    tailor_hw_config cfg;
    check(tailor_hw_config_init(&cfg) == TAILOR_OK, "config");
    cfg.target = "finn";
    cfg.bits = 4;
    int64_t n = 0;
    auto totals = out_struct<tailor_hw_totals>();
    check(tailor_net_estimate(back.get(), &cfg, &n, &totals) == TAILOR_OK && n == 2, "estimate the short block on FINN");
    std::vector<tailor_skip_cost> rows(static_cast<size_t>(n), out_struct<tailor_skip_cost>());
    for (int64_t i = 0; i < n; ++i) {
        st = tailor_net_skip_cost(back.get(), i, &rows[static_cast<size_t>(i)]);
        check(st == TAILOR_OK, "row");
    }
    check(!rows.empty() && rows[0].lag_words > 0 && rows[0].depth_words >= 2, "lag-based FINN depth");
    check(tailor_net_skip_cost(back.get(), n, &rows[0]) == TAILOR_ERR_NOT_FOUND, "row past the end is NOT_FOUND");
    check(tailor_net_estimate_json(back.get(), &cfg, &json) == TAILOR_OK && std::string(json).find("optimize_depth") != std::string::npos,
          "FINN formulas explained");

    // A block with ten convolutions: more than the eight span names ABI 1's tailor_skip_info held.
    // The skip bypasses all ten; read them with tailor_net_skip_span.
    {
        constexpr int convs = 10;
        tailor_net *d = nullptr;
        st = tailor_net_create(7, &d);
        check(st == TAILOR_OK, "create deep");
        Net deep(d);
        check(tailor_net_add_input(deep.get(), "x", 4, 8, 8, nullptr) == TAILOR_OK, "deep input");
        std::string prev = "x";
        std::vector<std::string> conv_names;
        bool built = true;
        for (int k = 0; k < convs; ++k) {
            const std::string c = "d" + std::to_string(k), b = "bn" + std::to_string(k), r = "r" + std::to_string(k);
            built = built && tailor_net_add_conv2d(deep.get(), c.c_str(), prev.c_str(), 4, 3, 1, 1, 0, nullptr) == TAILOR_OK &&
                    tailor_net_add_batchnorm(deep.get(), b.c_str(), c.c_str(), 1e-5, 0.1, nullptr) == TAILOR_OK;
            conv_names.push_back(c);
            prev = b;
            if (k + 1 < convs) {
                built = built && tailor_net_add_relu(deep.get(), r.c_str(), b.c_str(), nullptr) == TAILOR_OK;
                prev = r;
            }
        }
        built = built && tailor_net_add_add(deep.get(), "join", prev.c_str(), "x", nullptr) == TAILOR_OK &&
                tailor_net_add_relu(deep.get(), "out", "join", nullptr) == TAILOR_OK &&
                tailor_net_add_global_avgpool(deep.get(), "gap", "out", nullptr) == TAILOR_OK &&
                tailor_net_add_flatten(deep.get(), "flat", "gap", nullptr) == TAILOR_OK &&
                tailor_net_add_dense(deep.get(), "fc", "flat", 3, 1, nullptr) == TAILOR_OK;
        check(built, "a ten-convolution block built node by node");
        int64_t nb = 0;
        int32_t kind = -1;
        check(tailor_net_block_count(deep.get(), &nb) == TAILOR_OK && nb == 1 &&
                  tailor_net_block_info(deep.get(), 0, nullptr, &kind, nullptr) == TAILOR_OK && kind == TAILOR_BLOCK_OTHER,
              "recognised as one residual block (neither basic nor bottleneck)");
        auto s = skips(deep.get());
        check(s.size() == 1 && s[0].num_spans == convs && s[0].join && std::string(s[0].join) == "join",
              "its long skip bypasses ten convolutions");
        if (s.size() == 1) {
            check(spans(deep.get(), 0, s[0].num_spans) == conv_names, "all ten span names, in order");
            const char *name = nullptr;
            check(tailor_net_skip_span(deep.get(), 0, convs, &name) == TAILOR_ERR_INVALID_ARGUMENT &&
                      tailor_net_skip_span(deep.get(), 0, -1, &name) == TAILOR_ERR_INVALID_ARGUMENT,
                  "span index out of range refused");
        }
        // Shortened: one skip per convolution, each spanning one.
        check(tailor_net_set_block_mode(deep.get(), 0, TAILOR_MODE_SHORT) == TAILOR_OK, "shorten the ten-convolution block");
        s = skips(deep.get());
        check(s.size() == convs, "ten short skips");
        bool each_one = s.size() == convs;
        for (size_t k = 0; k < s.size(); ++k)
            each_one = each_one && s[k].num_spans == 1 && s[k].index == static_cast<int64_t>(k) &&
                       spans(deep.get(), static_cast<int64_t>(k), 1) == std::vector<std::string>{conv_names[k]};
        check(each_one, "each short skip spans its own convolution");
        tailor_hw_config hls;
        int64_t count = 0;
        check(tailor_hw_config_init(&hls) == TAILOR_OK && tailor_net_estimate(deep.get(), &hls, &count, nullptr) == TAILOR_OK &&
                  count == convs, "ten rows estimated");
        // Back to long, through a model file: the spans survive.
        check(tailor_net_set_block_mode(deep.get(), 0, TAILOR_MODE_LONG) == TAILOR_OK &&
                  tailor_net_save(deep.get(), deep_path.c_str()) == TAILOR_OK, "save the deep block");
        tailor_net *rd = nullptr;
        st = tailor_net_load(deep_path.c_str(), &rd);
        Net reloaded(rd);
        check(st == TAILOR_OK, "load the deep block");
        if (st == TAILOR_OK) {
            s = skips(reloaded.get());
            check(s.size() == 1 && s[0].num_spans == convs && spans(reloaded.get(), 0, convs) == conv_names,
                  "ten spans after a model-file round trip");
        }
        std::remove(deep_path.c_str());
    }

    // Output structs declared by a shorter, older struct get only their prefix (rule 2).
    {
        struct {
            tailor_skip_info info;
            unsigned char tail[32];
        } older;
        std::memset(&older, 0x5A, sizeof older);
        older.info.size = static_cast<int64_t>(offsetof(tailor_skip_info, source));
        st = tailor_net_skip_info(net.get(), 0, &older.info);
        const unsigned char *bytes = reinterpret_cast<const unsigned char *>(&older);
        bool rest = true;
        for (size_t k = offsetof(tailor_skip_info, source); k < sizeof older; ++k) rest = rest && bytes[k] == 0x5A;
        check(st == TAILOR_OK && older.info.block == 0 && std::string(older.info.block_name) == "layer1.0" && rest,
              "a prefix-sized skip info: prefix written, the rest untouched");
    }
    std::remove(path.c_str());
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
