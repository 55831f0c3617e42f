#!/usr/bin/env bash
# Installs everything cspermit needs on Debian 12 (run as root): system packages,
# a virtual environment in .venv, the project and its dev tools. Safe to run twice:
# it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  libgl1 libgl1-mesa-dri libmtdev1     # Kivy's bundled SDL2 needs system GL (Mesa llvmpipe when headless)
  xvfb xauth                           # a virtual display for UI tests and screenshots
  fonts-wqy-microhei                   # CJK font for Chinese text in the app and PDFs
  chromium                             # real browser for web tests (driven by Playwright)
  poppler-utils                        # pdftotext / pdftoppm to check exported PDFs
  socat                                # handy for bridging ptys to real serial devices
  gettext                              # msgfmt for translators (Babel compiles in-tree)
  curl util-linux                      # run.sh: health checks (curl) and its lock (flock)
)
# PostgreSQL server binaries for the PostgreSQL test run, where the image lacks them.
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  APT_PACKAGES+=(postgresql)
fi
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  APT_PACKAGES+=(python3-venv)
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# initdb and postgres refuse to run as root: the PostgreSQL tests run the throwaway
# cluster as this unprivileged system user.
id -u cspermit-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin cspermit-pg

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# Reinstall only when the dependency list changed since the last successful install.
stamp=.venv/.cspermit-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip setuptools wheel
  .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$want" > "$stamp"
fi
# Compile translation catalogues (.po -> .mo) so gettext finds them.
.venv/bin/python -m cspermit.i18n_build >/dev/null
