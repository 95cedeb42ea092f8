#include "cpu.h"

#include <cpuid.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace evonas {
namespace {

std::string upper(const char* s) {
  std::string u(s ? s : "");
  std::transform(u.begin(), u.end(), u.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return u;
}

uint64_t xcr0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

// EVONAS_ISA, as a cap: unset or "auto" means none.
Isa capFromEnv() {
  const std::string v = upper(std::getenv("EVONAS_ISA"));
  if (v == "BASELINE" || v == "SSE2" || v == "DEFAULT") return Isa::Baseline;
  if (v == "AVX2") return Isa::Avx2;
  return Isa::Avx512;  // "", AUTO, AVX512 (TypeScript refuses anything else before the addon loads)
}

// oneDNN's own cap (ONEDNN_MAX_CPU_ISA, or DNNL_MAX_CPU_ISA in older releases):
// below AVX512_CORE_BF16 it computes bf16 by conversion to fp32.
std::string onednnCap() {
  const char* v = std::getenv("ONEDNN_MAX_CPU_ISA");
  if (!v || !*v) v = std::getenv("DNNL_MAX_CPU_ISA");
  return upper(v);
}

bool onednnCapAllowsBf16(const std::string& cap) {
  if (cap.empty() || cap == "ALL") return true;
  return cap.find("BF16") != std::string::npos || cap.find("AMX") != std::string::npos ||
         cap.find("FP16") != std::string::npos || cap.find("AVX10") != std::string::npos;
}

}  // namespace

CpuFeatures cpuFeatures() {
  static const CpuFeatures f = [] {
    CpuFeatures c;
    __builtin_cpu_init();
    c.avx2 = __builtin_cpu_supports("avx2");
    c.fma = __builtin_cpu_supports("fma");
    // __builtin_cpu_supports checks that the OS saves the AVX-512 state.
    c.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    unsigned a, b, cx, d;
    const bool osxsave = __get_cpuid(1, &a, &b, &cx, &d) && (cx & (1u << 27));
    if (__get_cpuid_count(7, 1, &a, &b, &cx, &d)) c.avx512bf16 = c.avx512 && (a & (1u << 5));
    if (__get_cpuid_count(7, 0, &a, &b, &cx, &d)) {
      // AMX-BF16, and the OS saves the tile state (XTILECFG and XTILEDATA in XCR0)
      c.amxbf16 = (d & (1u << 22)) && osxsave && ((xcr0() >> 17) & 3) == 3;
    }
    return c;
  }();
  return f;
}

const char* isaName(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return "avx512";
    case Isa::Avx2:
      return "avx2";
    default:
      return "baseline";
  }
}

Isa kernelIsa() {
  static const Isa isa = [] {
    const CpuFeatures f = cpuFeatures();
    const Isa best = f.avx512 ? Isa::Avx512 : (f.avx2 && f.fma) ? Isa::Avx2 : Isa::Baseline;
    return std::min(best, capFromEnv());
  }();
  return isa;
}

std::string bf16Missing() {
  const CpuFeatures f = cpuFeatures();
  if (!f.avx512bf16 && !f.amxbf16) return "this CPU has neither AVX512_BF16 nor AMX-BF16";
  const std::string cap = onednnCap();
  if (!onednnCapAllowsBf16(cap)) return "ONEDNN_MAX_CPU_ISA=" + cap + " keeps oneDNN below its bf16 instructions";
  if (capFromEnv() != Isa::Avx512) return "EVONAS_ISA keeps evonas below AVX-512";
  return "";
}

bool bf16Native() { return bf16Missing().empty(); }

}  // namespace evonas
