/*
 * tailor.h — the C API of libtailor: residual networks whose skip connections can be removed
 * or shortened (Tailor, Weng et al., arXiv 2301.07247), and what that saves in hardware.
 *
 * C99, usable from C++.
 *
 * The rules (ABI 2). Every declaration below follows them.
 *  1. Status. Every function returns a tailor_status (TAILOR_OK = 0); on failure
 *     tailor_last_error() names the problem and handle outputs are NULL. The exceptions cannot
 *     fail: the *_free functions (void) and tailor_last_error, tailor_status_name, tailor_version,
 *     tailor_abi_version, tailor_cpu_supported, tailor_zoo_names.
 *  2. Structs begin with `int64_t size` (a multiple of 8, at most TAILOR_MAX_STRUCT_BYTES). Input
 *     structs (configs, data): start from the *_init macro (defaults) or `= {.size = sizeof x}`;
 *     the library reads the first `size` bytes and defaults the rest, so structs grow without
 *     breaking older or newer programs. Output structs: set `size` (C: `tailor_skip_info s =
 *     {.size = sizeof s};`); the library writes at most `size` bytes. A struct the library passes you
 *     (tailor_progress) carries the library's size: read a field only if size covers it.
 *     tailor_hw_cost and tailor_mode_switch are plain records (no size; they change only with
 *     TAILOR_ABI_VERSION).
 *  3. No fixed arrays in structs: a count field plus an index accessor (node inputs, skip spans,
 *     parameter dims).
 *  4. Lists the library computes (estimate rows, FIFOs, a training history) stay on the handle:
 *     the call that makes them gives their count, an accessor reads entry `index`. Arrays you
 *     own (inputs, outputs, labels, modes) come with an explicit element count or capacity.
 *  5. Strings. The library owns every string it returns; never free one. Names stay valid until
 *     their handle is freed. JSON stays valid until the next call of the same function on the
 *     same handle, or its free. Strings that come from no handle (tailor_last_error,
 *     tailor_checkpoint_json, tailor_dataflow_simulate_json) belong to the calling thread and
 *     stay valid until its next tailor_* call. Static strings (versions, status names,
 *     tailor_fpga_parts_json) forever.
 *     Strings you pass are UTF-8, NUL-terminated, borrowed for the call.
 *  6. Indexes are int64_t, 0-based; access by index is O(1); tailor_net_{node,block,param}_index
 *     turn names into indexes. Out-pointers documented "(may be NULL)" are optional.
 *  7. Limits are the TAILOR_MAX_* constants below; beyond one, TAILOR_ERR_INVALID_ARGUMENT or
 *     TAILOR_ERR_SHAPE naming it.
 *
 * Conventions
 *  - Handles are opaque. Every *_create / *_load has a matching *_free; free(NULL) is a no-op.
 *    A freed or foreign pointer is refused with TAILOR_ERR_INVALID_ARGUMENT, never dereferenced.
 *  - Arrays cross as float32 + explicit shape. The library copies what it keeps; pointers you pass
 *    are borrowed for the duration of the call only.
 *  - Layout at the boundary is PyTorch's: activations NCHW, conv weights OIHW, linear (out, in).
 *  - Parameter names are PyTorch state_dict names ("layer1.0.conv1.weight").
 *  - Node indexes are positions in the network's topological order; they change when a block's
 *    mode is switched (the node list is rebuilt). Names never change.
 *  - Threads: functions on different handles may run concurrently. A handle is used by one thread
 *    at a time; a second thread entering a handle that is in use gets TAILOR_ERR_BUSY instead of
 *    corrupting it. tailor_last_error() is per thread.
 *  - Nothing here aborts the process: bad arguments, unknown names, wrong shapes, NaN/Inf and
 *    damaged files all return an error status.
 *  - Numerical faults: NaN/Inf in inputs, teacher logits, parameters you set or files you load are
 *    refused with TAILOR_ERR_NUMERIC naming the tensor and index. During training a non-finite
 *    loss, gradient, BatchNorm statistic or updated weight stops the step with TAILOR_ERR_NUMERIC
 *    naming the step and the tensor ("gradient of 'layer1.0.conv1.weight' is NaN at epoch 2,
 *    step 5 …"), and the network keeps the weights of the last good step.
 *  - Denormals: inside every call the library computes with denormals flushed to zero (x86-64
 *    MXCSR FTZ|DAZ, aarch64 FPCR.FZ), like torch.set_flush_denormal(True): values below FLT_MIN
 *    (~1.18e-38) in inputs, weights and intermediate results count as zero, so they can neither
 *    slow training to a crawl (x86 takes a ~100-cycle assist per denormal operation) nor turn
 *    into Inf through a reciprocal. The calling thread's floating-point environment (control bits
 *    and exception flags) is restored before every function returns, and progress callbacks run
 *    in it; the library's own worker threads always flush. Values you set are stored unchanged.
 */
#ifndef TAILOR_H
#define TAILOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TAILOR_VERSION_MAJOR 0
#define TAILOR_VERSION_MINOR 3
#define TAILOR_VERSION_PATCH 0
/** Bumped whenever a declaration in this header changes incompatibly (the SONAME is libtailor.so.<it>). */
#define TAILOR_ABI_VERSION 2

/* ==== Limits ============================================================================= */

#define TAILOR_MAX_STRING_BYTES 4096        /**< a name, path or option string, without its NUL */
#define TAILOR_MAX_NODE_NAME_BYTES 200      /**< a node name: ASCII letters, digits, '_', '.', '-' */
#define TAILOR_MAX_JSON_BYTES 1048576       /**< a JSON option (precision_json, layers_json) or a checkpoint note */
#define TAILOR_MAX_DESIGN_JSON_BYTES 67108864 /**< the design given to tailor_dataflow_simulate_json */
#define TAILOR_MAX_DIM 1048576              /**< channels, height, width, features, kernel, stride, padding, classes */
#define TAILOR_MAX_RANK 8                   /**< dimensions of a tensor passed to tailor_net_set_param */
#define TAILOR_MAX_BATCH 65536              /**< samples of one training step (train_step n, batch_size) */
#define TAILOR_MAX_SAMPLES 268435456        /**< samples in a tailor_data (and at most 2^31 values in all) */
#define TAILOR_MAX_SIMULATED_WORDS 67108864 /**< stream words a dataflow simulation runs; larger designs get
                                                 default depths only */
#define TAILOR_MAX_STRUCT_BYTES 65536       /**< the largest `size` a struct may declare */

/* ==== Status and errors ================================================================== */

typedef enum tailor_status {
    TAILOR_OK = 0,
    TAILOR_ERR_INVALID_ARGUMENT = 1, /**< null pointer, out-of-range value, bad name */
    TAILOR_ERR_SHAPE = 2,            /**< shapes or sizes that do not fit */
    TAILOR_ERR_NOT_FOUND = 3,        /**< unknown node, parameter, block or zoo name */
    TAILOR_ERR_IO = 4,               /**< a file could not be opened, read or written */
    TAILOR_ERR_FORMAT = 5,           /**< a file or buffer is truncated, corrupt or not a model */
    TAILOR_ERR_NUMERIC = 6,          /**< NaN or Inf where finite values are required */
    TAILOR_ERR_UNSUPPORTED = 7,      /**< valid request the library cannot do (yet) */
    TAILOR_ERR_CANCELLED = 8,        /**< a callback asked to stop */
    TAILOR_ERR_BUSY = 9,             /**< the handle is in use by another thread */
    TAILOR_ERR_VERSION = 10,         /**< file or ABI version mismatch */
    TAILOR_ERR_INTERNAL = 11         /**< a bug in the library; please report it */
} tailor_status;

