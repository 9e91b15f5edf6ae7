# The shared image cenv/cenv:<version> (DESIGN section 1): the `cenv` binary on cenv's base
# image with the runtime libraries it links, so that a controller runs in it and clients run
# the very same build. Built by scripts/build-image (`make image`), which puts a stripped
# build/cli/cenv into the build context beside this file:
#   scripts/build-image            # cenv/cenv:<version>, from build/cli/cenv
# Certificates are not part of it: /etc/cenv/certs is empty. An organization bundles its own
# in a derivative image (manifests/examples/derived-image/) or mounts them at run time.
ARG BASE_IMAGE=cenv/base:bookworm
FROM ${BASE_IMAGE}
# More Debian packages: build-image names the sanitizers' runtime for a sanitizer build.
ARG EXTRA_PACKAGES=""
RUN ["/bin/sh", "-c", "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libarchive13 libgit2-1.5 libre2-9 libspdlog1.10 libfmt9 libssl3 libxml2 libpq5 ca-certificates ${EXTRA_PACKAGES} && rm -rf /var/lib/apt/lists/*"]
RUN ["/bin/sh", "-c", "mkdir -p /etc/cenv/certs /var/lib/cenv && chmod 0700 /etc/cenv/certs /var/lib/cenv"]
COPY cenv /usr/local/bin/cenv
ENV CENV_HOME=/var/lib/cenv
VOLUME ["/var/lib/cenv"]
ENTRYPOINT ["/usr/local/bin/cenv"]
CMD ["controller", "run"]
