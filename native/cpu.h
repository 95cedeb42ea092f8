// What this x86-64 CPU can do, and which vector unit evonas's own kernels use.
// Chosen at run time, so an addon built on one machine runs on any other.
#pragma once

#include <string>

namespace evonas {

// The vector units the fused kernels are compiled for, widest last.
enum class Isa { Baseline = 0, Avx2 = 1, Avx512 = 2 };

struct CpuFeatures {
  bool avx2 = false, fma = false;
  bool avx512 = false;      // AVX-512 F, BW, VL and DQ (oneDNN's avx512_core), enabled by the OS
  bool avx512bf16 = false;  // AVX512_BF16: native bf16 dot products
  bool amxbf16 = false;     // AMX-BF16 tiles, enabled by the OS
};

CpuFeatures cpuFeatures();

const char* isaName(Isa isa);

// The widest unit this CPU has, capped by EVONAS_ISA (baseline | avx2 | avx512 | auto).
Isa kernelIsa();

// Whether bf16 arithmetic runs on native instructions here. False when the
// CPU lacks AVX512_BF16 and AMX-BF16, or when ONEDNN_MAX_CPU_ISA or
// EVONAS_ISA keep oneDNN or evonas below them.
bool bf16Native();

// Why bf16 is not native ("" when it is): the missing instruction set or the cap.
std::string bf16Missing();

}  // namespace evonas