/**
 * Message describing the last failure on the calling thread.
 * @return never NULL; "" if the last call succeeded. Valid until the next tailor_* call on this thread.
 * Thread-safe.
 */
const char *tailor_last_error(void);

/** Short name of a status code ("TAILOR_ERR_SHAPE"). Never NULL; static storage. Thread-safe. */
const char *tailor_status_name(int status);

/* ==== Version ============================================================================ */

/** Library version as "MAJOR.MINOR.PATCH". Static storage. Thread-safe. */
const char *tailor_version(void);

/** TAILOR_ABI_VERSION the library was built with; compare with the header's to detect a mismatch. */
int tailor_abi_version(void);

/** 1 if this CPU can run the library, 0 if not. Builds compiled for AVX2/FMA (the default when the
 * building machine has them; `TAILOR_CPU=x86-64 make lib` builds for any x86-64) would stop on an
 * illegal instruction on older CPUs; this function is plain C for the x86-64 baseline, so call it
 * first when the library may run on another machine than it was built on. Thread-safe. */
int tailor_cpu_supported(void);

/* ==== Networks =========================================================================== */

/** Opaque network: graph, parameters, residual blocks and their skip modes. */
typedef struct tailor_net tailor_net;

/**
 * Creates an empty network, to be built node by node with tailor_net_add_*.
 * @param seed seeds parameter initialisation (same seed, same initial weights).
 * @param out receives the handle; caller frees with tailor_net_free.
 */
tailor_status tailor_net_create(uint64_t seed, tailor_net **out);

/** Frees a network and every string it handed out. NULL is a no-op. Not for a handle in use. */
void tailor_net_free(tailor_net *net);

/** Deep copy: same graph, modes and weights, independent afterwards. Caller frees *out. */
tailor_status tailor_net_copy(tailor_net *net, tailor_net **out);

/**
 * Builds a reference network: "resnet8" (MLPerf Tiny), "resnet20", "resnet32", "resnet44",
 * "resnet56", "resnet110" (CIFAR, He et al.), "resnet18", "resnet34", "resnet50" (torchvision).
 * Parameter names and shapes match the PyTorch modules.
 * @param num_classes size of the final dense layer (>= 1).
 * @param channels, height, width the input of one sample, or all 0 for the default (3x32x32 CIFAR,
 *        3x224x224 ImageNet).
 * @param seed seeds parameter initialisation.
 * @param out receives the handle; caller frees with tailor_net_free.
 */
tailor_status tailor_zoo_create(const char *name, int64_t num_classes, int64_t channels, int64_t height,
                                int64_t width, uint64_t seed, tailor_net **out);

/** Comma-separated names tailor_zoo_create accepts. Static storage. */
const char *tailor_zoo_names(void);

/* ---- Building node by node. Each returns the new node's index in *node_out (may be NULL).
 *      Inputs are node names. Shapes are checked as nodes are added; residual blocks
 *      (ReLU(add(conv-BN-ReLU-…-conv-BN, x or conv1x1-BN(x)))) are recognised automatically. ---- */

/** The network's single input, first: one sample is channels x height x width. */
tailor_status tailor_net_add_input(tailor_net *net, const char *name, int64_t channels, int64_t height,
                                   int64_t width, int64_t *node_out);
/** 2-D convolution, square kernel, symmetric stride/padding (nn.Conv2d, groups=1, dilation=1). */
tailor_status tailor_net_add_conv2d(tailor_net *net, const char *name, const char *input,
                                    int64_t out_channels, int64_t kernel, int64_t stride, int64_t padding,
                                    int bias, int64_t *node_out);
/** Batch normalisation (nn.BatchNorm2d; eps e.g. 1e-5, momentum e.g. 0.1). */
tailor_status tailor_net_add_batchnorm(tailor_net *net, const char *name, const char *input, double eps,
                                       double momentum, int64_t *node_out);
tailor_status tailor_net_add_relu(tailor_net *net, const char *name, const char *input, int64_t *node_out);
/** Element-wise sum of two nodes of the same shape (a skip join). */
tailor_status tailor_net_add_add(tailor_net *net, const char *name, const char *a, const char *b,
                                 int64_t *node_out);

typedef enum tailor_pool_kind { TAILOR_POOL_MAX = 0, TAILOR_POOL_AVG = 1 } tailor_pool_kind;
/** Max or average pooling (count_include_pad like PyTorch), square window. */
tailor_status tailor_net_add_pool(tailor_net *net, const char *name, const char *input, int kind,
                                  int64_t kernel, int64_t stride, int64_t padding, int64_t *node_out);
/** Global average pooling to channels x 1 x 1 (nn.AdaptiveAvgPool2d(1)). */
tailor_status tailor_net_add_global_avgpool(tailor_net *net, const char *name, const char *input,
                                            int64_t *node_out);
/** Flattens C x H x W to C*H*W features in PyTorch order. */
tailor_status tailor_net_add_flatten(tailor_net *net, const char *name, const char *input, int64_t *node_out);
/** Fully connected layer (nn.Linear) on a flat input. */
tailor_status tailor_net_add_dense(tailor_net *net, const char *name, const char *input, int64_t out_features,
                                   int bias, int64_t *node_out);

/**
 * Declares node `name` the network's output (without it, the last node added is). Every node must
 * lead to the output when the network is used (predict, train, estimate): a node that does not,
 * such as one added off an inner tensor by mistake, makes those calls fail with
 * TAILOR_ERR_INVALID_ARGUMENT naming it, instead of silently becoming the output.
 * TAILOR_ERR_NOT_FOUND for an unknown name.
 */
tailor_status tailor_net_set_output(tailor_net *net, const char *name);

/* ---- Inspecting ---- */

/** Description of one node (an output struct: set size). Strings belong to the network handle. */
typedef struct tailor_node_info {
    int64_t size;            /**< sizeof(tailor_node_info), set by the caller */
    const char *name;
    const char *op;          /**< "input", "conv2d", "batchnorm", "relu", "add", "maxpool", "avgpool",
                                  "global_avgpool", "flatten", "dense" */
    int64_t num_inputs;      /**< 0, 1 or 2: read each with tailor_net_node_input */
    int64_t channels, height, width; /**< the output of one sample (a flat output: features x 1 x 1) */
    int64_t out_channels;    /**< conv2d / dense: output channels or features; else 0 */
    int64_t kernel, stride, padding; /**< conv2d / pooling; else 0 */
    int32_t bias;            /**< conv2d / dense: 1 if it has a bias */
    int32_t block;           /**< index of the residual block the node belongs to, or -1 */
} tailor_node_info;

tailor_status tailor_net_node_count(tailor_net *net, int64_t *count);
tailor_status tailor_net_node_info(tailor_net *net, int64_t index, tailor_node_info *out);
/** Name of input `k` (0 <= k < num_inputs) of node `index`; *name belongs to the handle. */
tailor_status tailor_net_node_input(tailor_net *net, int64_t index, int64_t k, const char **name);

/** The input of one sample (channels, height, width) and the output feature count; any may be NULL. */
tailor_status tailor_net_io_shape(tailor_net *net, int64_t *channels, int64_t *height, int64_t *width,
                                  int64_t *num_outputs);

/* ---- Residual blocks and their skips ---- */

