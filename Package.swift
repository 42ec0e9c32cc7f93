// swift-tools-version:6.0
// Tailor: one dynamic library, libtailor.so, with the Swift stdlib linked in statically so it
// loads on machines with no Swift toolchain. Only `tailor_*` symbols are exported (version script).
import PackageDescription
import Foundation

/// The instruction set the Swift code is compiled for. The engine's own SIMD kernels (Winograd
/// transforms, BatchNorm, elementwise) run 1.3× (training) to 1.4× (inference) faster with AVX2/FMA
/// than with the x86-64 baseline (bench/train_bench.py), so a build on a machine that has them
/// targets them, like -march=native would; `TAILOR_CPU=x86-64` builds a library for any x86-64.
/// `tailor_cpu_supported()` (plain C) tells a caller whether the CPU can run the build.
let targetCPU: String = {
    if let v = ProcessInfo.processInfo.environment["TAILOR_CPU"], !v.isEmpty { return v }
    #if arch(x86_64)
    if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
       let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
       Set(flags.split(separator: " ")).isSuperset(of: ["avx2", "fma"]) { return "haswell" }
    #endif
    return "x86-64"
}()
let needsAVX2 = targetCPU != "x86-64"

/// The library's SONAME is libtailor.so.N with N = TAILOR_ABI_VERSION in include/tailor.h, so a
/// program linked against one ABI never loads a library of another. Written here, not read from
/// the header: SwiftPM caches a manifest's evaluation by the manifest's own text, so a value read
/// from another file goes stale. `make check-selfcontained` fails when the two disagree.
let abiVersion = "2"

let package = Package(
    name: "tailor",
    products: [
        .library(name: "tailor", type: .dynamic, targets: ["TailorSwift"]),
    ],
    targets: [
        // OpenBLAS (Debian libopenblas-dev): cblas.h for GEMM.
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas"),
        // The public C header, so the @_cdecl entry points are typed by the same declarations C sees.
        .target(name: "CTailor", path: "Sources/CTailor",
                cSettings: needsAVX2 ? [.define("TAILOR_NEEDS_AVX2")] : []),
        .target(
            name: "TailorSwift",
            dependencies: ["CTailor", "COpenBLAS"],
            path: "Sources/TailorSwift",
            exclude: ["exports.map"],
            swiftSettings: [.unsafeFlags(["-target-cpu", targetCPU])],
            linkerSettings: [
                .linkedLibrary("openblas"),
                // Release only: the test runner links the same objects in debug, and the toolchain
                // has no static build of XCTest/Testing to link against.
                .unsafeFlags([
                    "-static-stdlib",
                    "-Xlinker", "--version-script=Sources/TailorSwift/exports.map",
                    "-Xlinker", "--gc-sections",
                    "-Xlinker", "-soname=libtailor.so.\(abiVersion)",
                ], .when(configuration: .release)),
            ]
        ),
        .testTarget(name: "TailorTests", dependencies: ["TailorSwift"], path: "Tests/TailorTests"),
    ]
)
