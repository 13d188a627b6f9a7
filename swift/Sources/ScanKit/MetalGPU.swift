// The GPU operations table of native/metal_host/gpu_ops.h over one Metal device: the only
// part of a call that is not shared with the emulator. One object per context (device,
// queue, the library compiled once from the embedded MSL, pipelines cached by name); the
// host logic calls it through C function pointers with the object as `device`.
//
// Rules kept here: no `!`, `try!` or `fatalError` (a trap would kill bun); every failure is
// an ss_status with a message for last_error; calls are synchronous (commit, then
// waitUntilCompleted), so no Metal completion handler ever calls into JavaScript.

import Foundation
import Metal
import ScanKitHost

// ss_status codes as the C functions return them (anonymous C enums import as Int)
let ssOK = Int32(SS_OK)
let ssErrInvalidArgument = Int32(SS_ERR_INVALID_ARGUMENT)
let ssErrOutOfMemory = Int32(SS_ERR_OUT_OF_MEMORY)
let ssErrBackend = Int32(SS_ERR_BACKEND)
let ssErrUnsupported = Int32(SS_ERR_UNSUPPORTED)
let ssErrInternal = Int32(SS_ERR_INTERNAL)

/// Why Metal could not do something, in Metal's words where it gave any.
struct MetalFailure: Error {
  let message: String
}

/// An MTLBuffer behind a gpu_ops buffer handle (a class, so Unmanaged can hold it).
final class MetalBufferBox {
  let buffer: MTLBuffer

  init(_ buffer: MTLBuffer) {
    self.buffer = buffer
  }
}

final class MetalGPU {
  /// Apple Silicon's page: shared buffers are whole pages, as `bytesNoCopy` would want them
  static let pageBytes: UInt64 = 16_384
  /// setBytes takes at most 4 KiB
  static let maxInlineBytes: UInt32 = 4_096
  /// [[buffer(i)]] indices a compute function may use
  static let bufferIndexLimit: UInt32 = 31

  let device: MTLDevice
  let queue: MTLCommandQueue
  let library: MTLLibrary
  private var pipelines: [String: MTLComputePipelineState] = [:]
  /// the call in progress: begin() opens it, end() commits it
  private var commandBuffer: MTLCommandBuffer?
  private var encoder: MTLComputeCommandEncoder?
  /// a dispatch of this call failed: end() throws the work away instead of running half of it
  private var passFailed = false
  /// last_error's text (strdup'd: valid until the next failure)
  private var message: UnsafeMutablePointer<CChar>?

  private init(device: MTLDevice, queue: MTLCommandQueue, library: MTLLibrary) {
    self.device = device
    self.queue = queue
    self.library = library
  }

  deinit {
    discardOpenWork()
    free(message)
  }

