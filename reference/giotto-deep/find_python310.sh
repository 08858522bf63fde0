#!/bin/sh
# Print the path of a Python 3.10 interpreter for giotto-deep's environment, or explain.
# Order: $GDEEP_PYTHON, python3.10 on PATH, pyenv's 3.10.x (newest first).
is310() { [ -n "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; }
if [ -n "$GDEEP_PYTHON" ]; then
  if is310 "$GDEEP_PYTHON"; then echo "$GDEEP_PYTHON"; exit 0; fi
  echo "GDEEP_PYTHON=$GDEEP_PYTHON is not a working Python 3.10" >&2; exit 1
fi
candidate=$(command -v python3.10 2>/dev/null)
if is310 "$candidate"; then echo "$candidate"; exit 0; fi
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for dir in $(ls -d "$root"/versions/3.10.* 2>/dev/null | sort -V -r); do
  if is310 "$dir/bin/python"; then echo "$dir/bin/python"; exit 0; fi
done
cat >&2 <<'MSG'
No Python 3.10 found (looked at $GDEEP_PYTHON, python3.10 on PATH, pyenv's versions/3.10.*).
giotto-deep 0.0.4 needs Python 3.10 (torch 1.12.1 has no wheels for newer Pythons).
Install one, e.g. `pyenv install 3.10`, or point to it: make gdeep-reference GDEEP_PYTHON=/path/to/python3.10
MSG
exit 1
