// The run-time half of Highway (runtime.cc) against the kernel's own view
// of the CPU (/proc/cpuinfo's flags), the test overrides, and aligned
// allocation.
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "hwy/aligned_allocator.h"
#include "hwy/targets.h"

namespace {

std::set<std::string> CpuinfoFlags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::set<std::string> flags;
    for (std::string w; words >> w;) flags.insert(w);
    return flags;
  }
  return {};
}

#if HWY_ARCH_X86
TEST(HighwayRuntimeTest, TargetsMatchTheKernelsCpuFlags) {
  const std::set<std::string> flags = CpuinfoFlags();
  if (flags.empty()) GTEST_SKIP() << "no /proc/cpuinfo";
  auto all = [&](std::initializer_list<const char*> names) {
    for (const char* n : names) {
      if (!flags.count(n)) return false;
    }
    return true;
  };
  const bool ssse3 = all({"sse", "sse2", "pni", "ssse3"});
  const bool sse4 = ssse3 && all({"sse4_1", "sse4_2", "pclmulqdq", "aes"});
  const bool avx2 = sse4 && all({"avx", "avx2", "bmi1", "bmi2", "fma", "f16c", "abm", "movbe"});
  const bool avx3 = avx2 && all({"avx512f", "avx512vl", "avx512dq", "avx512bw"});
  const bool avx3_dl = avx3 && all({"avx512_vnni", "vpclmulqdq", "avx512vbmi", "avx512_vbmi2",
                                    "vaes", "avx512_bitalg", "avx512_vpopcntdq"});
  const int64_t targets = hwy::SupportedTargets();
  EXPECT_EQ((targets & HWY_SSSE3) != 0, ssse3);
  EXPECT_EQ((targets & HWY_SSE4) != 0, sse4);
  EXPECT_EQ((targets & HWY_AVX2) != 0, avx2);
  EXPECT_EQ((targets & HWY_AVX3) != 0, avx3);
  EXPECT_EQ((targets & HWY_AVX3_DL) != 0, avx3_dl);
  EXPECT_NE(targets & HWY_SCALAR, 0);
}
#endif

TEST(HighwayRuntimeTest, OverridesAndDisabledTargets) {
  const int64_t detected = hwy::SupportedTargets();
  hwy::SetSupportedTargetsForTest(HWY_SCALAR);
  EXPECT_EQ(hwy::SupportedTargets(), HWY_SCALAR);
  EXPECT_EQ(hwy::SupportedAndGeneratedTargets().size(), (HWY_TARGETS & HWY_SCALAR) ? 1u : 0u);
  hwy::SetSupportedTargetsForTest(0);
  EXPECT_EQ(hwy::SupportedTargets(), detected);
  // Disabling everything leaves the static target (one is always callable).
  hwy::DisableTargets(~int64_t{0});
  EXPECT_EQ(hwy::SupportedTargets(), HWY_STATIC_TARGET);
  hwy::DisableTargets(0);
  EXPECT_EQ(hwy::SupportedTargets(), detected);
  EXPECT_TRUE(hwy::GetChosenTarget().IsInitialized());
}

struct Counted {
  static int live;
  Counted() { ++live; }
  ~Counted() { --live; }
};
int Counted::live = 0;

TEST(HighwayRuntimeTest, AlignedAllocation) {
  for (size_t n : {0, 1, 3, 64, 1000, 100003}) {
    hwy::AlignedFreeUniquePtr<float[]> p = hwy::AllocateAligned<float>(n);
    ASSERT_NE(p.get(), nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p.get()) % HWY_ALIGNMENT, 0u);
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<float>(i);
  }
  {
    hwy::AlignedUniquePtr<Counted[]> objects = hwy::MakeUniqueAlignedArray<Counted>(7);
    EXPECT_EQ(Counted::live, 7);
  }
  EXPECT_EQ(Counted::live, 0);  // the deleter destroyed every element
}

}  // namespace
