"""A kernel family: its library, scalar-referenced test and benchmark."""

def kernel_family(name, deps = [], test_deps = [], benchmark_deps = [], benchmark = True):
    """Declares `name` (library), `name_test` and `name_benchmark`.

    `benchmark = False` when a family is measured elsewhere (the matmul
    kernels: by //backends:matmul_benchmark, with the backends' threads).

    The library is `name.h` (API), `name-inl.h` (per-target code, also used
    by other dispatch units) and `name.cc` (the Highway dispatch unit, which
    re-includes itself once per target and so is also a textual header).
    """
    native.cc_library(
        name = name,
        srcs = [name + ".cc"],
        hdrs = [name + ".h"],
        textual_hdrs = [name + "-inl.h", name + ".cc"],
        deps = [
            ":simd_util",
            "//third_party/highway:hwy",
        ] + deps,
    )
    native.cc_test(
        name = name + "_test",
        size = "small",
        srcs = [name + "_test.cc"],
        deps = [
            ":" + name,
            ":kernel_test_util",
            ":reference",
            "@system//:gtest_main",
            "//third_party/highway:hwy",
            
        ] + test_deps,
    )
    if not benchmark:
        return
    native.cc_binary(
        name = name + "_benchmark",
        testonly = True,
        srcs = [name + "_benchmark.cc"],
        deps = [
            ":" + name,
            ":benchmark_util",
            "@system//:benchmark_main",
        ] + benchmark_deps,
    )
