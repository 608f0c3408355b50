#!/usr/bin/env bash
# Install everything coshop's test suite needs, then run it.
#   bash tests/run.sh [pytest args...]
# Creates ./.venv (or reuses it), installs coshop with its test extras, makes sure a
# redis-server binary and Chromium (/usr/bin/chromium, for the browser tests) exist (apt-get on
# Debian/Ubuntu when missing), then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv"
    "$PYTHON" -m venv .venv
fi
echo "==> installing coshop[test]"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# Debian's haproxy: the load balancer in front of several nodes (tests/interop/test_balancer.py).
[ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null 2>&1 || need_apt+=(haproxy)
# Debian's coturn: the TURN relay of the relay-only browser test (tests/interop/test_turn_relay.py).
[ -x /usr/bin/turnserver ] || command -v turnserver >/dev/null 2>&1 || need_apt+=(coturn)
# `ip netns` for the impairment harness (tests/impair: network namespaces, run as root).
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
# Debian's iptables: the kernel's 1:1 NAT in front of a node (tests/impair/test_public_ip.py).
command -v iptables >/dev/null 2>&1 || need_apt+=(iptables)
# Debian's Chromium for tests/browser (Playwright drives it; its own browser downloads are never
# used), with a colour emoji font so reaction buttons show in the screenshots under artifacts/.
[ -x /usr/bin/chromium ] || need_apt+=(chromium fonts-noto-color-emoji)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "==> installing system packages: ${need_apt[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}"
fi

# Node's npm: the accessibility tests install axe-core with it (tests/browser/axe.py).
command -v npm >/dev/null 2>&1 || { echo "npm not found: apt-get install npm" >&2; exit 1; }

echo "==> ruff"
.venv/bin/ruff check .
echo "==> mypy --strict (signaling, rooms, sfu, loadtest, bench: pyproject.toml [tool.mypy])"
.venv/bin/mypy
echo "==> pytest"
rm -f artifacts/hung-test.txt
status=0
.venv/bin/python -m pytest "$@" || status=$?
# A test that hung past every interruption ended the run (tests/conftest.py): say where.
if [ -s artifacts/hung-test.txt ]; then
    echo "==> a test hung; the run was ended:" >&2
    cat artifacts/hung-test.txt >&2
fi
exit "$status"
