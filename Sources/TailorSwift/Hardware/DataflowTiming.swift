// How many cycles each hls4ml io_stream process spends per word, read off hls4ml 1.3.0's
// `nnet_utils` templates (Vivado backend; the Vitis templates have the same loop structure):
//
// - `conv_2d_buffer_cl` (nnet_conv2d_stream.h) loops over the padded input pixels in raster order
//   and calls `compute_output_buffer_2d` (nnet_conv_stream.h) once per pixel. That shifts the pixel
//   into the line buffer and, when the pixel completes a window ((x − (K−1)) and (y − (K−1)) are
//   non-negative multiples of the stride), runs the layer's dense product and writes one output.
//   Latency strategy: the loop is `PIPELINE II=reuse_factor`, so every pixel takes RF cycles.
//   Resource strategy: the loop is not pipelined; a pixel costs the loop and call overhead, and a
//   window-completing pixel adds the resource dense (nnet_dense_resource.h: a `ReuseLoop` of RF
//   iterations at II = 1 plus its pipeline depth).
// - `zeropad2d_cl` (nnet_padding_stream.h): one word per cycle; pad words go out back to back.
// - `clone_stream` (nnet_stream.h), `add` (nnet_merge_stream.h), activations
//   (nnet_activation_stream.h), `pooling2d_buffer_cl` (nnet_pooling_stream.h): `PIPELINE` at II = 1.
// - `dense` on a stream (nnet_dense_stream.h): reads n_in/size words at II = 1, computes, writes.
//
// The overheads below are not in the templates' text; they are the smallest cycle counts the
// templates' loop structure allows, and they are named so a reader can vary them. The measured
// design in `Tests/` is insensitive to them (every stream's occupancy there is set by reuse factors
// and bursts of padding, not by a cycle or two per pixel).

enum DataflowTiming {
    /// A word written in cycle t can be read from cycle t + 1.
    static let fifoLatency = 1
    /// Resource strategy, a pixel that completes no window: loop iteration, stream read, line-buffer shift.
    static let resourcePixelCycles = 3
    /// Resource strategy, extra cycles of the dense product beyond its RF iterations (pipeline depth).
    static let resourceDenseDepth = 3
    /// Latency strategy: cycles from a pipelined iteration's start to its output write.
    static let latencyPipelineDepth = 2

    /// Cycles a line-buffer conv (or a dense) spends on a pixel that does / does not complete a window.
    static func convPixel(completesWindow: Bool, reuse: Int, strategy: HardwareConfig.Strategy) -> (cycles: Int, outputAfter: Int) {
        switch strategy {
        case .latency:
            return (reuse, reuse + latencyPipelineDepth - 1)
        case .resource:
            if !completesWindow { return (resourcePixelCycles, 0) }
            let c = resourcePixelCycles + reuse + resourceDenseDepth
            return (c, c - 1)
        }
    }

    /// Cycles of a dense product once its inputs are all read.
    static func denseCompute(reuse: Int, strategy: HardwareConfig.Strategy) -> Int {
        strategy == .latency ? reuse + latencyPipelineDepth : reuse + resourceDenseDepth
    }
}