typedef enum tailor_skip_mode {
    TAILOR_MODE_LONG = 0,    /**< the original skip around the whole branch */
    TAILOR_MODE_REMOVED = 1, /**< SkipRemover: no skip */
    TAILOR_MODE_SHORT = 2    /**< SkipShortener: one short skip per convolution */
} tailor_skip_mode;

typedef enum tailor_block_kind {
    TAILOR_BLOCK_BASIC = 0,      /**< two 3x3 convolutions */
    TAILOR_BLOCK_BOTTLENECK = 1, /**< 1x1, kxk, 1x1 convolutions */
    TAILOR_BLOCK_OTHER = 2
} tailor_block_kind;

tailor_status tailor_net_block_count(tailor_net *net, int64_t *count);
/** Name ("layer2.0"), tailor_block_kind and tailor_skip_mode of block `index`. *name belongs to
 *  the handle; any of the three may be NULL. */
tailor_status tailor_net_block_info(tailor_net *net, int64_t index, const char **name, int32_t *kind,
                                    int32_t *mode);
/** Switches a block to TAILOR_MODE_LONG / REMOVED / SHORT, rebuilding its nodes. Parameters of
 *  nodes that disappear are kept in the handle (and its copies) and come back when the block
 *  returns to a mode that has them; model files store only the current mode's parameters. */
tailor_status tailor_net_set_block_mode(tailor_net *net, int64_t block, int32_t mode);

/** One skip connection (an output struct: set size). A long block has one, a removed block one
 *  (join == NULL), a short block one per convolution. Strings belong to the network handle. */
typedef struct tailor_skip_info {
    int64_t size;             /**< sizeof(tailor_skip_info), set by the caller */
    int64_t block;            /**< block index */
    const char *block_name;   /**< "layer2.0" */
    int64_t index;            /**< position within the block */
    int32_t mode;             /**< tailor_skip_mode of the block */
    int32_t kind;             /**< tailor_block_kind */
    const char *source;       /**< node whose output the skip carries (where the stream is cloned) */
    const char *join;         /**< add node where it joins; NULL when removed */
    const char *projection;   /**< projection prefix ("layer2.0.downsample"), NULL for identity */
    int64_t num_spans;        /**< convolutions bypassed: read each with tailor_net_skip_span */
    int64_t channels, height, width; /**< the carried tensor */
} tailor_skip_info;

tailor_status tailor_net_skip_count(tailor_net *net, int64_t *count);
tailor_status tailor_net_skip_info(tailor_net *net, int64_t index, tailor_skip_info *out);
/** Name of convolution `k` (0 <= k < num_spans) that skip `index` bypasses; *name belongs to the handle.
 *  TAILOR_ERR_INVALID_ARGUMENT for an index out of range. */
tailor_status tailor_net_skip_span(tailor_net *net, int64_t index, int64_t k, const char **name);

/* ---- Parameters (weights and BN buffers), by PyTorch state_dict name ---- */

tailor_status tailor_net_param_count(tailor_net *net, int64_t *count);

/** Index of the node, residual block ("layer2.0") or parameter ("layer1.0.conv1.weight") named
 *  `name`, for the index-based calls; TAILOR_ERR_NOT_FOUND naming it when there is none. */
tailor_status tailor_net_node_index(tailor_net *net, const char *name, int64_t *index);
tailor_status tailor_net_block_index(tailor_net *net, const char *name, int64_t *index);
tailor_status tailor_net_param_index(tailor_net *net, const char *name, int64_t *index);
/** One parameter (an output struct: set size). Its name belongs to the handle. */
typedef struct tailor_param_info {
    int64_t size;             /**< sizeof(tailor_param_info), set by the caller */
    const char *name;         /**< state_dict name */
    int64_t ndim;             /**< rank: read each dimension with tailor_net_param_dim */
    int64_t count;            /**< elements (the product of the dimensions) */
    int32_t is_integer;       /**< 1 for buffers PyTorch keeps as int64 (num_batches_tracked) */
} tailor_param_info;

/** Parameter `index` (state_dict order). */
tailor_status tailor_net_param_info(tailor_net *net, int64_t index, tailor_param_info *out);
/** Dimension `k` (0 <= k < ndim) of parameter `index`. */
tailor_status tailor_net_param_dim(tailor_net *net, int64_t index, int64_t k, int64_t *dim);
/** Copies parameter `name` into out[0..count); count must equal its element count. */
tailor_status tailor_net_get_param(tailor_net *net, const char *name, float *out, int64_t count);
/** Replaces parameter `name`: ndim (<= TAILOR_MAX_RANK) and dims must equal its shape, values
 *  finite (integer buffers: non-negative whole numbers; running_var: >= 0). On error nothing changes. */
tailor_status tailor_net_set_param(tailor_net *net, const char *name, const float *data, int64_t ndim,
                                   const int64_t *dims);

/* ---- Model files: safetensors layout, graph and block modes in __metadata__ ---- */

/** Writes the network to `path` atomically (temporary file, then rename). */
tailor_status tailor_net_save(tailor_net *net, const char *path);
/** Reads a model file. Damaged or hostile files give TAILOR_ERR_FORMAT. Caller frees *out. */
tailor_status tailor_net_load(const char *path, tailor_net **out);
/** Same as tailor_net_load from a memory buffer (borrowed for the call). */
tailor_status tailor_net_load_buffer(const void *data, size_t size, tailor_net **out);

/**
 * The network as JSON: {"nodes": [...], "blocks": [...], "skips": [...], "params": [...]}.
 * *json belongs to the handle (rule 5).
 */
tailor_status tailor_net_describe(tailor_net *net, const char **json);

/* ==== Inference ========================================================================== */

/**
 * Runs the network in inference mode (BatchNorm with running statistics) on n samples.
 * @param x input, n x channels x height x width float32 (NCHW); must match the input node and be finite.
 * @param out receives n x num_outputs values (see tailor_net_io_shape); out_count must equal that.
 * Borrowed for the call. Same threading rule as every handle function.
 * Outputs that overflow to Inf/NaN (finite but huge weights or inputs) give TAILOR_ERR_NUMERIC
 * naming the output and sample; out is then left unchanged.
 */
tailor_status tailor_net_predict(tailor_net *net, const float *x, int64_t n, int64_t channels, int64_t height,
                                 int64_t width, float *out, int64_t out_count);

/**
 * Fixed-point inference: bit for bit what hls4ml 1.3.0's C simulation (`compile()` + float64
 * `predict()`, Vivado backend, io_stream, Latency strategy) computes for this network at the types
 * it carries (tailor_net_set_precision_json; without one, TAILOR_ERR_INVALID_ARGUMENT). Types
 * resolve as hls4ml resolves them: a role a layer does not name takes the model default, "auto"
 * takes hls4ml's inferred type; a batch norm folds into its conv when that conv's result is
 * "auto"; weights pass through hls4ml's decimal text. docs/fixed-point.md has the rules.
 * @param x input, n x channels x height x width doubles (NCHW), finite.
 * @param out receives n x num_outputs doubles: each output's exact value (exact up to 53 bits).
 * @param overflows receives how many conversions the overflow mode changed (may be NULL).
 * @param overflow_json receives {"node": count, "node.accum": count, "node.weight": count} for
 *        the conversions that overflowed (may be NULL); it belongs to the handle (rule 5).
 * @return TAILOR_ERR_UNSUPPORTED for what hls4ml cannot stream (pooling with padding or kernel !=
 *         stride) or an inferred type over 64 bits, naming the node.
 */
