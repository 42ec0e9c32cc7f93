@_cdecl("tailor_abi_version") public func tailor_abi_version() -> Int32 { 1 }