  /// The default Metal device with a queue and ScanKit's kernels compiled, or why not.
  static func make() -> Result<MetalGPU, MetalFailure> {
    // a process that is not an app can see no default device on some systems: ask for all
    guard let device = MTLCreateSystemDefaultDevice() ?? MTLCopyAllDevices().first else {
      return .failure(MetalFailure(message: "no Metal device here (MTLCreateSystemDefaultDevice returned nil and MTLCopyAllDevices is empty)"))
    }
    guard let queue = device.makeCommandQueue() else {
      return .failure(MetalFailure(message: "\(device.name): makeCommandQueue returned nil"))
    }
    let options = MTLCompileOptions()
    // results must match the CPU's: no fast math, precise math functions. mathMode exists
    // from the macOS 15 SDK (Swift 6 toolchains); fastMathEnabled = false means the same before.
    #if compiler(>=6.0)
    if #available(macOS 15.0, *) {
      options.mathMode = .safe
      options.mathFloatingPointFunctions = .precise
    } else {
      options.fastMathEnabled = false
    }
    #else
    options.fastMathEnabled = false
    #endif
    let library: MTLLibrary
    do {
      library = try device.makeLibrary(source: scanKitMetalSource, options: options)
    } catch {
      return .failure(MetalFailure(message: "\(device.name): ScanKit's Metal source did not compile: \(error.localizedDescription)"))
    }
    return .success(MetalGPU(device: device, queue: queue, library: library))
  }

  // MARK: - the operations

  func bufferCreate(bytes: UInt64, buffer: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                    contents: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    guard let buffer, let contents else { return fail(ssErrInvalidArgument, "buffer_create: no place for the result") }
    buffer.pointee = nil
    contents.pointee = nil
    let limit = UInt64(clamping: device.maxBufferLength)
    guard bytes > 0, bytes <= limit else {
      return fail(ssErrOutOfMemory, "\(device.name): a buffer of \(bytes) bytes (this device's largest is \(limit))")
    }
    // whole pages where the device allows them (bytes <= limit, so this cannot overflow)
    let pages = (bytes + MetalGPU.pageBytes - 1) / MetalGPU.pageBytes * MetalGPU.pageBytes
    let length = pages <= limit ? pages : bytes
    // makeBuffer(length:options:) clears the buffer with zeros, as ss_buffer_create promises
    guard let made = device.makeBuffer(length: Int(clamping: length), options: .storageModeShared) else {
      return fail(ssErrOutOfMemory, "\(device.name): makeBuffer could not allocate \(length) bytes")
    }
    buffer.pointee = Unmanaged.passRetained(MetalBufferBox(made)).toOpaque()
    contents.pointee = made.contents()
    return ssOK
  }

  func bufferDestroy(_ handle: UnsafeMutableRawPointer?) {
    guard let handle else { return }
    Unmanaged<MetalBufferBox>.fromOpaque(handle).release()
  }

  func begin() -> Int32 {
    // a call that failed between begin and end may have left its command buffer open
    discardOpenWork()
    guard let made = queue.makeCommandBuffer() else {
      return fail(ssErrBackend, "\(device.name): makeCommandBuffer returned nil")
    }
    commandBuffer = made
    passFailed = false
    return ssOK
  }

  /// Encodes one launch into the call's compute encoder. One encoder per begin…end, with
  /// the default serial dispatch type: Metal runs its dispatches in order, each after the
  /// one before has finished, so every dispatch sees the memory the earlier ones wrote
  /// (what gpu_ops.h promises) with no explicit barrier.
  func dispatch(_ description: UnsafePointer<ss_gpu_dispatch>?) -> Int32 {
    let status = encode(description)
    if status != ssOK { passFailed = true }
    return status
  }

  private func encode(_ description: UnsafePointer<ss_gpu_dispatch>?) -> Int32 {
    guard let description else { return fail(ssErrInvalidArgument, "dispatch: no launch description") }
    let launch = description.pointee
    guard let namePointer = launch.pipeline else { return fail(ssErrInvalidArgument, "dispatch: no pipeline name") }
    let name = String(cString: namePointer)
    guard let commandBuffer else { return fail(ssErrInternal, "dispatch \(name): no command buffer is open (begin was not called)") }
    let pipeline: MTLComputePipelineState
    switch pipelineState(named: name) {
    case .success(let state): pipeline = state
    case .failure(let failure): return fail(ssErrBackend, failure.message)
    }

    let grid = MTLSize(width: Int(launch.grid.0), height: Int(launch.grid.1), depth: Int(launch.grid.2))
    let group = MTLSize(width: Int(launch.threadgroup.0), height: Int(launch.threadgroup.1), depth: Int(launch.threadgroup.2))
    // Metal rejects an empty dispatch; an empty grid is no work
    if grid.width == 0 || grid.height == 0 || grid.depth == 0 { return ssOK }
    let most = pipeline.maxTotalThreadsPerThreadgroup
    // each side first, so that the product cannot overflow
    let sides = [group.width, group.height, group.depth]
    guard sides.allSatisfy({ $0 > 0 && $0 <= most }), group.width * group.height * group.depth <= most else {
      return fail(ssErrBackend, "\(name): a threadgroup of \(group.width)x\(group.height)x\(group.depth) threads; this pipeline takes at most \(most)")
    }

    // check everything before encoding anything: Metal's own checks are assertions
    guard launch.binding_count == 0 || launch.bindings != nil else {
      return fail(ssErrInvalidArgument, "\(name): \(launch.binding_count) bindings but no binding array")
    }
    let bindings = UnsafeBufferPointer(start: launch.bindings, count: Int(launch.binding_count))
    var buffers: [(MTLBuffer, Int, Int)] = []
    var inline: [(UnsafeRawPointer, Int, Int)] = []
    for binding in bindings {
      guard binding.index < MetalGPU.bufferIndexLimit else {
        return fail(ssErrInvalidArgument, "\(name): buffer index \(binding.index) (Metal has \(MetalGPU.bufferIndexLimit))")
      }
      if let handle = binding.buffer {
        let box = Unmanaged<MetalBufferBox>.fromOpaque(handle).takeUnretainedValue()
        guard binding.offset < UInt64(clamping: box.buffer.length) else {
          return fail(ssErrInvalidArgument, "\(name): buffer(\(binding.index)) offset \(binding.offset) is outside its \(box.buffer.length) bytes")
        }
        buffers.append((box.buffer, Int(clamping: binding.offset), Int(binding.index)))
      } else {
        guard let bytes = binding.bytes, binding.length > 0, binding.length <= MetalGPU.maxInlineBytes else {
          return fail(ssErrInvalidArgument, "\(name): buffer(\(binding.index)) has neither a buffer nor 1…\(MetalGPU.maxInlineBytes) bytes of constants")
        }
        inline.append((bytes, Int(binding.length), Int(binding.index)))
      }
    }
    guard launch.threadgroup_memory_count <= MetalGPU.bufferIndexLimit else {
      return fail(ssErrInvalidArgument, "\(name): \(launch.threadgroup_memory_count) threadgroup memory arguments")
    }
    guard launch.threadgroup_memory_count == 0 || launch.threadgroup_memory != nil else {
      return fail(ssErrInvalidArgument, "\(name): \(launch.threadgroup_memory_count) threadgroup memory lengths but no array")
    }
    let lengths = UnsafeBufferPointer(start: launch.threadgroup_memory, count: Int(launch.threadgroup_memory_count))
    // setThreadgroupMemoryLength wants multiples of 16 bytes
    let rounded = lengths.map { (Int($0) + 15) / 16 * 16 }
    let sharedBytes = rounded.reduce(0, +) + pipeline.staticThreadgroupMemoryLength
    guard sharedBytes <= device.maxThreadgroupMemoryLength else {
      return fail(ssErrBackend, "\(name): \(sharedBytes) bytes of threadgroup memory; this device has \(device.maxThreadgroupMemoryLength)")
    }

    let encoder: MTLComputeCommandEncoder
    if let open = self.encoder {
      encoder = open
    } else {
      guard let made = commandBuffer.makeComputeCommandEncoder() else {
        return fail(ssErrBackend, "\(device.name): makeComputeCommandEncoder returned nil")
      }
      self.encoder = made
      encoder = made
    }
    encoder.setComputePipelineState(pipeline)
    for (buffer, offset, index) in buffers { encoder.setBuffer(buffer, offset: offset, index: index) }
    for (bytes, length, index) in inline { encoder.setBytes(bytes, length: length, index: index) }
    for (index, length) in rounded.enumerated() { encoder.setThreadgroupMemoryLength(length, index: index) }
    if launch.by_threadgroups != 0 {
      encoder.dispatchThreadgroups(grid, threadsPerThreadgroup: group)
    } else {
      // non-uniform threadgroups: every Apple-silicon GPU has them
      encoder.dispatchThreads(grid, threadsPerThreadgroup: group)
    }
    return ssOK
  }

  func end() -> Int32 {
    guard let commandBuffer else { return fail(ssErrInternal, "end: no command buffer is open") }
    encoder?.endEncoding()
    encoder = nil
    self.commandBuffer = nil
    if passFailed {
      // the host logic reports the dispatch that failed; half a call's work is not run
      passFailed = false
      return ssErrBackend
    }
    commandBuffer.commit()
    commandBuffer.waitUntilCompleted()
    guard commandBuffer.status == .completed else {
      let reason = commandBuffer.error?.localizedDescription ?? "status \(commandBuffer.status.rawValue)"
      return fail(ssErrBackend, "\(device.name): the command buffer failed: \(reason)")
    }
    return ssOK
  }

  func pipelineLimits(_ name: UnsafePointer<CChar>?, simdWidth: UnsafeMutablePointer<UInt32>?,
                      maxThreads: UnsafeMutablePointer<UInt32>?) -> Int32 {
    guard let name, let simdWidth, let maxThreads else { return fail(ssErrInvalidArgument, "pipeline_limits: a null argument") }
    switch pipelineState(named: String(cString: name)) {
    case .success(let state):
      simdWidth.pointee = UInt32(clamping: state.threadExecutionWidth)
      maxThreads.pointee = UInt32(clamping: state.maxTotalThreadsPerThreadgroup)
      return ssOK
    case .failure(let failure):
      return fail(ssErrBackend, failure.message)
    }
  }

  var lastError: UnsafePointer<CChar>? {
    message.map { UnsafePointer($0) }
  }

  // MARK: - helpers

  /// The pipeline of a kernel function of the embedded MSL, made once per context.
  private func pipelineState(named name: String) -> Result<MTLComputePipelineState, MetalFailure> {
    if let cached = pipelines[name] { return .success(cached) }
    guard let function = library.makeFunction(name: name) else {
      return .failure(MetalFailure(message: "no kernel function '\(name)' in ScanKit's Metal source"))
    }
    do {
      let state = try device.makeComputePipelineState(function: function)
      pipelines[name] = state
      return .success(state)
    } catch {
      return .failure(MetalFailure(message: "\(device.name): pipeline '\(name)': \(error.localizedDescription)"))
    }
  }

  /// Ends an encoder left open (Metal asserts on an encoder released without endEncoding)
  /// and drops the uncommitted command buffer.
  private func discardOpenWork() {
    encoder?.endEncoding()
    encoder = nil
    commandBuffer = nil
    passFailed = false
  }

  private func fail(_ status: Int32, _ text: String) -> Int32 {
    free(message)
    message = strdup(text)
    return status
  }
}