tailor_status tailor_net_predict_fixed(tailor_net *net, const double *x, int64_t n, int64_t channels,
                                       int64_t height, int64_t width, double *out, int64_t out_count,
                                       int64_t *overflows, const char **overflow_json);

/* ==== Hardware resource model (docs/hardware.md) ============================================= */

/** Hardware configuration. Fill with tailor_hw_config_init, then change fields. */
typedef struct tailor_hw_config {
    int64_t size;               /**< bytes of the struct the caller has; set by tailor_hw_config_init */
    const char *target;         /**< "hls4ml" (default), "finn" or "pe_array" */
    int32_t bits;               /**< precision of every tensor and weight, 1..64 bits (16) */
    int32_t reuse_factor;       /**< hls4ml reuse factor of every conv/dense (an invalid one is moved to the
                                     closest valid value, as hls4ml does); FINN folding; >= 1 (1) */
    const char *depth_policy;   /**< FIFO depths: "default" (what hls4ml writes: the whole tensor) or
                                     "optimized" (alias "simulated": what hls4ml's FifoDepthOptimization
                                     writes, max occupancy from the dataflow simulation + 1); NULL: the
                                     target's own (hls4ml: default; FINN always sizes by simulation).
                                     Not for pe_array. */
    const char *memory_policy;  /**< "auto" (the tool's choice, default), "srl", "lutram", "bram", "uram" */
    const char *precision_json; /**< NULL, or per-tensor overrides {"node": bits, "node.weight": bits}
                                     (at most TAILOR_MAX_JSON_BYTES, as layers_json) */
    double clock_mhz;           /**< PE array clock (200) */
    int64_t pe_count;           /**< PE array multiply-accumulates per cycle (256) */
    double bandwidth_gbps;      /**< PE array off-chip bandwidth, GB/s (12.8) */
    int64_t onchip_kib;         /**< PE array on-chip activation buffer, KiB (256) */
    const char *backend;        /**< hls4ml only: "vivado" (default, hls4ml's: C FIFOs of T bits per
                                     nnet::array<T,C> stream) or "vitis" (one packed FIFO of C*T bits) */
    const char *interface;      /**< "stream" (default: the input port offers a pixel per cycle) or
                                     "axi_wrapper" (the whole input is written to a FIFO first, as
                                     hls4ml's VivadoAccelerator wrappers do) */
    const char *strategy;       /**< hls4ml Strategy of every conv/dense: "latency" (default) or "resource" */
    const char *layers_json;    /**< NULL, or per-layer settings {"node": {"reuse_factor": R, "strategy": "resource"}} */
    const char *precision_source; /**< "network" (default: the widths of the fixed-point types the network
                                       carries, when it carries any, with precision_json overriding single
                                       tensors) or "config" (bits and precision_json alone) */
} tailor_hw_config;

/** Fills the first `size` bytes of *cfg with the defaults above (zeroing fields this library does
 *  not know) and sets cfg->size. Strings point at static storage. Use the macro, which passes the
 *  size this header declares: `tailor_hw_config cfg; tailor_hw_config_init(&cfg);`. */
tailor_status tailor_hw_config_defaults(tailor_hw_config *cfg, int64_t size);
#define tailor_hw_config_init(cfg) tailor_hw_config_defaults((cfg), (int64_t)sizeof *(cfg))

/** FPGA resources and off-chip traffic: BRAM18 halves, URAM288 blocks, LUT6, FFs, DSPs, bytes per
 *  inference. A plain record (rule 2). */
typedef struct tailor_hw_cost {
    int64_t bram18, uram, lut, ff, dsp, bytes;
} tailor_hw_cost;

typedef enum tailor_memory_kind {
    TAILOR_MEM_NONE = 0, TAILOR_MEM_SRL = 1, TAILOR_MEM_LUTRAM = 2, TAILOR_MEM_BRAM = 3,
    TAILOR_MEM_URAM = 4, TAILOR_MEM_DRAM = 5
} tailor_memory_kind;

/** One skip's hardware (same order as tailor_net_skip_info; an output struct: set size). The
 *  figures of the buffer that holds the most bits are summarised; `cost` sums every part (FIFOs,
 *  clone, adder, projection). Strings belong to the network handle. */
typedef struct tailor_skip_cost {
    int64_t size;             /**< sizeof(tailor_skip_cost), set by the caller */
    int64_t block;            /**< block index */
    const char *block_name;   /**< "layer2.0" */
    int64_t index;            /**< position within the block */
    int32_t mode;             /**< tailor_skip_mode */
    int32_t memory;           /**< tailor_memory_kind of the dominant buffer */
    const char *buffer;       /**< its name ("clone -> adder skip FIFO"; PE array: "off-chip round trip" or
                                   "on-chip buffer"); NULL only when removed */
    int64_t channels, height, width; /**< the stream it holds (0 when removed) */
    int64_t word_bits;        /**< bits per stream word */
    int64_t lag_words;        /**< most words waiting in that same buffer at once (dataflow simulation);
                                   -1 when removed, on the PE array, or when no simulation ran */
    int64_t depth_words;      /**< depth under the configured policy */
    int64_t macs;             /**< multiply-accumulates per inference of its projection */
    tailor_hw_cost cost;
} tailor_skip_cost;

/** The whole design (an output struct: set size). */
typedef struct tailor_hw_totals {
    int64_t size;             /**< sizeof(tailor_hw_totals), set by the caller */
    tailor_hw_cost skips;     /**< every skip's parts */
    tailor_hw_cost rest;      /**< the rest of the design: weights, line buffers, multipliers, streams */
    tailor_hw_cost total;
    int64_t macs;             /**< per inference */
    double latency_us;        /**< PE array estimate per inference; -1 for dataflow targets */
} tailor_hw_totals;

/**
 * Estimates the network on cfg's target and keeps one row per skip on the handle: *count receives
 * how many (read them with tailor_net_skip_cost), *totals the whole design (may be NULL).
 * A bad configuration gives TAILOR_ERR_INVALID_ARGUMENT naming the field. Borrowed for the call.
 */
tailor_status tailor_net_estimate(tailor_net *net, const tailor_hw_config *cfg, int64_t *count,
                                  tailor_hw_totals *totals);
/** Row `index` of the last tailor_net_estimate on this handle; TAILOR_ERR_NOT_FOUND before any
 *  estimate or for an index out of range. */
tailor_status tailor_net_skip_cost(tailor_net *net, int64_t index, tailor_skip_cost *out);

/**
 * The full report as JSON: {"config", "skips": [{..., "components": [{..., "cost", "explain"}]}],
 * "layers": [...], "totals"}; every figure's formula is in its component's "explain".
 * *json belongs to the handle (rule 5).
 */
tailor_status tailor_net_estimate_json(tailor_net *net, const tailor_hw_config *cfg, const char **json);

/**
 * Before/after Tailor: `before` and `after` must have the same residual blocks (an altered copy).
 * JSON {"blocks": [{"block", "mode_before", "mode_after", "change": {field: {before, after, delta,
 * percent}}}], "totals": {"skips": ..., "total": ..., "latency_us": ...}, "before": report, "after": report}.
 * *json belongs to `after` (rule 5). Both handles are locked for the call.
 */
tailor_status tailor_net_compare_json(tailor_net *before, tailor_net *after, const tailor_hw_config *cfg,
                                      const char **json);

/** One FIFO of the dataflow design (hls4ml io_stream or FINN) behind an estimate: every stream the
 *  design declares, with the depth the configured policy gives it (an output struct: set size).
 *  Strings belong to the network handle. */
