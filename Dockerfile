# syntax=docker/dockerfile:1
# Explorer assets (Cytoscape.js + fcose) from the npm registry, served by the app itself.
FROM node:20-slim AS assets
WORKDIR /build
COPY package.json package-lock.json* ./
RUN npm install --no-audit --no-fund --omit=dev
RUN mkdir -p vendor && cp node_modules/cytoscape/dist/cytoscape.min.js \
      node_modules/layout-base/layout-base.js node_modules/cose-base/cose-base.js \
      node_modules/cytoscape-fcose/cytoscape-fcose.js vendor/

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv

# Dependency layer: rebuilt only when pyproject.toml changes.
COPY pyproject.toml README.md ./
RUN mkdir app && touch app/__init__.py && pip install . && pip uninstall -y geokg && rm -rf app

# The source, the migrations and the seed graph.
COPY app ./app
COPY migrations ./migrations
COPY seed_data ./seed_data
COPY alembic.ini ./
COPY --from=assets /build/vendor ./app/static/vendor
RUN pip install --no-deps -e . \
    && useradd --system --uid 10001 --home /srv kg \
    && mkdir -p /srv/data && chown kg /srv/data

USER kg
ENV KG_DATABASE_URL=sqlite:////srv/data/kg.sqlite3
VOLUME ["/srv/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"
# `kg serve` migrates, seeds an empty database, then serves (set KG_API_KEYS in production).
CMD ["kg", "serve", "--host", "0.0.0.0", "--port", "8000"]
