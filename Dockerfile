# streamhunt container image.
#
#   docker build --build-arg VERSION=v1.2.3 -t streamhunt:v1.2.3 .
#
# The build stage compiles a static binary (no cgo) with the version stamped
# in, and writes its SPDX software bill of materials beside it. The final
# image is distroless: no shell, no package manager, a non-root user.
# deploy/image_test.go runs the build stage's RUN lines as a script and starts
# the binary with this file's ENTRYPOINT and CMD; keep them plain shell.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG OUT=/out
RUN scripts/build-release.sh "$OUT" "$VERSION"

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/streamhunt /streamhunt
COPY --from=build /out/streamhunt.spdx.json /usr/share/doc/streamhunt/streamhunt.spdx.json
# 65532 is distroless's "nonroot"; numeric, so that Kubernetes can verify
# runAsNonRoot without resolving a user name.
USER 65532:65532
EXPOSE 9090
ENTRYPOINT ["/streamhunt"]
CMD ["run", "--config", "/etc/streamhunt/config.yaml"]
