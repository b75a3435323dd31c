import CFuzzDriver

/// The per-input callback libFuzzer calls.
public typealias FuzzTest = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// Runs libFuzzer with `test`; each target's `<Module>_main` calls this (see CFuzzDriver.h).
public func runFuzzer(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ test: FuzzTest
)
    -> CInt
{
    fuzz_run_driver(argc, argv, test)
}
