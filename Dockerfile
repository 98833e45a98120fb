# Dockerfile: builds mbpo with cgo against Debian 12's MuJoCo 2.2.2 and ships it
# in a slim Debian 12 runtime image with only the shared libraries it needs.
#
#   docker build -t mbpo .
#   docker run --rm mbpo envs
#   docker run --rm mbpo bench env --env Hopper-v4 --num-envs 16
#   docker run --rm -v "$PWD/runs:/work/runs" mbpo train ...   # keep the runs
#
# For the GPU engine, run with the NVIDIA container toolkit (docker run --gpus all):
# mbpo opens libcuda.so.1 at run time, which the toolkit mounts into the container.

# ---- build: Go 1.26 on Debian 12, with the MuJoCo, OpenBLAS and oneDNN headers ----
FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmujoco-dev libopenblas-dev libdnnl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -o /mbpo ./cmd/mbpo

# ---- runtime: the MuJoCo runtime library (it pulls in libccd, lodepng, qhull,
# tinyxml2), OpenBLAS and oneDNN (--precision bf16), which the CPU engine opens
# at run time, and OSMesa, which videos (eval --video, train --video-every)
# render with ----
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmujoco2.2.2 libopenblas0 libdnnl2 libosmesa6 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /mbpo /usr/local/bin/mbpo
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/mbpo"]
CMD ["help"]
