# Airflow's official image with the product installed beside Airflow (the versions this
# project tests together), the DAG folder in the project copy at /opt/accidents.
ARG AIRFLOW_VERSION=3.2.2
FROM apache/airflow:${AIRFLOW_VERSION}-python3.11
ARG AIRFLOW_VERSION
USER root
COPY --chown=50000:0 . /opt/accidents
RUN mkdir -p /opt/bentoml /opt/airflow/state \
    && chown -R 50000:0 /opt/bentoml /opt/airflow/state \
    && chmod -R g+rwX /opt/accidents \
    && chmod 0777 /opt/bentoml
USER airflow
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" "/opt/accidents[s3,postgres]" \
    && cd /opt/accidents && dvc config --local core.no_scm true
