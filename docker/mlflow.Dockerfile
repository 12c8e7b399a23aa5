# MLflow's official image plus the PostgreSQL driver (backend store) and boto3 (MinIO artefacts).
ARG MLFLOW_VERSION=v3.17.2
FROM ghcr.io/mlflow/mlflow:${MLFLOW_VERSION}
RUN pip install --no-cache-dir "psycopg2-binary>=2.9" "boto3>=1.34"
