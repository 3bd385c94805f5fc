# The front-end packages the app serves (htmx and its extensions), from the npm registry.
FROM node:22-bookworm-slim AS front
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# The server: the app installed as a package (not editable), its files beside it.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md /tmp/src/
COPY app /tmp/src/app
RUN pip install --no-cache-dir /tmp/src && rm -rf /tmp/src
# An installed package has only the code: templates/, static/ and node_modules/ are here.
WORKDIR /srv/backprop-lab
COPY templates ./templates
COPY static ./static
COPY --from=front /build/node_modules ./node_modules
RUN useradd --system --uid 10001 --no-create-home lab \
    && mkdir /data && chown lab:lab /data
ENV BACKPROP_LAB_ROOT=/srv/backprop-lab \
    BACKPROP_LAB_DB=/data/backprop-lab.db
VOLUME /data
USER lab
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# --proxy-headers takes the client's address from X-Forwarded-For, but only from the
# proxies named in FORWARDED_ALLOW_IPS (uvicorn's default: 127.0.0.1); set it to yours.
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers", \
     "--no-access-log", "--timeout-graceful-shutdown", "3"]
