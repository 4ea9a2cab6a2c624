// A random-weight model of the `small` preset's shape for tests, written to
// $TEST_TMPDIR (once per dtype and context).
#ifndef SMALLMIND_RUNTIME_TEST_MODEL_H_
#define SMALLMIND_RUNTIME_TEST_MODEL_H_

#include <cstdint>
#include <string>

#include "core/dtype.h"

namespace smallmind::runtime {

// The file's path; the test fails (and the path is empty) if writing fails.
std::string WriteSmallTestModel(core::DType dtype, int64_t context);


}  // namespace smallmind::runtime

#endif  // SMALLMIND_RUNTIME_TEST_MODEL_H_
