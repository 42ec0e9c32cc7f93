/* CTailor exports include/tailor.h to the Swift core, plus the one entry point that must not be
 * Swift: the CPU check. The Swift code may be compiled for AVX2/FMA (Package.swift, TAILOR_CPU);
 * this file is compiled for the x86-64 baseline, so a caller can ask before running any of it. */
#include "tailor.h"

int tailor_cpu_supported(void) {
#if defined(TAILOR_NEEDS_AVX2) && defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 1;
#endif
}
