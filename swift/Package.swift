// swift-tools-version:5.9
// ScanKit: scanstream's Metal backend, libScanKit.dylib, exporting the whole C ABI of
// native/include/scanstream.h for bun:ffi (src/native/library.ts loads
// swift/.build/release/libScanKit.dylib). Build: swift build -c release --package-path swift
//
// Why this layout: SwiftPM compiles only sources inside the package and refuses header
// search paths that leave it ("../"), but the per-call host logic (native/metal_host),
// the shared argument checks and kernel table (native/common) and the header
// (native/include) must stay where the emulator and the other backends build them from.
// So the C++ target ScanKitHost holds
//   - one generated unit per shared .cpp (metal_host_*.cpp, common_*.cpp), each a single
//     #include of the real file by relative path: every source stays its own translation
//     unit, as in the CMake builds, and `node scripts/gen-abi.mjs --check` (npm test) fails
//     when a .cpp is added or removed without regenerating them;
//   - `native`, a symlink to ../../../native, excluded from the sources: it only puts the
//     header search paths below inside the package (the CMake builds' include directories);
//   - include/: the C interface Swift imports. ScanKitHost.h (the umbrella) and symlinks to
//     metal_host.h, gpu_ops.h and scanstream.h, which include each other by bare name, so
//     they must sit in one directory the module map can see.
// The Swift target ScanKit is then only the exports (generated from the kernel table), the
// GPU operations table over Metal and the embedded MSL (generated from metal/*.metal).
// (Should a SwiftPM release refuse search paths through the symlink, the same directories as
// `.unsafeFlags(["-I\(Context.packageDirectory)/../native/include", …])` work for a root package.)
import PackageDescription

let package = Package(
  name: "ScanKit",
  platforms: [.macOS(.v13)],
  products: [
    .library(name: "ScanKit", type: .dynamic, targets: ["ScanKit"]),
  ],
  targets: [
    .target(
      name: "ScanKitHost",
      exclude: ["native"],
      publicHeadersPath: "include",
      cxxSettings: [
        .headerSearchPath("native/include"),
        .headerSearchPath("native/common"),
        .headerSearchPath("native/metal_host"),
      ]
    ),
    .target(
      name: "ScanKit",
      dependencies: ["ScanKitHost"],
      linkerSettings: [.linkedFramework("Metal"), .linkedFramework("Foundation")]
    ),
  ],
  cxxLanguageStandard: .cxx17
)