// MARK: - the C table

extension MetalGPU {
  /// The object behind a gpu_ops `device` pointer (not retained).
  static func from(_ device: UnsafeMutableRawPointer?) -> MetalGPU? {
    guard let device else { return nil }
    return Unmanaged<MetalGPU>.fromOpaque(device).takeUnretainedValue()
  }

  /// gpu_ops.h's table over `gpu`. `device` holds one retain of it, released by `destroy`,
  /// which ss_metal_context_create calls when the context goes (or cannot be made).
  /// The closures capture nothing, as C function pointers must not.
  static func operations(over gpu: MetalGPU) -> ss_gpu_ops {
    var ops = ss_gpu_ops()
    ops.device = Unmanaged.passRetained(gpu).toOpaque()
    ops.buffer_create = { device, bytes, buffer, contents in
      guard let gpu = MetalGPU.from(device) else { return ssErrInternal }
      return gpu.bufferCreate(bytes: bytes, buffer: buffer, contents: contents)
    }
    ops.buffer_destroy = { device, buffer in
      guard let gpu = MetalGPU.from(device) else { return }
      gpu.bufferDestroy(buffer)
    }
    ops.begin = { device in
      guard let gpu = MetalGPU.from(device) else { return ssErrInternal }
      return gpu.begin()
    }
    ops.dispatch = { device, description in
      guard let gpu = MetalGPU.from(device) else { return ssErrInternal }
      return gpu.dispatch(description)
    }
    ops.end = { device in
      guard let gpu = MetalGPU.from(device) else { return ssErrInternal }
      return gpu.end()
    }
    ops.pipeline_limits = { device, pipeline, simdWidth, maxThreads in
      guard let gpu = MetalGPU.from(device) else { return ssErrInternal }
      return gpu.pipelineLimits(pipeline, simdWidth: simdWidth, maxThreads: maxThreads)
    }
    ops.last_error = { device in
      guard let gpu = MetalGPU.from(device) else { return nil }
      return gpu.lastError
    }
    ops.destroy = { device in
      guard let device else { return }
      Unmanaged<MetalGPU>.fromOpaque(device).release()
    }
    return ops
  }
}
