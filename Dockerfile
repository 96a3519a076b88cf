# Baton's image: dependencies built in one stage, a slim non-root runtime in the next.
# Run with PostgreSQL: docker run -e BATON_DATABASE_URL=postgresql+psycopg://… \
#   -e BATON_SECRET_KEY=… -p 8000:8000 baton
FROM python:3.11-slim AS build
RUN python -m venv /venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
# Install the dependencies only; the app itself is installed (editable) in the runtime
# stage so that it finds templates/, static/ and migrations/ beside it.
RUN /venv/bin/pip install --no-cache-dir . && /venv/bin/pip uninstall -y baton

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 baton && mkdir /data && chown baton /data
COPY --from=build /venv /venv
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
COPY services ./services
RUN /venv/bin/pip install --no-cache-dir --no-deps -e .
# Cookies are Secure and HSTS is sent (BATON_COOKIE_SECURE defaults to true outside demo
# mode): serve the container behind HTTPS. Set FORWARDED_ALLOW_IPS to the proxy's
# addresses so that login throttling sees each client's address, not the proxy's.
ENV PATH=/venv/bin:$PATH BATON_DATA_DIR=/data PYTHONUNBUFFERED=1
USER baton
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
# Migrations run before the server starts (a no-op when the schema is current). With
# several containers, run `baton migrate` once as a release step before scaling out, so
# that two containers never migrate at the same moment.
CMD ["sh", "-c", "baton migrate && exec baton serve --host 0.0.0.0 --port 8000 --workers ${BATON_WORKERS:-2}"]
