# The Prefect worker: Prefect's official image with the product installed, the project in
# /opt/accidents (the `accidents-project` volume starts from this copy).
FROM prefecthq/prefect:3-python3.11
WORKDIR /opt/accidents
COPY pyproject.toml README.md ./
COPY accidents ./accidents
RUN pip install --no-cache-dir ".[s3,postgres]"
COPY . .
# No .git in the image: DVC runs without Git. Group 0 may write, as in the Airflow image, so
# both containers (uid 50000, gid 0) share the project and the BentoML store.
RUN dvc config --local core.no_scm true \
    && mkdir -p /opt/bentoml \
    && chown -R 50000:0 /opt/accidents /opt/bentoml \
    && chmod -R g+rwX /opt/accidents \
    && chmod 0777 /opt/bentoml
USER 50000:0
ENV HOME=/tmp
