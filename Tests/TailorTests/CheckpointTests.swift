import Testing
@testable import TailorSwift

@Suite struct CheckpointTests {
    @Test func roundTripKeepsStudentTeacherOptimizerAndRun() throws {
        let teacher = try Zoo.build("resnet8", { var o = Zoo.Options(); o.seed = 3; return o }())
        let student = teacher.copy()
        try student.setMode(block: 0, .removed)
        try student.setMode(block: 1, .short)
        let momentum = student.parameterNames.compactMap { n in student.params[n].map { ("momentum.\(n)", Tensor(filled: 0.5, shape: $0.shape)) } }
        let run = JSON.object([("epoch", .number(4)), ("history", .array([.number(1.5)]))])
        let back = try Checkpoint.decode(try Checkpoint(student: student, teacher: teacher, optimizerState: momentum, run: run).encode())
        #expect(back.student.nodes == student.nodes)
        let sameStudent = back.student.params == student.params
        #expect(sameStudent, "student weights differ")
        #expect(back.student.blocks.map(\.mode) == [.removed, .short, .long])
        #expect(back.teacher?.nodes == teacher.nodes)
        let sameTeacher = back.teacher?.params == teacher.params
        #expect(sameTeacher, "teacher weights differ")
        #expect(back.optimizerState.map(\.name) == momentum.map(\.0))
        let sameOptimizer = back.optimizerState.map(\.tensor) == momentum.map(\.1)
        #expect(sameOptimizer, "optimizer tensors differ")
        #expect(back.run == run)
    }

    @Test func modelFileIsNotACheckpointAndViceVersa() throws {
        let net = try Zoo.build("resnet8")
        #expect(throws: TailorError.self) { try Checkpoint.decode(try ModelFile.encode(net)) }
        let ckpt = try Checkpoint(student: net, teacher: net.copy(), optimizerState: [], run: .object([])).encode()
        // A checkpoint carries teacher tensors a plain model loader does not expect.
        #expect(throws: TailorError.self) { try ModelFile.decode(ckpt) }
    }

    @Test func savingIsAtomic() throws {
        let net = try Zoo.build("resnet8")
        let path = "/tmp/tailor-ckpt-test-\(UInt32.random(in: 0...UInt32.max)).tailor"
        try Checkpoint(student: net, teacher: net.copy(), optimizerState: [], run: .object([("epoch", .number(1))])).save(to: path)
        try Checkpoint(student: net, teacher: net.copy(), optimizerState: [], run: .object([("epoch", .number(2))])).save(to: path)
        #expect(try Checkpoint.load(path: path).run["epoch"]?.int == 2)
        #expect(throws: TailorError.self) { try Checkpoint.load(path: path + ".missing") }
    }
}