typedef struct tailor_fifo {
    int64_t size;             /**< sizeof(tailor_fifo), set by the caller */
    const char *stream;       /**< the stream variable: "<writer>_out", or "<value>_cpy<k>" for a clone's copy */
    const char *producer;     /**< the process that writes it: a node name, "zp2d_<conv>" (zero padding) or "clone_<value>" */
    const char *consumer;     /**< the process that reads it */
    const char *role;         /**< what it is in the report ("clone -> adder skip FIFO", "output stream", ...) */
    int64_t block;            /**< block index of the skip it belongs to; -1 when it is not a skip's */
    int64_t channels, height, width; /**< the tensor it carries: a word is one pixel of `channels` values */
    int64_t bits;             /**< bits per value */
    int64_t default_depth;    /**< what hls4ml writes before optimisation */
    int64_t max_occupancy;    /**< most words waiting at once in the dataflow simulation; -1 when none ran
                                   (default depths of a design over TAILOR_MAX_SIMULATED_WORDS) */
    int64_t hls4ml_max;       /**< the maximum hls4ml's FifoDepthOptimization would report (max_occupancy - 1,
                                   at least 1); -1 when no simulation ran */
    int64_t depth;            /**< its depth under the configured policy (FINN: after FINN's rounding) */
    int32_t memory;           /**< tailor_memory_kind */
    int32_t is_port;          /**< 1 for a top-level port (no FIFO of its own; depth is not used) */
    tailor_hw_cost cost;      /**< its memory and control logic */
} tailor_fifo;

/**
 * Builds and simulates the network's dataflow design on cfg's target (hls4ml or finn) and keeps
 * its FIFOs on the handle; *count receives how many there are. Read them with tailor_net_fifo.
 * TAILOR_ERR_INVALID_ARGUMENT for pe_array (no FIFOs) or a bad configuration (naming the field).
 */
tailor_status tailor_net_fifos(tailor_net *net, const tailor_hw_config *cfg, int64_t *count);

/** FIFO `index` of the last tailor_net_fifos on this handle; TAILOR_ERR_NOT_FOUND before any
 *  tailor_net_fifos or for an index out of range. */
tailor_status tailor_net_fifo(tailor_net *net, int64_t index, tailor_fifo *out);

/**
 * Simulates a dataflow design given as a JSON layer list in hls4ml's terms (see docs/hardware.md):
 * {"interface", "reuse_factor", "strategy", "bits", "layers": [{"name", "class", "inputs", ...}]},
 * for designs made by other tools (an hls4ml model, a published configuration).
 * *json receives the result {"streams": [{"name", "producer", "consumer", "consumer_port", "shape",
 * "default_depth", "max_occupancy", "hls4ml_max", "optimized_depth", ...}], "processes",
 * "latency_cycles"}, owned by the calling thread (rule 5). At most TAILOR_MAX_DESIGN_JSON_BYTES in;
 * an unsupported layer class is TAILOR_ERR_UNSUPPORTED naming it. Thread-safe.
 */
tailor_status tailor_dataflow_simulate_json(const char *design_json, const char **json);

/**
 * The FPGA parts the library knows, as JSON {"parts": [{"name", "description", "boards", "bram18",
 * "uram", "lut", "ff", "dsp", "source"}]}: whole-device totals from each vendor data sheet
 * ("source" names the document and table; data sheets count 36 Kb block RAMs, bram18 is twice
 * that). *out is static storage (rule 5). Thread-safe.
 */
tailor_status tailor_fpga_parts_json(const char **out);

/**
 * Estimates the network on cfg's target and checks its totals against a budget.
 * @param budget_json {"part": "xc7z020"} (a part of tailor_fpga_parts_json, case-insensitive, with
 *        or without package and speed grade: "xc7z020clg400-1"), limits {"bram18": 200, "lut": 40000},
 *        or both (the part's limits, then the fields given; null lifts one). Fields: bram18, uram,
 *        lut, ff, dsp (hls4ml, finn); bytes (off-chip bytes per inference), onchip_kib (the on-chip
 *        buffer cfg gives the PE array) (pe_array). Limits are integers in 0..2^53. At most
 *        TAILOR_MAX_JSON_BYTES. Borrowed for the call.
 * @param out receives {"target", "part" (the part's entry or null), "totals" (the estimate's
 *        bram18, uram, lut, ff, dsp, bytes), "fields": {field: {"used", "limit", "percent" (null for
 *        a zero limit with something used), "over" (used - limit, at least 0), "fits"}}, "fits"}.
 *        *out belongs to the handle (rule 5).
 * @return TAILOR_OK; TAILOR_ERR_NOT_FOUND for an unknown part (the message lists the known ones);
 *         TAILOR_ERR_INVALID_ARGUMENT for malformed JSON, an unknown field, a negative or non-integer
 *         limit, or a field the target does not have (lut on pe_array, bytes on hls4ml), naming it.
 */
tailor_status tailor_net_budget_check_json(tailor_net *net, const tailor_hw_config *cfg, const char *budget_json,
                                           const char **out);

/* ==== Fixed point ======================================================================== */

/**
 * Converts n doubles to the fixed-point type `type` as hls4ml's ap_fixed does, writing the
 * results (exact values on the type's grid; exact for widths up to 53) into out[0..n).
 * @param type hls4ml's spelling: "ap_fixed<W,I>", "ap_fixed<W,I,Q,O>", "ap_ufixed<W,I,...>",
 *        "ap_int<W>", "ap_uint<W>" (also without "ap_"); W in 1..64; Q one of AP_TRN (default),
 *        AP_TRN_ZERO, AP_RND, AP_RND_ZERO, AP_RND_MIN_INF, AP_RND_INF, AP_RND_CONV; O one of
 *        AP_WRAP (default), AP_SAT, AP_SAT_ZERO, AP_SAT_SYM. A string that does not parse is
 *        TAILOR_ERR_INVALID_ARGUMENT naming what is wrong.
 * @param values n finite doubles (NaN/Inf: TAILOR_ERR_NUMERIC naming the index); borrowed.
 * @param out n doubles; may be `values` itself.
 * @param overflows receives how many values the overflow mode changed (may be NULL): wrapping or
 *        saturating is what the hardware does, not an error.
 * Thread-safe.
 */
tailor_status tailor_fixed_quantize(const char *type, const double *values, int64_t n, double *out, int64_t *overflows);

/**
 * Sets the fixed-point types the network's tensors carry, in hls4ml's config layout:
 * {"Model": {"Precision": "ap_fixed<16,6>"}, "LayerName": {"conv1": {"Precision": {"weight":
 * "ap_fixed<8,3>", "bias": ..., "result": ..., "accum": ...}}}} (a layer's Precision may also be
 * one string for all its roles; a batch norm's multiplier is "scale"). As in hls4ml, a role a layer
 * does not name takes the model default, and "auto" takes the type hls4ml infers (conv/dense
 * accum and result wide enough to be exact, and so on: docs/fixed-point.md). ReuseFactor,
 * Strategy and other hardware keys are ignored. A JSON string "ap_fixed<16,6>" sets the default alone.
 * NULL makes it a float network again. Model files keep it. An unknown node, a role the node does
 * not have (a ReLU has no weight) or a type that does not parse is TAILOR_ERR_INVALID_ARGUMENT
 * naming its place; on error nothing changes. At most TAILOR_MAX_JSON_BYTES.
 */
tailor_status tailor_net_set_precision_json(tailor_net *net, const char *json);
/** The network's types in the layout above (the layers and roles it names; a layer's one string
 *  given for all its roles comes back as each role), or "null" for a
 *  float network. *json belongs to the handle (rule 5). */
