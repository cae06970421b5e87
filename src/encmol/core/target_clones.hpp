// ENCMOL_TARGET_CLONES: a function compiled for AVX-512, AVX2 and the default
// target, one chosen when the program loads (a GCC ifunc). The functions that
// use it do the same IEEE lane arithmetic on every target, so the choice
// changes their speed, never their results.
//
// It is empty, leaving the default target only, where clones cannot work:
// clang 14 (the fuzz build) refuses 64-byte vector helpers across clones, and
// under ThreadSanitizer the ifunc resolver runs before the sanitizer is
// initialized and crashes.
#pragma once

#if defined(__clang__) || defined(__SANITIZE_THREAD__)
#define ENCMOL_TARGET_CLONES
#else
#define ENCMOL_TARGET_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
