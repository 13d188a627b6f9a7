// ScanKit's own part of the ABI: making a context (the Metal device, queue, compiled
// library and pipeline cache behind the shared host logic) and the message of a context
// that could not be made. Every other export forwards to the host logic
// (Exports.generated.swift).

import Foundation
import Metal
import ScanKitHost

/// Why the last ss_context_create failed, for ss_last_error(NULL): a context that was never
/// made has no error string of its own. Messages are kept, never freed: a caller on another
/// thread may still be reading the previous one (a repeated message is not stored twice).
final class CreationFailure: @unchecked Sendable {
  static let shared = CreationFailure()
  private let lock = NSLock()
  private var messages: [UnsafeMutablePointer<CChar>] = []
  private var current: UnsafeMutablePointer<CChar>?

  func record(_ text: String) {
    lock.lock()
    defer { lock.unlock() }
    if let same = messages.first(where: { String(cString: $0) == text }) {
      current = same
    } else if let copy = strdup(text) {
      messages.append(copy)
      current = copy
    }
  }

  func clear() {
    lock.lock()
    defer { lock.unlock() }
    current = nil
  }

  var message: UnsafePointer<CChar>? {
    lock.lock()
    defer { lock.unlock() }
    return current.map { UnsafePointer($0) }
  }
}

private func creationFailed(_ status: Int32, _ text: String) -> Int32 {
  CreationFailure.shared.record(text)
  return status
}

/// ss_context_create: SS_BACKEND_AUTO or SS_BACKEND_METAL (this library runs nothing else);
/// SS_ERR_BACKEND with Metal's message when there is no usable device or the MSL does not
/// compile here, so that `auto` can fall back to the CPU. `threads` is the CPU's business.
func scanKitContextCreate(_ backend: Int32, _ threads: Int32, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
  guard let out else { return creationFailed(ssErrInvalidArgument, "ss_context_create: out is null") }
  out.pointee = nil
  guard backend == Int32(SS_BACKEND_AUTO) || backend == Int32(SS_BACKEND_METAL) else {
    return creationFailed(ssErrUnsupported, "ss_context_create: libScanKit runs the Metal backend only (asked for backend \(backend))")
  }
  let gpu: MetalGPU
  switch MetalGPU.make() {
  case .success(let made):
    gpu = made
  case .failure(let failure):
    return creationFailed(ssErrBackend, "Metal: \(failure.message)")
  }
  var ops = MetalGPU.operations(over: gpu)
  // the host logic copies ops and the name; it releases gpu (ops.destroy) if it fails
  let status = "metal".withCString { name in ss_metal_context_create(&ops, name, out) }
  guard status == ssOK else {
    return creationFailed(status, "ss_context_create: the Metal host logic could not make a context (status \(status))")
  }
  CreationFailure.shared.clear()
  return ssOK
}

/// ss_last_error: a context's last message; for NULL, why the last context creation failed.
func scanKitLastError(_ ctx: OpaquePointer?) -> UnsafePointer<CChar>? {
  guard let ctx else { return CreationFailure.shared.message ?? ss_metal_last_error(nil) }
  return ss_metal_last_error(ctx)
}