tailor_status tailor_net_precision_json(tailor_net *net, const char **json);

/**
 * The fixed-point design the network's types give (what tailor_net_predict_fixed computes), for
 * tools that write it out: {"model": type, "layers": [{"node", "kind" (input, conv2d, dense,
 * batchnorm, relu, add, maxpool, average, alias), "inputs", "result", and as the layer has them
 * "accum", "weight", "bias", "scale", "accum_holds_exact_sum", "folded_into" (a batch norm hls4ml
 * folds into that conv)}]}; a type is {"type": spelling, "width", "integer", "signed",
 * "rounding", "overflow", "source": "layer" | "auto" | "model"}. *json belongs to the handle
 * (rule 5). A float network is TAILOR_ERR_INVALID_ARGUMENT.
 */
tailor_status tailor_net_fixed_design_json(tailor_net *net, const char **json);
/**
 * The values of `role` ("weight", "bias"; "scale" of an unfolded batch norm) of layer `node` as
 * the fixed-point design holds them: batch norm folded where hls4ml folds it, through hls4ml's
 * decimal text, on the type's grid (PyTorch layout). count must equal the parameter's size.
 */
tailor_status tailor_net_fixed_parameter(tailor_net *net, const char *node, const char *role, double *out,
                                         int64_t count);

/* ==== The Tailor schedule (docs/ARCHITECTURE.md §5) ================================================= */

/**
 * Which block is altered after which epoch: blocks change one at a time from input to output,
 * the k-th after (k+1)*every epochs. For other training engines (PyTorch DDP) to follow the plan.
 * @param algorithm "remove" (SkipRemover) or "shorten" (SkipShortener).
 * @param blocks block indexes in the order they change (borrowed), or NULL with num_blocks 0 for
 *        every block, input to output. Each must be long now.
 * @param every epochs between changes, >= 1; @param epochs total, or 0 for (blocks+1)*every.
 * @param modes receives epochs x block_count tailor_skip_mode values, row e = every block's mode
 *        while epoch e (0-based) trains; may be NULL when capacity is 0 (then only *epochs_out is set).
 * Impossible plans (no blocks, index out of range, too few epochs) give TAILOR_ERR_INVALID_ARGUMENT.
 */
tailor_status tailor_plan_modes(tailor_net *net, const char *algorithm, const int64_t *blocks,
                                int64_t num_blocks, int64_t every, int64_t epochs, int32_t *modes,
                                int64_t capacity, int64_t *epochs_out);

/* ==== Training ===========================================================================
 *
 * Train-mode forward/backward over the whole network (BatchNorm on batch statistics, running
 * statistics updated like PyTorch), SGD or Adam with torch.optim semantics, learning-rate
 * schedules, CE and knowledge-distillation losses. Trained weights and BN statistics are written
 * back into the network's parameters. Optimiser state (momentum buffers, Adam moments) lives in
 * the handle; it survives block-mode switches for parameters that persist (matched by name).
 * Start a tailor_train_config from tailor_train_config_init(&cfg), then change what you need.
 */

typedef enum tailor_optimizer {
    TAILOR_OPT_SGD = 0,  /**< torch.optim.SGD: momentum, dampening, Nesterov, L2 weight decay */
    TAILOR_OPT_ADAM = 1  /**< torch.optim.Adam: bias-corrected, L2 weight decay added to the gradient */
} tailor_optimizer;

typedef enum tailor_schedule {
    TAILOR_SCHED_CONSTANT = 0,
    TAILOR_SCHED_STEP = 1,     /**< lr * step_gamma^(epoch / step_size), per epoch (StepLR) */
    TAILOR_SCHED_COSINE = 2,   /**< CosineAnnealingLR with T_max = all steps of the run, stepped per batch */
    TAILOR_SCHED_ONECYCLE = 3  /**< OneCycleLR (max_lr = lr), stepped per batch; optional momentum cycling */
} tailor_schedule;

typedef enum tailor_loss {
    TAILOR_LOSS_CE = 0,         /**< softmax cross-entropy, mean over the batch */
    TAILOR_LOSS_KD_MSE = 1,     /**< kd_alpha*MSE(teacher, student) + (1-kd_alpha)*CE (Tailor's KD) */
    TAILOR_LOSS_KD_HINTON = 2   /**< kd_alpha*T^2*KL(softmax(t/T) || softmax(s/T)) + (1-kd_alpha)*CE, batchmean */
} tailor_loss;

/** A block-mode switch applied by tailor_net_fit before epoch `epoch` (0-based) starts: how
 *  Tailor alters one block at a time during a single run, keeping the LR schedule and the
 *  optimiser state of every parameter that persists (matched by name). A plain record (rule 2). */
typedef struct tailor_mode_switch {
    int64_t epoch;  /**< 0 <= epoch < epochs */
    int64_t block;  /**< block index (tailor_net_block_count) */
    int32_t mode;   /**< tailor_skip_mode */
} tailor_mode_switch;

/** Training configuration. Defaults (tailor_train_config_init) in brackets. */
typedef struct tailor_train_config {
    int64_t size;               /**< sizeof(tailor_train_config) */
    int32_t optimizer;          /**< tailor_optimizer [SGD] */
    int32_t nesterov;           /**< SGD Nesterov momentum [1] */
    double lr;                  /**< base (or one-cycle maximum) learning rate [0.1] */
    double momentum;            /**< SGD momentum [0.9] */
    double dampening;           /**< SGD dampening [0]; must be 0 with Nesterov */
    double weight_decay;        /**< L2 added to the gradient [5e-4] */
    int32_t decay_norm_and_bias;/**< apply weight decay to BN weights/biases and biases too, like torch [1] */
    int32_t loss;               /**< tailor_loss [CE] */
    double beta1, beta2, eps;   /**< Adam [0.9, 0.999, 1e-8] */
    double kd_alpha;            /**< KD weight of the teacher term [0.35] */
    double kd_temperature;      /**< Hinton temperature T [4] */
    int32_t schedule;           /**< tailor_schedule [CONSTANT] */
    int32_t cycle_momentum;     /**< one-cycle: cycle momentum (SGD) / beta1 (Adam) between the two below [1] */
    double base_momentum, max_momentum; /**< one-cycle momentum range [0.85, 0.95] */
    int64_t step_size;          /**< step schedule: epochs between decays [30] */
    double step_gamma;          /**< step schedule: decay factor [0.1] */
    double eta_min;             /**< cosine: final learning rate [0] */
    double pct_start;           /**< one-cycle: fraction of steps rising [0.3] */
    double div_factor;          /**< one-cycle: initial lr = lr / div_factor [25] */
    double final_div_factor;    /**< one-cycle: final lr = initial lr / final_div_factor [1e4] */
    int64_t warmup_steps;       /**< linear warm-up multiplying any schedule over the first steps [0] */
    int64_t epochs;             /**< fit: epochs [1] */
    int64_t batch_size;         /**< fit: samples per step [128]; 1 <= batch_size <= min(samples, TAILOR_MAX_BATCH) */
    int32_t augment;            /**< fit: random crop (zero padding `crop_padding`) + horizontal flip [1] */
    int32_t shuffle;            /**< fit: reshuffle every epoch [1] */
    int64_t crop_padding;       /**< fit: crop padding in pixels [4]; 0 = flip only */
    int32_t drop_last;          /**< fit: skip the last partial batch [0] */
    int32_t keep_optimizer_state; /**< fit: continue from the handle's optimiser state instead of a fresh one [0] */
    uint64_t seed;              /**< fit: seeds shuffling and augmentation [0] */
    const tailor_mode_switch *mode_switches; /**< fit: block-mode switches, borrowed for the call [NULL] */
    int64_t num_mode_switches;  /**< fit: entries in mode_switches [0] */
    const char *checkpoint_path;/**< fit: after every epoch, write the run's state here for
                                     tailor_net_fit_resume (atomically: a temporary file beside it,
                                     fsync, rename); borrowed for the call [NULL = none] */
    const char *checkpoint_note;/**< fit: the caller's text (at most TAILOR_MAX_JSON_BYTES) kept
                                     verbatim in the checkpoint, returned by tailor_checkpoint_json
                                     as "note"; needs checkpoint_path [NULL] */
    int32_t quantized;          /**< fit: quantisation-aware training at the network's fixed-point types
                                     (tailor_net_set_precision_json): fake-quantised weights and
                                     activations, straight-through gradients; validation and a KD
                                     teacher with types run quantised too [0] */
} tailor_train_config;

