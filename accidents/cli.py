"""Command line: `python -m accidents.cli <stage>`, as DVC's stages call it."""

from __future__ import annotations

import argparse
import logging
import sys

from accidents import stages
from accidents.files import remove_orphaned_temporaries
from accidents.importing import DataImportError
from accidents.logs import setup_logging
from accidents.model import ModelLoadError
from accidents.raw import RawDataError
from accidents.settings import get_settings

log = logging.getLogger("accidents")

COMMANDS = {
    "import_data": stages.run_import_data,
    "preprocess": stages.run_preprocess,
    "train": stages.run_train,
    "evaluate": stages.run_evaluate,
    "predict": stages.run_predict,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="accidents", description=__doc__)
    parser.add_argument("stage", choices=sorted(COMMANDS))
    arguments = parser.parse_args(argv)
    setup_logging()
    settings = get_settings()
    for folder in (settings.data_dir, settings.models_dir, settings.metrics_dir):
        for path in remove_orphaned_temporaries(folder):
            log.warning("removed %s, left by an interrupted run", path)
    try:
        COMMANDS[arguments.stage]()
    except (DataImportError, RawDataError, ModelLoadError) as error:
        log.error("%s failed: %s", arguments.stage, error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
