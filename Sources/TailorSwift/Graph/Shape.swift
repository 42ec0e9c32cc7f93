/// The shape of one sample's activation, channels-height-width (the batch dimension is implicit).
/// Dense layers and flattened tensors are (features, 1, 1), as PyTorch's flatten of NCHW gives.
public struct Shape: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var c: Int, h: Int, w: Int
    public init(_ c: Int, _ h: Int, _ w: Int) { self.c = c; self.h = h; self.w = w }
    public var count: Int { c * h * w }
    public var description: String { "\(c)×\(h)×\(w)" }
}
