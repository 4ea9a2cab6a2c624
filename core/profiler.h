// Per-op timing for `smallmind profile`. Code marks ops with
//   SM_PROFILE_SCOPE(core::ProfileOp::kNorm, layer, flops, bytes);
// which records the scope's wall time into the calling thread's installed
// Profiler, if any. With no Profiler installed a scope costs one
// thread-local load and a branch; built with --config=noprofile
// (-DSMALLMIND_NO_PROFILING) the macro compiles to nothing.
// profiler_benchmark measures both.
#ifndef SMALLMIND_CORE_PROFILER_H_
#define SMALLMIND_CORE_PROFILER_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace smallmind::core {

enum class ProfileOp : uint8_t {
  kTokenization,
  kEmbedding,
  kNorm,
  kMatMulQkv,
  kRope,
  kKvWrite,    // keys and values into the KV cache
  kAttention,  // scores, softmax and the weighted sum: one fused kernel
  kMatMulAttnOut,
  kMatMulFfnUp,
  kActivation,
  kMatMulFfnDown,
  kResidual,
  kMatMulLmHead,
  kSampling,
  kCount,
};
const char* ProfileOpName(ProfileOp op);

class Profiler {
 public:
  // Room for `capacity` events, allocated now so recording never allocates.
  explicit Profiler(size_t capacity = 1 << 20);

  // `layer` is -1 outside the layers. Events past capacity are counted in
  // dropped() and otherwise ignored.
  void Record(ProfileOp op, int layer, int64_t nanoseconds, double flops,
              double bytes);

  struct OpStats {
    ProfileOp op;
    int64_t count = 0;
    double total_ms = 0, mean_us = 0, median_us = 0;
    double gflops = 0;  // flops / time, 0 where not defined
    double gbps = 0;    // bytes / time, 0 where not defined
  };
  // Ops with at least one event, by total time, largest first.
  std::vector<OpStats> Summarize() const;
  // Total milliseconds per layer (index = layer).
  std::vector<double> LayerMilliseconds() const;
  int64_t dropped() const { return dropped_; }
  void Clear();

 private:
  struct Event {
    ProfileOp op;
    int16_t layer;
    int64_t ns;
    double flops, bytes;
  };
  std::vector<Event> events_;
  size_t used_ = 0;
  int64_t dropped_ = 0;
};

// The Profiler scopes on this thread record into, or null.
Profiler* CurrentProfiler();

// Installs `profiler` for this thread until destroyed (then restores the
// previous one).
class ScopedProfiler {
 public:
  explicit ScopedProfiler(Profiler* profiler);
  ~ScopedProfiler();
  ScopedProfiler(const ScopedProfiler&) = delete;
  ScopedProfiler& operator=(const ScopedProfiler&) = delete;

 private:
  Profiler* previous_;
};

class ProfileScope {
 public:
  ProfileScope(ProfileOp op, int layer, double flops, double bytes)
      : profiler_(CurrentProfiler()) {
    if (profiler_ != nullptr) {
      op_ = op;
      layer_ = layer;
      flops_ = flops;
      bytes_ = bytes;
      start_ = std::chrono::steady_clock::now();
    }
  }
  ~ProfileScope() {
    if (profiler_ != nullptr) {
      profiler_->Record(op_, layer_,
                        std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now() - start_)
                            .count(),
                        flops_, bytes_);
    }
  }
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  Profiler* profiler_;
  ProfileOp op_ = ProfileOp::kCount;
  int layer_ = -1;
  double flops_ = 0, bytes_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace smallmind::core

#define SM_PROFILE_CONCAT_INNER(a, b) a##b
#define SM_PROFILE_CONCAT(a, b) SM_PROFILE_CONCAT_INNER(a, b)
#ifdef SMALLMIND_NO_PROFILING
#define SM_PROFILE_SCOPE(op, layer, flops, bytes) static_cast<void>(0)
#else
#define SM_PROFILE_SCOPE(op, layer, flops, bytes)                      \
  ::smallmind::core::ProfileScope SM_PROFILE_CONCAT(sm_profile_scope_, \
                                                    __LINE__)(op, layer, flops, bytes)
#endif

#endif  // SMALLMIND_CORE_PROFILER_H_
