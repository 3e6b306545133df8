# One image for every Airflow component: the locked environment plus the project.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /opt/bank
COPY pyproject.toml uv.lock README.md ./
COPY include/ include/
COPY scoring/ scoring/
COPY expectations/ expectations/
RUN uv sync --frozen --no-dev
COPY . .
ENV PATH="/opt/bank/.venv/bin:$PATH" BANK_DATA_DIR=/data
ENTRYPOINT ["bash", "-c", ". bin/env.sh && exec \"$@\"", "--"]
