#!/bin/sh
# One database per part of the stack, created once when the PostgreSQL volume is new.
set -eu
for database in mlflow prefect airflow accidents; do
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
        -c "CREATE DATABASE $database"
done
