FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends espeak-ng fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
COPY . .
RUN pip install .
RUN python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["python", "manage.py", "serve", "--listen", "0.0.0.0:8000"]
