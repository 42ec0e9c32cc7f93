// swift-tools-version:6.0
// Tailor: one dynamic library, libtailor.so, with the Swift stdlib linked in statically so it
// loads on machines with no Swift toolchain. Only `tailor_*` symbols are exported (version script).
import PackageDescription

let package = Package(
    name: "tailor",
    products: [
        .library(name: "tailor", type: .dynamic, targets: ["TailorSwift"]),
    ],
    targets: [
        // OpenBLAS (Debian libopenblas-dev): cblas.h for GEMM.
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas"),
        // The public C header, so the @_cdecl entry points are typed by the same declarations C sees.
        .target(name: "CTailor", path: "Sources/CTailor"),
        .target(
            name: "TailorSwift",
            dependencies: ["CTailor", "COpenBLAS"],
            path: "Sources/TailorSwift",
            exclude: ["exports.map"],
            linkerSettings: [
                .linkedLibrary("openblas"),
                // Release only: the test runner links the same objects in debug, and the toolchain
                // has no static build of XCTest/Testing to link against.
                .unsafeFlags([
                    "-static-stdlib",
                    "-Xlinker", "--version-script=Sources/TailorSwift/exports.map",
                    "-Xlinker", "--gc-sections",
                    "-Xlinker", "-soname=libtailor.so",
                ], .when(configuration: .release)),
            ]
        ),
        .testTarget(name: "TailorTests", dependencies: ["TailorSwift"], path: "Tests/TailorTests"),
    ]
)
