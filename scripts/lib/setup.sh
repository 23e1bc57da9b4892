# Shared set-up for scripts/demo, scripts/test and the rest: sourced, not run.
# Installs only what is missing, so a second run costs seconds.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$REPO_ROOT/.venv"

SYSTEM_PACKAGES=(libcurl4-openssl-dev libssl-dev pkg-config zip binutils gcc g++ make patch patchelf dpkg-dev)

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

require_swift() {
    command -v swift >/dev/null 2>&1 \
        || fail "Swift 6 is not on PATH. Install the Swift 6 toolchain for Debian 12 from swift.org, then run this again."
    local version
    version="$(swift --version 2>&1 | sed -n 's/.*Swift version \([0-9]*\)\..*/\1/p' | head -n1)"
    [[ "${version:-0}" -ge 6 ]] || fail "Swift 6 or later is needed; found: $(swift --version 2>&1 | head -n1)"
}

# The Terraform stage of the tests runs offline: terraform itself and a filesystem mirror of the
# hashicorp/aws provider (Tests/infra/test_terraform.py finds it, or TF_PLUGIN_MIRROR names it).
require_terraform() {
    command -v terraform >/dev/null 2>&1 \
        || fail "terraform is not on PATH. Install Terraform 1.5 or later (HashiCorp's release zip or Debian repository), then run this again."
}

install_system_packages() {
    local missing=()
    for package in "${SYSTEM_PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if ! python3 -m venv --help >/dev/null 2>&1; then missing+=(python3 python3-venv); fi
    [[ ${#missing[@]} -eq 0 ]] && return 0
    step "Installing Debian packages: ${missing[*]}"
    local sudo=""
    [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# A virtual environment with scripts/requirements.txt, rebuilt only when that file changes, and
# scripts/ on its path, so that the rig is one package (`import rig`, `python -m rig start`)
# wherever the repository is.
python_environment() {
    local stamp="$VENV/.requirements.sha256"
    local wanted
    wanted="$(sha256sum "$REPO_ROOT/scripts/requirements.txt" | cut -d' ' -f1)"
    if ! [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
        step "Creating the Python environment for the local AWS rig (.venv)"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REPO_ROOT/scripts/requirements.txt"
        echo "$wanted" >"$stamp"
    fi
    local site_packages
    site_packages="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    echo "$REPO_ROOT/scripts" >"$site_packages/identity-center-compliance-scripts.pth"
}

# checkov for the infra checks, in a virtual environment of its own: its dependencies clash with moto's.
checkov_environment() {
    local venv="$REPO_ROOT/.venv-checkov" requirements="$REPO_ROOT/Tests/infra/requirements-checkov.txt"
    local wanted
    wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
    if [[ -x "$venv/bin/checkov" && "$(cat "$venv/.requirements.sha256" 2>/dev/null)" == "$wanted" ]]; then return 0; fi
    step "Installing checkov for the infra checks (.venv-checkov)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    echo "$wanted" >"$venv/.requirements.sha256"
}
