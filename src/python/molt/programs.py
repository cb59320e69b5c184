"""Programs sent by the host with ``execute_program``.

A program is a signature (``"question, context -> answer"``) plus either a
``handler`` (the name of a command this worker serves) or a ``dspy`` module
(``{"module": "Predict"}``, when ``dspy`` is importable here). The host keeps
programs in its store and sends the definition with every call; a worker
only caches the compiled program by id and content hash, so a program
created while another pool served the session runs here unchanged.
"""

from collections import OrderedDict

from .registry import lookup

CACHE_SIZE = 256


class ProgramError(Exception):
    """The program's definition cannot run in this worker, or its inputs do not fit its signature."""


class ProgramUnavailable(ProgramError):
    """The program needs something this worker's Python does not have (dspy)."""


def parse_signature(signature):
    """``"a, b -> c"`` as (inputs, outputs)."""
    if not isinstance(signature, str) or "->" not in signature:
        raise ProgramError(f"signature must look like 'inputs -> outputs', received {signature!r}")
    left, right = signature.split("->", 1)
    inputs = [f.strip() for f in left.split(",") if f.strip()]
    outputs = [f.strip() for f in right.split(",") if f.strip()]
    if not outputs:
        raise ProgramError(f"signature {signature!r} names no output")
    return inputs, outputs


class Program:
    def __init__(self, program_id, definition):
        self.id = program_id
        self.inputs, self.outputs = parse_signature(definition.get("signature"))
        handler = definition.get("handler")
        if handler is not None:
            spec = lookup(handler)
            if spec is None or spec.builtin:
                raise ProgramError(f"program {program_id!r}: handler {handler!r} is not a command this worker serves")
            self.run_fn = lambda inputs, ctx: spec.fn(inputs, ctx)
        elif definition.get("dspy") is not None:
            self.run_fn = dspy_module(definition["signature"], definition["dspy"])
        else:
            raise ProgramError(f"program {program_id!r}: needs a 'handler' or a 'dspy' module")

    def run(self, inputs, ctx):
        if not isinstance(inputs, dict):
            raise ProgramError(f"program {self.id!r}: inputs must be an object, received {type(inputs).__name__}")
        missing = [f for f in self.inputs if f not in inputs]
        if missing:
            raise ProgramError(f"program {self.id!r}: missing input {', '.join(missing)}")
        result = self.run_fn(inputs, ctx)
        if not isinstance(result, dict):
            if len(self.outputs) != 1:
                raise ProgramError(f"program {self.id!r}: expected an object with {', '.join(self.outputs)}")
            result = {self.outputs[0]: result}
        absent = [f for f in self.outputs if f not in result]
        if absent:
            raise ProgramError(f"program {self.id!r}: result lacks output {', '.join(absent)}")
        return {f: result[f] for f in self.outputs}


def dspy_module(signature, spec):
    try:
        import dspy
    except ImportError:
        raise ProgramUnavailable("dspy is not installed in this worker's Python") from None
    module = getattr(dspy, spec.get("module", "Predict"), None)
    if module is None:
        raise ProgramError(f"dspy has no module {spec.get('module')!r}")
    predictor = module(signature)

    def run(inputs, ctx):
        prediction = predictor(**inputs)
        return {k: getattr(prediction, k) for k in parse_signature(signature)[1]}

    return run


class Programs:
    """Compiled programs by id, recompiled when the content hash changes."""

    def __init__(self):
        self.cache = OrderedDict()
        self.compiled = 0

    def execute(self, args, ctx):
        program = args.get("program") if isinstance(args, dict) else None
        if not isinstance(program, dict) or not isinstance(program.get("id"), str) or not isinstance(program.get("hash"), str):
            raise ProgramError("execute_program needs {program: {id, hash, definition}, inputs}")
        key = program["id"]
        cached = self.cache.get(key)
        if cached is None or cached[0] != program["hash"]:
            cached = (program["hash"], Program(key, program.get("definition") or {}))
            self.compiled += 1
            self.cache[key] = cached
            if len(self.cache) > CACHE_SIZE:
                self.cache.popitem(last=False)
        else:
            self.cache.move_to_end(key)
        return cached[1].run(args.get("inputs"), ctx)

    def describe(self):
        return {"cached": [{"id": k, "hash": v[0]} for k, v in self.cache.items()], "compiled": self.compiled}
