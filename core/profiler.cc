#include "core/profiler.h"

#include <algorithm>

namespace smallmind::core {
namespace {
thread_local Profiler* current_profiler = nullptr;
}  // namespace

const char* ProfileOpName(ProfileOp op) {
  static const char* const kNames[] = {
      "tokenization",  "embedding",      "norm",       "matmul qkv",
      "rope",          "kv cache write", "attention",  "matmul attn out",
      "matmul ffn up", "activation",     "matmul ffn down", "residual",
      "matmul lm head", "sampling"};
  static_assert(std::size(kNames) == static_cast<size_t>(ProfileOp::kCount),
                "one name per ProfileOp");
  const auto i = static_cast<size_t>(op);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

Profiler::Profiler(size_t capacity) : events_(capacity) {}

void Profiler::Record(ProfileOp op, int layer, int64_t nanoseconds,
                      double flops, double bytes) {
  if (used_ == events_.size()) {
    ++dropped_;
    return;
  }
  events_[used_++] = {op, static_cast<int16_t>(layer), nanoseconds, flops, bytes};
}

std::vector<Profiler::OpStats> Profiler::Summarize() const {
  std::vector<OpStats> out;
  std::vector<int64_t> times;
  for (int o = 0; o < static_cast<int>(ProfileOp::kCount); ++o) {
    const ProfileOp op = static_cast<ProfileOp>(o);
    times.clear();
    double flops = 0, bytes = 0, total_ns = 0;
    for (size_t i = 0; i < used_; ++i) {
      if (events_[i].op != op) continue;
      times.push_back(events_[i].ns);
      total_ns += events_[i].ns;
      flops += events_[i].flops;
      bytes += events_[i].bytes;
    }
    if (times.empty()) continue;
    std::sort(times.begin(), times.end());
    OpStats s;
    s.op = op;
    s.count = times.size();
    s.total_ms = total_ns / 1e6;
    s.mean_us = total_ns / times.size() / 1e3;
    const size_t n = times.size();
    s.median_us = (n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2.0) / 1e3;
    if (total_ns > 0) {
      s.gflops = flops / total_ns;  // flops per ns = GFLOP/s
      s.gbps = bytes / total_ns;
    }
    out.push_back(s);
  }
  std::sort(out.begin(), out.end(),
            [](const OpStats& a, const OpStats& b) { return a.total_ms > b.total_ms; });
  return out;
}

std::vector<double> Profiler::LayerMilliseconds() const {
  std::vector<double> layers;
  for (size_t i = 0; i < used_; ++i) {
    const int l = events_[i].layer;
    if (l < 0) continue;
    if (static_cast<size_t>(l) >= layers.size()) layers.resize(l + 1, 0.0);
    layers[l] += events_[i].ns / 1e6;
  }
  return layers;
}

void Profiler::Clear() {
  used_ = 0;
  dropped_ = 0;
}

Profiler* CurrentProfiler() { return current_profiler; }

ScopedProfiler::ScopedProfiler(Profiler* profiler) : previous_(current_profiler) {
  current_profiler = profiler;
}

ScopedProfiler::~ScopedProfiler() { current_profiler = previous_; }

}  // namespace smallmind::core
