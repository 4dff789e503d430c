"""API hygiene: ``import labellens`` stays light (no App server, no torch)."""

import subprocess
import sys


def test_import_labellens_loads_neither_the_server_nor_torch():
    code = ("import sys, labellens; "
            "print(sorted(m for m in ('starlette', 'uvicorn', 'torch', 'torchvision') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_session_and_launch_app_resolve_on_first_use():
    code = "import labellens; print(labellens.launch_app.__module__, labellens.Session.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["labellens.session", "Session"]


def test_import_labellens_loads_neither_annotation_nor_evaluation():
    # the collection's annotate / evaluate_classifications import them when called (.importlinter's exception)
    code = ("import sys, labellens; print(sorted(m for m in ('labellens.annotation', 'labellens.evaluation', "
            "'labellens.brain') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
