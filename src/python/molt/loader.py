"""Loading the user's handler, a file path or a module name."""

import importlib
import importlib.util
import os
import sys
import traceback

EXIT_HANDLER_MISSING = 3
EXIT_HANDLER_FAILED = 4


class HandlerLoadError(Exception):
    """The handler could not be loaded; ``exit_code`` tells the host which way."""

    def __init__(self, message, exit_code):
        super().__init__(message)
        self.exit_code = exit_code


def is_path(spec):
    return spec.endswith(".py") or os.sep in spec


def load_handler(spec):
    if is_path(spec):
        path = os.path.abspath(spec)
        if not os.path.isfile(path):
            raise HandlerLoadError(f"handler file not found: {path} (working directory {os.getcwd()})",
                                   EXIT_HANDLER_MISSING)
        directory = os.path.dirname(path)
        if directory not in sys.path:
            sys.path.insert(0, directory)
        name = "molt_handler_" + os.path.splitext(os.path.basename(path))[0]
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        loader = lambda: module_spec.loader.exec_module(module)
    else:
        if importlib.util.find_spec(spec.split(".")[0]) is None:
            raise HandlerLoadError(f"handler module {spec!r} not found on sys.path {sys.path}",
                                   EXIT_HANDLER_MISSING)
        loader = lambda: importlib.import_module(spec)
    try:
        loader()
    except BaseException:
        raise HandlerLoadError(f"handler {spec!r} failed to load:\n{traceback.format_exc()}",
                               EXIT_HANDLER_FAILED) from None
