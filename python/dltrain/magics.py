"""IPython magics: ``%%cu`` compiles a cell with nvcc (cached) and runs it as `dltrain cuda run`
does; ``%dltrain doctor|fetch|report`` call the library."""
import shlex
import sys

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from . import _core

_CU_USAGE = "%%cu [--compile-only] [--arch sm_XX] [--nvcc-flags \"FLAGS\"] [-- program arguments]"


def parse_cu_line(line):
    """The %%cu line's options: (compile_only, arch, nvcc_flags, args)."""
    try:
        words = shlex.split(line)
    except ValueError as e:  # an unbalanced quote
        raise UsageError(f"%%cu: {e}; usage: {_CU_USAGE}") from None
    compile_only, arch, flags, args = False, "", [], []
    i = 0
    while i < len(words):
        w = words[i]
        if w == "--":
            args = words[i + 1:]
            break
        if w == "--compile-only":
            compile_only = True
        elif w in ("--arch", "--nvcc-flags") or w.startswith(("--arch=", "--nvcc-flags=")):
            name, sep, value = w.partition("=")
            if not sep:
                if i + 1 >= len(words) or (name == "--arch" and words[i + 1].startswith("-")):
                    raise UsageError(f"%%cu: {name} needs a value; usage: {_CU_USAGE}")
                i += 1
                value = words[i]
            if name == "--arch":
                if not value:
                    raise UsageError(f"%%cu: --arch needs a value such as sm_80; usage: {_CU_USAGE}")
                arch = value
            else:
                flags = value.split()
        else:
            raise UsageError(f"%%cu: unknown option {w!r}; usage: {_CU_USAGE}")
        i += 1
    return compile_only, arch, flags, args


@magics_class
class DltrainMagics(Magics):
    @cell_magic
    def cu(self, line, cell):
        """Compile the cell as a CUDA program with nvcc (cached by content) and run it."""
        compile_only, arch, flags, args = parse_cu_line(line)
        # Line 1 of "cell" is the first line under %%cu: compiler messages point at the cell's lines.
        source = '#line 1 "cell"\n' + cell
        try:
            output, status, ran, cached, target, binary = _core.cuda_run(source, arch, flags, args, compile_only)
        except _core.Error as e:
            raise UsageError(f"%%cu: {e}") from None
        if not ran:
            verb = "using the cached build" if cached else "compiled"
            print(f"dltrain: {verb} for {target}: {binary}", file=sys.stderr)
        sys.stdout.write(output)
        sys.stdout.flush()
        if status:
            print(f"dltrain: the program exited with status {status}", file=sys.stderr)

    @line_magic
    def dltrain(self, line):
        """%dltrain doctor | fetch NAME_OR_URI | report RUN_DIR"""
        import json

        import dltrain

        words = shlex.split(line)
        if words[:1] == ["doctor"]:
            print(json.dumps(dltrain.doctor(), indent=2))
        elif words[:1] == ["fetch"] and len(words) == 2:
            print(dltrain.fetch(words[1]))
        elif words[:1] == ["report"] and len(words) == 2:
            print(dltrain.report(words[1]))
        else:
            raise UsageError("usage: %dltrain doctor | fetch NAME_OR_URI | report RUN_DIR")


def register(ipython):
    ipython.register_magics(DltrainMagics)
