#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter (Rasa 3.6 does not install on 3.11+), or explain.
set -u
candidates=(python3.10)
if command -v pyenv >/dev/null 2>&1; then
  for p in "$(pyenv root)"/versions/3.10*/bin/python3.10; do candidates+=("$p"); done
fi
for p in "$HOME"/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do
  candidates+=("$p")
done
for c in "${candidates[@]}"; do
  if PYENV_VERSION=3.10 "$c" -c 'import sys, venv; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then
    # resolve pyenv shims to the real interpreter
    PYENV_VERSION=3.10 "$c" -c 'import sys; print(sys.executable)' 2>/dev/null || echo "$c"
    exit 0
  fi
done
cat >&2 <<'MSG'
Python 3.10 was not found (Rasa 3.6 needs exactly 3.10).
Install it, then run make again, for example:
  Debian/Ubuntu:  apt-get install python3.10 python3.10-venv   (where the distribution has it)
  pyenv:          pyenv install 3.10.13
MSG
exit 1
