# The engine's image: API (`ocop serve`), worker (`celery -A worker worker`), beat and the
# migration job all run from it (see docker-compose.yml).
# The base image is pinned to an exact release (bump it on purpose, not by surprise).
FROM python:3.11.9-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 OCOP_HOME=/var/lib/ocop
WORKDIR /app
COPY pyproject.toml README.md worker.py ./
COPY states ./states
COPY workflow ./workflow
COPY tasks ./tasks
RUN pip install . && useradd --system --home /var/lib/ocop --create-home ocop
USER ocop
EXPOSE 8000
CMD ["ocop", "serve", "--host", "0.0.0.0", "--port", "8000"]
