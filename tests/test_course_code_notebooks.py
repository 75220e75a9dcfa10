"""Notebooks and exports as they are: %run of a helper beside them (or a note when it is missing), nbconvert's
get_ipython() calls and `# In[ ]:` cells, the ungraded cells of old notebooks (a plot, the course's tests, a
baseline) skipped with a note when they raise and define nothing the check calls."""
import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
OLDER = (EXAMPLES / "dls_deep_nn_2017.py").read_text()

nbformat = pytest.importorskip("nbformat")
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook  # noqa: E402


def notebook(path, *cells):
    nbformat.write(new_notebook(cells=[new_code_cell(c) if not c.startswith("# ") else new_markdown_cell(c)
                                       for c in cells]), str(path))
    return path


def compare(cli, path, *extra):
    return cli("compare", "--frameworks", "none", "--impl", str(path), "--style", "dls", "--json", *extra)


def test_run_of_a_helper_beside_the_notebook_runs_it_and_a_missing_one_is_said(cli, tmp_path):
    shutil.copy(EXAMPLES / "dls_deep_nn_2017.py", tmp_path / "deep_functions.py")
    path = notebook(tmp_path / "hw.ipynb", "# Deep NN", "import numpy as np\n%matplotlib inline\n%run deep_functions.py\n"
                    "%run -i plots.py", "print(L_model_forward.__module__)")
    code, out, _ = compare(cli, path, "--probe", "lecture")
    document = json.loads(out)
    assert code == 0 and document["ok"]
    assert "%run -i plots.py skipped: plots.py is not in the submission's folder" in document["notes"]


def test_a_cell_that_raises_and_defines_nothing_the_check_calls_is_skipped_and_the_run_goes_on(cli, tmp_path):
    functions = OLDER.split("\n\n\n", 1)
    path = notebook(tmp_path / "hw.ipynb",
                    "import numpy as np\nimport matplotlib.pyplot as plt\nfrom testCases_v2 import *",
                    functions[0] + "\n" + functions[1],
                    "parameters, X = L_model_forward_test_case_2hidden()\nAL, caches = L_model_forward(X, parameters)",
                    "baseline = np.float(0.5)   # NumPy 2 has no np.float",
                    "x = 1")
    code, out, _ = compare(cli, path, "--probe", "lecture")
    notes = json.loads(out)["notes"]
    assert code == 0
    assert ("code cells 3, 4 raised and define none of the functions the check calls: skipped (cell 3: NameError: "
            "name 'L_model_forward_test_case_2hidden' is not defined)") in notes
    assert any(note.startswith("testCases_v2 is not in the submission's folder or installed: crosscheck's own "
                               "equivalent was imported (the course's tests") for note in notes)


def test_a_cell_that_defines_a_function_the_check_calls_and_raises_stops_the_run(cli, tmp_path):
    path = notebook(tmp_path / "hw.ipynb", "import numpy as np",
                    "def L_model_forward(X, parameters):\n    return X, []\n\nraise RuntimeError('unfinished')")
    code, _, err = cli("compare", "--frameworks", "none", "--impl", str(path), "--style", "dls")
    assert code == 2 and "code cell 2, line 4: code cell 2 raised RuntimeError: unfinished" in err


EXPORT = '''#!/usr/bin/env python
# coding: utf-8

# # Building your Deep Neural Network: Step by Step
#
# Run the helper, then the graded functions.

# In[1]:


import numpy as np
from testCases_v2 import *
get_ipython().run_line_magic('matplotlib', 'inline')
get_ipython().run_line_magic('run', 'deep_functions.py')


# In[2]:


parameters, X = L_model_forward_test_case_2hidden()
AL, caches = L_model_forward(X, parameters)
print("AL = " + str(AL))


# In[ ]:




'''


def test_an_nbconvert_export_runs_cell_by_cell_with_its_get_ipython_calls(cli, tmp_path):
    shutil.copy(EXAMPLES / "dls_deep_nn.py", tmp_path / "deep_functions.py")
    path = tmp_path / "hw.py"
    path.write_text(EXPORT)
    code, out, _ = compare(cli, path)
    document = json.loads(out)
    assert code == 0 and len(document["probes"]) == 9
    assert ("code cell 2 raised and defines none of the functions the check calls: skipped (cell 2: NameError: name "
            "'L_model_forward_test_case_2hidden' is not defined)") in document["notes"]


def test_a_crash_in_an_export_is_located_at_the_files_own_line(cli, tmp_path):
    path = tmp_path / "hw.py"
    path.write_text(EXPORT.replace("get_ipython().run_line_magic('run', 'deep_functions.py')\n",
                                   "def L_model_forward(X, parameters):\n    return 1 / 0\n"
                                   "def compute_cost(AL, Y):\n    return 0.0\n"
                                   "def L_model_backward(AL, Y, caches):\n    return {}\n"))
    line = path.read_text().splitlines().index("    return 1 / 0") + 1
    code, _, err = cli("compare", "--frameworks", "none", "--impl", str(path), "--style", "dls")
    assert code == 2 and f"{path}:{line}: your L_model_forward raised ZeroDivisionError" in err
