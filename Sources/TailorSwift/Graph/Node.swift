/// One operation in a network. Inputs are referred to by node name so that rewriting a residual
/// block (removing or shortening its skip) never has to renumber the rest of the graph.
public struct Node: Equatable, Sendable {
    public var name: String
    public var op: Op
    public var inputs: [String]
    /// Output shape of one sample, computed when the node is added.
    public var shape: Shape

    public init(name: String, op: Op, inputs: [String], shape: Shape) {
        self.name = name; self.op = op; self.inputs = inputs; self.shape = shape
    }
}