/** Fills the first `size` bytes of *cfg with the defaults above (zeroing fields this library
 *  does not know) and sets cfg->size; use the macro. Thread-safe. */
tailor_status tailor_train_config_defaults(tailor_train_config *cfg, int64_t size);
#define tailor_train_config_init(cfg) tailor_train_config_defaults((cfg), (int64_t)sizeof *(cfg))

/** A labelled data set, borrowed for the call (an input struct: `tailor_data d = {.size = sizeof d};`,
 *  then set the fields; the library reads `size` bytes, fields past them default to NULL). */
typedef struct tailor_data {
    int64_t size;               /**< sizeof(tailor_data) */
    const float *x;             /**< n x channels x height x width float32 (NCHW), finite; n <= TAILOR_MAX_SAMPLES */
    int64_t n, channels, height, width;
    const int64_t *labels;      /**< n class indices in 0..num_outputs-1 */
    const float *mean;          /**< per-channel normalisation (x - mean) / std applied by the library; NULL = none */
    const float *std;           /**< channels values, positive; NULL iff mean is NULL */
} tailor_data;

/** Reads one CIFAR-10 binary batch file (`cifar-10-batches-bin/data_batch_1.bin` … `test_batch.bin`:
 *  records of one label byte and 3,072 pixel bytes, channel-major) into caller buffers: x gets
 *  *n x 3 x 32 x 32 floats scaled to [0, 1] (NCHW, what tailor_data takes), labels *n class indices.
 *  With x and labels both NULL, only sets *n to the file's record count (from its size).
 *  @param capacity records the buffers hold; a larger file is TAILOR_ERR_SHAPE.
 *  @return TAILOR_OK; TAILOR_ERR_IO for a missing file; TAILOR_ERR_FORMAT for a size that is not
 *  whole records or a label above 9. Thread-safe. */
tailor_status tailor_cifar10_read(const char *path, float *x, int64_t *labels, int64_t capacity, int64_t *n);

/** Passed to the fit callback after every step and at every epoch end. */
typedef struct tailor_progress {
    int64_t size;               /**< sizeof(tailor_progress) as built into the library */
    int64_t epoch, epochs;      /**< 0-based epoch, total epochs */
    int64_t step, steps_per_epoch; /**< 0-based step within the epoch */
    int64_t global_step, total_steps;
    double loss, accuracy;      /**< running mean over the epoch so far (whole epoch at its end) */
    double lr;                  /**< learning rate of the last step */
    int32_t epoch_end;          /**< 1 at the end-of-epoch call */
    double val_loss, val_accuracy; /**< at an epoch end with validation data; NaN otherwise */
} tailor_progress;

/** Progress callback: return 0 to continue, non-zero to cancel (TAILOR_ERR_CANCELLED). It must not
 *  call tailor functions on the network being trained (they would return TAILOR_ERR_BUSY). */
typedef int (*tailor_progress_fn)(const tailor_progress *progress, void *user);

/** One epoch of a training history (an output struct: set size). */
typedef struct tailor_epoch_stats {
    int64_t size;                  /**< sizeof(tailor_epoch_stats), set by the caller */
    int64_t epoch;
    double loss, train_accuracy;
    double val_loss, val_accuracy; /**< NaN without validation data */
    double lr;                     /**< learning rate of the epoch's last step */
} tailor_epoch_stats;

/**
 * One training step on a batch: train-mode forward, loss, backward, and (if `update`) one
 * optimiser step with cfg->lr (schedules do not apply). Weights, BN running statistics and
 * num_batches_tracked are written back into the network; optimiser state persists in the handle
 * across calls (tailor_net_train_reset clears it). The gradients stay readable with tailor_net_grad.
 * On a non-finite loss or gradient nothing changes and TAILOR_ERR_NUMERIC is returned.
 * @param x n x channels x height x width float32 (NCHW), finite; borrowed.
 * @param labels n class indices; borrowed.
 * @param teacher_logits n x num_outputs float32 for the KD losses, else NULL; borrowed.
 * @param cfg configuration (optimizer, lr, loss…); NULL = defaults.
 * @param logits_out receives the train-mode logits (n x num_outputs), or NULL.
 * @param logits_count element count of logits_out (ignored when it is NULL).
 * @param loss_out receives the loss, or NULL.
 * Same threading rule as every handle function.
 */
tailor_status tailor_net_train_step(tailor_net *net, const float *x, int64_t n, int64_t channels,
                                    int64_t height, int64_t width, const int64_t *labels,
                                    const float *teacher_logits, const tailor_train_config *cfg, int update,
                                    float *logits_out, int64_t logits_count, double *loss_out);

/** Gradient of trainable parameter `name` (PyTorch layout) from the handle's last training step.
 *  count must equal its element count. TAILOR_ERR_INVALID_ARGUMENT before any step. */
tailor_status tailor_net_grad(tailor_net *net, const char *name, float *out, int64_t count);

/** Drops the handle's optimiser state (momentum buffers, Adam moments and step counts). */
tailor_status tailor_net_train_reset(tailor_net *net);

/**
 * Trains the network on `train` for cfg->epochs epochs. The handle keeps the history of the
 * epochs this call completed (also on cancel or error): tailor_net_history_count / tailor_net_history.
 * @param val validation data evaluated (inference mode) after every epoch, or NULL.
 * @param teacher frozen teacher run in inference mode for the KD losses (a different handle), or NULL.
 * @param cb progress callback (may be NULL), called on this thread; non-zero cancels. @param user passed to cb.
 * With cfg->checkpoint_path, the run's state is written there at every epoch end (see Checkpoints
 * below); a path that cannot be written stops the run with TAILOR_ERR_IO.
 * @return TAILOR_OK; TAILOR_ERR_CANCELLED when cb cancelled; TAILOR_ERR_NUMERIC on NaN/Inf loss (the
 *         message names the step). In every case the network holds the weights of the last completed step.
 * Locks `net` and `teacher` for the call.
 */
tailor_status tailor_net_fit(tailor_net *net, const tailor_data *train, const tailor_data *val,
                             const tailor_train_config *cfg, tailor_net *teacher, tailor_progress_fn cb,
                             void *user);

/** Epochs in the handle's training history: the last tailor_net_fit on it, or the whole run of a
 *  student from tailor_run / tailor_net_fit_resume; 0 for a handle that never trained. */
