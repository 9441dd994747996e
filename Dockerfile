# The imagehost app. nginx (serving /images/ and /static/) and MongoDB are their own services
# in compose.yaml.

# zlib-ng as the app's libz.so.1 (see imagehost/zlibng.py); only the library leaves this stage.
FROM python:3.13-slim-bookworm AS zlib-ng
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements-zlib-ng.txt ./
COPY scripts/zlib-ng.sh scripts/
RUN scripts/zlib-ng.sh python /src/build/zlib-ng

FROM python:3.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 imagehost \
 && useradd --system --uid 10001 --gid imagehost --home-dir /app --shell /usr/sbin/nologin imagehost

WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY --from=zlib-ng /src/build/zlib-ng/ build/zlib-ng/
# Every process's libz.so.1, from the start: a Python that links zlib into its executable (as
# Debian's does) has loaded the system's before imagehost could load this one.
ENV LD_LIBRARY_PATH=/app/build/zlib-ng
COPY imagehost/ imagehost/
COPY templates/ templates/
COPY static/ static/
COPY nginx/ nginx/
COPY babel.cfg ./
COPY locale/ locale/
# The catalogues are compiled here, as `make` does locally; compiled ones are never copied in.
RUN python -m babel.messages.frontend compile -d locale -D imagehost --statistics

# Volumes mount over these; a fresh named volume takes their owner, so the app can write.
RUN mkdir -p /data/images /data/logs /data/backups /data/db \
 && chown -R imagehost:imagehost /data

USER imagehost
ENV HOST=0.0.0.0 \
    PORT=8000 \
    VAR_DIR=/data
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
CMD ["python", "-m", "imagehost", "serve"]
