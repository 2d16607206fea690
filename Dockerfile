# Minimal image for mediaspool (Debian 12, the same packages the scripts install). It cannot be
# built on the development machine (no Docker engine there); kept minimal on purpose.
# Build: docker build -t mediaspool .
# Run:   docker run -e MEDIASPOOL_DB_URL=... -e MEDIASPOOL_JWT_SECRET=<32+ bytes> -p 8080:8080 mediaspool
FROM debian:12 AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake make pkg-config libcaf-dev libboost-dev libpqxx-dev librocksdb-dev libxxhash-dev libssl-dev \
      doctest-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libavformat-dev libavcodec-dev \
      libswresample-dev libavutil-dev libpocketsphinx-dev libsphinxbase-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build build -j"$(nproc)" --target mediaspool

FROM debian:12
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libcaf-core0.17 libpqxx-6.4 librocksdb7.8 libxxhash0 libspdlog1.10 libssl3 libavformat59 libavcodec59 \
      libswresample4 libavutil57 libpocketsphinx3 libsphinxbase3 pocketsphinx-en-us \
    && rm -rf /var/lib/apt/lists/* && useradd -r -d /var/lib/mediaspool mediaspool
COPY --from=build /src/build/src/mediaspool /usr/local/bin/mediaspool
COPY config/mediaspool.ini /etc/mediaspool/mediaspool.ini
COPY web /usr/share/mediaspool/web
USER mediaspool
WORKDIR /var/lib/mediaspool
EXPOSE 8080
# Listens on all interfaces inside the container, so auth is jwt (the secret comes from the
# environment); TLS is terminated by the proxy in front (deploy/haproxy.cfg).
CMD ["mediaspool", "--config-file=/etc/mediaspool/mediaspool.ini", "--server.host=0.0.0.0", "--auth.mode=jwt", \
     "--server.web-root=/usr/share/mediaspool/web", "--spool.path=/var/lib/mediaspool/spool", \
     "--media.root=/var/lib/mediaspool/media"]
