"""A fuzz target: its library, a CI test that replays seeds and mutations,
and a libFuzzer binary (built with clang by scripts/fuzz.sh)."""

def fuzz_target(name, srcs, deps, seeds = None):
    """Declares `name_target`, `name_seeds`, `name_fuzz_test` and `name_fuzzer`.

    Args:
      name: the parser's name, as scripts/fuzz.sh takes it.
      srcs: the file defining LLVMFuzzerTestOneInput.
      deps: what it fuzzes.
      seeds: labels of the seed files; by default every file in
        seeds/<name>/.
    """
    native.filegroup(
        name = name + "_seeds",
        srcs = seeds if seeds != None else native.glob(["seeds/%s/*" % name]),
    )
    native.cc_library(
        name = name + "_target",
        testonly = True,
        srcs = srcs,
        deps = deps,
        alwayslink = True,
    )
    native.cc_test(
        name = name + "_fuzz_test",
        size = "medium",
        args = ["$(locations :%s_seeds)" % name],
        data = [":" + name + "_seeds"],
        deps = [
            ":" + name + "_target",
            ":replay_main",
        ],
    )
    native.cc_binary(
        name = name + "_fuzzer",
        testonly = True,
        linkopts = ["-fsanitize=fuzzer"],
        tags = ["manual"],
        deps = [":" + name + "_target"],
    )
