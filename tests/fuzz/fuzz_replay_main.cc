// A main() for fuzz targets built without libFuzzer: runs
// LLVMFuzzerTestOneInput on every seed file named on the command line and on
// deterministic mutations of each (byte flips, overwrites with boundary
// values, truncations), so CI exercises a parser's error paths under ASan.
// Real coverage-guided fuzzing uses the same target with clang's
// -fsanitize=fuzzer (see scripts/fuzz.sh).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void Run(const std::vector<uint8_t>& input) {
  LLVMFuzzerTestOneInput(input.data(), input.size());
}

}  // namespace

int main(int argc, char** argv) {
  const char* env = std::getenv("FUZZ_MUTATIONS");
  const int mutations = env != nullptr ? std::atoi(env) : 3000;
  size_t inputs = 0;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read seed %s\n", argv[i]);
      return 1;
    }
    const std::vector<uint8_t> seed((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
    Run(seed);
    std::mt19937 rng(1234 + i);
    static const uint8_t kBoundary[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x40};
    for (int m = 0; m < mutations; ++m) {
      std::vector<uint8_t> input = seed;
      if (input.empty()) break;
      // Most of a model file is tensor data; bias edits to the header and
      // description, where the parser's decisions are.
      const size_t span = m % 4 == 0 ? input.size() : 4096;
      const int edits = 1 + rng() % 4;
      for (int e = 0; e < edits; ++e) {
        const size_t at = rng() % std::min(span, input.size());
        switch (rng() % 4) {
          case 0: input[at] ^= 1u << (rng() % 8); break;
          case 1: input[at] = kBoundary[rng() % sizeof(kBoundary)]; break;
          case 2: input.resize(at); break;
          default: input.insert(input.begin() + at, static_cast<uint8_t>(rng()));
        }
        if (input.empty()) break;
      }
      Run(input);
      ++inputs;
    }
  }
  std::printf("ran %zu inputs from %d seeds\n", inputs + argc - 1, argc - 1);
  return 0;
}
