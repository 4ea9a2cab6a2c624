# smallmind serve in a container: Debian 12, built from this repository with
# its own bootstrap, run as a non-root user, the model mounted read-only.
#   docker build -t smallmind .
#   docker run -p 8080:8080 -v /path/to/models:/models:ro smallmind -m /models/model.gguf
FROM debian:12 AS build
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends ca-certificates git \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN bash scripts/bootstrap.sh \
    && bazel build --config=opt //tools/smallmind \
    && cp bazel-bin/tools/smallmind/smallmind /usr/local/bin/smallmind

FROM debian:12
# The runtime libraries the binary links (ICU, OpenBLAS, protobuf, httplib)
# and curl for the health check.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      libicu72 libopenblas0 libprotobuf32 libcpp-httplib0.11 libgomp1 curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home smallmind
COPY --from=build /usr/local/bin/smallmind /usr/local/bin/smallmind
USER smallmind
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -sf http://127.0.0.1:8080/health || exit 1
ENTRYPOINT ["smallmind", "serve", "--host", "0.0.0.0", "--port", "8080"]
CMD ["-m", "/models/model.gguf"]