tailor_status tailor_net_history_count(tailor_net *net, int64_t *count);
/** Epoch `index` of that history. TAILOR_ERR_NOT_FOUND for an index out of range. */
tailor_status tailor_net_history(tailor_net *net, int64_t index, tailor_epoch_stats *out);

/** Mean cross-entropy and accuracy on `data` in inference mode. loss/accuracy may be NULL. */
tailor_status tailor_net_evaluate(tailor_net *net, const tailor_data *data, double *loss, double *accuracy);

/* ==== Tailor: SkipRemover and SkipShortener (docs/ARCHITECTURE.md §5) ================================= */

/** What a Tailor run alters and how it reports. Fill with tailor_run_config_init, then change fields. */
typedef struct tailor_run_config {
    int64_t size;                  /**< bytes of the struct the caller has; set by tailor_run_config_init */
    const char *algorithm;         /**< "remove" (SkipRemover, default) or "shorten" (SkipShortener) */
    int64_t every;                 /**< epochs between block changes; the first change after `every` (3) */
    int64_t epochs;                /**< 0: blocks * every + every (the last block trains `every` epochs) */
    const int64_t *blocks;         /**< block indexes in the order they are altered, borrowed; NULL: all, input to output */
    int64_t num_blocks;            /**< entries in blocks */
    const tailor_hw_config *hardware; /**< what the per-epoch hardware is estimated on, borrowed; NULL: defaults */
} tailor_run_config;

/** Fills the first `size` bytes of *cfg with the defaults above and sets cfg->size; use the macro. */
tailor_status tailor_run_config_defaults(tailor_run_config *cfg, int64_t size);
#define tailor_run_config_init(cfg) tailor_run_config_defaults((cfg), (int64_t)sizeof *(cfg))

/** Fills the first `size` bytes of *cfg with the training a Tailor run uses when tailor_run is
 *  given cfg NULL (the authors' fine-tuning: tailor_train_config_init's defaults with loss
 *  TAILOR_LOSS_KD_MSE, lr 0.01, cosine) and sets cfg->size; start there to change one field. */
tailor_status tailor_run_train_config_defaults(tailor_train_config *cfg, int64_t size);
#define tailor_run_train_config_init(cfg) tailor_run_train_config_defaults((cfg), (int64_t)sizeof *(cfg))

/**
 * Runs SkipRemover or SkipShortener on the trained network `teacher` (left unchanged): a copy is
 * frozen as the teacher and another becomes the student, trained with knowledge distillation while
 * run->blocks are altered one every run->every epochs, all inside one fit (optimiser state and
 * learning-rate schedule carry across the changes).
 * @param train, val the data (val may be NULL; with it, every epoch is evaluated).
 * @param run what to alter; @param cfg the training (NULL: tailor_run_train_config_init's). cfg->loss must be a KD loss; cfg->epochs is
 *        replaced by the plan's; cfg->mode_switches must be empty (the plan makes them). With
 *        cfg->checkpoint_path the run is checkpointed every epoch with a note naming the plan, and
 *        tailor_net_fit_resume finishes it.
 * @param student_out receives the student (caller frees with tailor_net_free); NULL unless TAILOR_OK.
 *        It holds the run's history (tailor_net_history) and, with tailor_net_run_history_json,
 *        the per-epoch block modes and hardware.
 * Locks `teacher` for the call.
 */
tailor_status tailor_run(tailor_net *teacher, const tailor_data *train, const tailor_data *val,
                         const tailor_run_config *run, const tailor_train_config *cfg, tailor_progress_fn cb,
                         void *user, tailor_net **student_out);

/**
 * The history of the Tailor run that made `student` (by tailor_run, or tailor_net_fit_resume of a
 * Tailor run's checkpoint: then the whole run's epochs) as JSON: one object per epoch
 * with "epoch", "loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "modes" {block: mode},
 * "altered" [blocks], "hardware" {"skips": cost, "total": cost}. *json belongs to the handle
 * (rule 5). TAILOR_ERR_NOT_FOUND when the handle was not made by a Tailor run.
 */
tailor_status tailor_net_run_history_json(tailor_net *student, const char **json);

/* ==== Checkpoints ========================================================================
 *
 * A fit with cfg->checkpoint_path writes one file at the end of every epoch: the student (graph,
 * block modes, weights, BN statistics), the teacher, the optimiser state per parameter, and the
 * run's state (configuration, block switches, next epoch, history, the note, a fingerprint of the
 * training and validation data and of the network the run started from). The write is atomic:
 * a process killed at any moment leaves the previous complete checkpoint (and possibly a stray
 * "<path>.tmp<pid>-<thread>" file, which the next write to that path or tailor_net_fit_resume
 * deletes once its process is gone), never a damaged one.
 *
 * tailor_net_fit_resume continues such a run from its next epoch and reaches the same weights,
 * BN statistics, optimiser state and history as the uninterrupted run, bit for bit, when it runs
 * on the same library build with the same thread count (TAILOR_NUM_THREADS). Shuffling and
 * augmentation depend only on the seed and the epoch, schedules only on the global step.
 */

/**
 * Loads and checks the whole checkpoint at `path`, then describes it as JSON: "library_version",
 * "checkpoint_version", "epochs", "next_epoch" (epochs before it are done), "config", "history"
 * (one object per completed epoch), "note", "train"/"val" fingerprints, "has_teacher",
 * "student_blocks" (name and mode of each block now) and more. *json is owned by the calling
 * thread (rule 5).
 * @return TAILOR_OK; TAILOR_ERR_IO (missing file), TAILOR_ERR_FORMAT (truncated, damaged, not a
 *         checkpoint), TAILOR_ERR_VERSION (another checkpoint format). Thread-safe.
 */
tailor_status tailor_checkpoint_json(const char *path, const char **json);

/**
 * Resumes the run checkpointed at `checkpoint` from its next epoch to its last, writing the
 * checkpoint there after every epoch as before. A finished run's checkpoint returns its student
 * without training.
 * @param train, val the data the run started with, raw (the checkpoint holds the normalisation;
 *        mean/std in them may be NULL, or must equal the run's). Other data (count, shape or hash
 *        differ) gives TAILOR_ERR_INVALID_ARGUMENT naming both; so does val NULL when the run had one.
 * @param expected the network the run started from (the teacher of a Tailor run), or NULL; another
 *        structure or other weights give TAILOR_ERR_INVALID_ARGUMENT. Locked for the call.
 * @param cb, user progress callback as for tailor_net_fit (may be NULL); non-zero cancels.
 * @param student_out receives a new handle with the trained student (and its optimiser state, for
 *        fits with keep_optimizer_state); the caller frees it with tailor_net_free. NULL unless TAILOR_OK.
 *        Its history (tailor_net_history) is the whole run's, the epochs before the checkpoint first.
 * @param teacher_out receives a new handle with the run's teacher (caller frees), NULL when the run
 *        has none; may be NULL if not wanted. NULL unless TAILOR_OK.
 * @return TAILOR_OK; TAILOR_ERR_IO / TAILOR_ERR_FORMAT for a missing, truncated or damaged file;
 *         TAILOR_ERR_VERSION for a checkpoint written by another library version; TAILOR_ERR_CANCELLED
 *         when cb cancelled (the checkpoint on disk holds the last completed epoch).
 * Thread-safe for different checkpoint paths; two runs must not write the same checkpoint at once.
 */
tailor_status tailor_net_fit_resume(const char *checkpoint, const tailor_data *train, const tailor_data *val,
                                    tailor_net *expected, tailor_progress_fn cb, void *user,
                                    tailor_net **student_out, tailor_net **teacher_out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TAILOR_H */
